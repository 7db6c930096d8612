package expand

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"syscall"
)

// runNode is ${run{command args}{yes}{no}} and ${run,preexpand{...}...}.
// Spec: "Expansion items", ${run <options> {<command arg list>}...}.
//
// Without preexpand the command is kept as written: it is split into
// arguments as the pipe transport splits a command (white space between
// arguments, "..." with backslash escapes, '...' without), and each
// argument is then expanded on its own. With preexpand the whole command is
// expanded first and the result split.
type runNode struct {
	preexpand bool
	raw       string // the command as written (without preexpand)
	cmd       node   // the parsed command (with preexpand)
	yn        yesNo
}

func parseRun(p *parser, name string) (node, error) {
	n := &runNode{}
	for !p.eof() && p.peek() == ',' {
		p.pos++
		start := p.pos
		for !p.eof() && p.peek() != ',' && p.peek() != '{' && !isSpace(p.peek()) {
			p.pos++
		}
		if p.pos == start && !p.eof() {
			p.pos++
		}
		switch opt := p.src[start:p.pos]; opt {
		case "preexpand":
			n.preexpand = true
		default:
			return nil, errorf("bad option '%s' for run", opt)
		}
	}
	p.skipSpace()
	if p.eof() || p.peek() != '{' {
		return nil, errorf("missing '{' for command arg of run")
	}
	if n.preexpand {
		cmd, _, err := p.parseArg()
		if err != nil {
			return nil, err
		}
		n.cmd = cmd
	} else {
		p.pos++
		start := p.pos
		if !p.skipRaw(0) {
			return nil, errorf("missing '}' closing command arg of run")
		}
		n.raw = p.src[start:p.pos]
		p.pos++
	}
	yn, err := p.parseYesNo(name)
	if err != nil {
		return nil, err
	}
	n.yn = yn
	return n, nil
}

// skipRaw moves over text up to (not including) the "}" that ends it,
// without interpreting it: backslashes escape the next character, \N...\N
// is protected, and braces nest inside ${...}. It reports whether the "}"
// was found. depth counts the open braces of ${...} constructs.
func (p *parser) skipRaw(depth int) bool {
	for !p.eof() {
		c := p.peek()
		switch {
		case c == '\\':
			if strings.HasPrefix(p.rest(), "\\N") {
				end := strings.Index(p.src[p.pos+2:], "\\N")
				if end < 0 {
					p.pos = len(p.src)
					return false
				}
				p.pos += 2 + end + 2
				continue
			}
			p.pos += 2
			continue
		case c == '$' && p.pos+1 < len(p.src) && p.src[p.pos+1] == '{':
			depth++
			p.pos += 2
			continue
		case c == '{' && depth > 0:
			depth++
		case c == '}':
			if depth == 0 {
				return true
			}
			depth--
		}
		p.pos++
	}
	return false
}

// splitCommand splits a command line into arguments as the pipe transport
// does. Spec: chapter "The pipe transport", "How the command is run".
func splitCommand(s string) []string {
	var args []string
	i := 0
	for {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) {
			return args
		}
		var b strings.Builder
		switch s[i] {
		case '"':
			i++
			for i < len(s) && s[i] != '"' {
				if s[i] == '\\' && i+1 < len(s) {
					r, n := interpretEscape(s[i+1:])
					b.WriteString(r)
					i += 1 + n
					continue
				}
				b.WriteByte(s[i])
				i++
			}
			if i < len(s) {
				i++
			}
		case '\'':
			i++
			for i < len(s) && s[i] != '\'' {
				b.WriteByte(s[i])
				i++
			}
			if i < len(s) {
				i++
			}
		default:
			for i < len(s) && !isSpace(s[i]) {
				b.WriteByte(s[i])
				i++
			}
		}
		args = append(args, b.String())
	}
}

func (n *runNode) eval(st *state, b *[]byte) error {
	var argv []string
	if n.preexpand {
		s, err := st.str(n.cmd)
		if err != nil {
			return err
		}
		argv = splitCommand(s)
	} else {
		for _, a := range splitCommand(n.raw) {
			x, err := st.expandArg(a)
			if err != nil {
				msg := err.Error()
				var e *Error
				if errors.As(err, &e) {
					msg = e.Msg
				}
				return errorf("Expansion of \"%s\" from command \"%s\" in ${run} expansion failed: %s", a, n.raw, msg)
			}
			argv = append(argv, x)
		}
	}
	if st.ctx.Forbid.Run {
		return errorf("running a command is not permitted")
	}
	out, rc, err := st.runCommand(argv)
	if err != nil {
		return err
	}
	st.setRunRC(rc)
	saved := st.value
	st.value = out
	defer func() { st.value = saved }()
	return n.yn.choose(st, "run", rc == 0, out, b)
}

// expandArg parses and evaluates one argument of a command in the current
// state (so that $value and friends are those of the enclosing string).
func (st *state) expandArg(s string) (string, error) {
	p := &parser{src: s}
	root, err := p.parseTop()
	if err != nil {
		return "", err
	}
	return st.str(root)
}

// runCommand runs argv with an empty standard input and standard output
// and error joined, and returns the output and the exit code. A command
// that cannot be started gives code 127, as a shell would; a command
// killed by a signal is an error.
func (st *state) runCommand(argv []string) (string, int, error) {
	if len(argv) == 0 {
		return "", 127, nil
	}
	// No PATH search, no shell: the command is run as written.
	cmd := &exec.Cmd{Path: argv[0], Args: argv}
	cmd.Env = st.ctx.CommandEnv
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	if err == nil {
		return out.String(), 0, nil
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return "", 127, nil
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return "", 0, errorf("command killed by signal %d", int(ws.Signal()))
	}
	return out.String(), ee.ExitCode(), nil
}
