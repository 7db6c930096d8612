package cli

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/exigo-mta/exigo/internal/acl"
	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/instance"
)

// runExpand implements -be and -bem: string expansion testing. With
// arguments each is expanded and printed; otherwise lines are read from
// standard input with a "> " prompt before each, and lines that start with
// an upper-case letter define macros. Failures print "Failed: " and the
// error; the exit code is 0 either way.
// Spec: chapter "The Exim command line", options -be and -bem.
func runExpand(inv *Invocation, env *Env) int {
	cfg, code, ok := loadConfig(inv, env)
	if !ok {
		return code
	}
	ctx, err := newExpandContext(inv, env, cfg)
	if err != nil {
		fmt.Fprintf(env.Stderr, "exim: %v\n", err)
		return 1
	}
	if inv.Mode == "-bem" {
		msg, notes, err := loadTestMessage(inv, cfg, ctx.Vars.(expand.VarMap), env.Now())
		if err != nil {
			fmt.Fprintf(env.Stderr, "exim: %v\n", err)
			return 1
		}
		fmt.Fprint(env.Stdout, notes)
		ctx.Message = msg
	}
	if inv.Mode == "-be" && inv.ModeArg != "" {
		// -Mset: a queued message's variables.
		if msg := msetMessage(cfg, inv.ModeArg, ctx.Vars.(expand.VarMap), env.Now(), env.Stdout, env.Stderr); msg != nil {
			ctx.Message = msg
		}
	}
	out := bufio.NewWriter(env.Stdout)
	defer out.Flush()
	expandLine := func(s string) {
		s = cfg.SubstituteMacros(s)
		r, err := expand.String(s, ctx)
		if err != nil {
			fmt.Fprintf(out, "Failed: %s\n", err)
			return
		}
		fmt.Fprintf(out, "%s\n", r)
	}
	if len(inv.Args) > 0 {
		for _, a := range inv.Args {
			expandLine(a)
		}
		return 0
	}
	in := bufio.NewReader(env.Stdin)
	for {
		fmt.Fprint(out, "> ")
		line, err := readContinued(in)
		if err != nil {
			fmt.Fprint(out, "\n")
			return 0
		}
		if line != "" && line[0] >= 'A' && line[0] <= 'Z' {
			name, derr := cfg.DefineMacroLine(line)
			if derr != nil {
				out.Flush()
				// Exim reports these at the position where it stopped
				// reading the configuration: its last line.
				var ce *config.Error
				if errors.As(derr, &ce) && ce.Line == 0 {
					ce.File, ce.Line = cfg.Path, configLineCount(cfg.Path)
				}
				fmt.Fprint(env.Stderr, config.StderrText(env.Now(), derr))
				continue
			}
			if name != "" {
				fmt.Fprintf(out, "Defined macro '%s'\n", name)
				continue
			}
		}
		expandLine(line)
		out.Flush()
	}
}

// readContinued reads one logical line: trailing white space removed, and
// a line ending in a backslash joined to the next with that line's leading
// white space removed, as in the configuration file.
func readContinued(r *bufio.Reader) (string, error) {
	var b strings.Builder
	first := true
	for {
		line, err := r.ReadString('\n')
		if err != nil && line == "" {
			if first {
				return "", err
			}
			return b.String(), nil
		}
		line = strings.TrimRight(line, " \t\r\n")
		if !first {
			line = strings.TrimLeft(line, " \t")
		}
		first = false
		if strings.HasSuffix(line, "\\") {
			b.WriteString(line[:len(line)-1])
			if err != nil {
				return b.String(), nil
			}
			continue
		}
		b.WriteString(line)
		return b.String(), nil
	}
}

// loadConfig reads the configuration for a mode. On failure it prints
// Exim's error and returns the exit code with ok=false.
func loadConfig(inv *Invocation, env *Env) (cfg *config.Config, code int, ok bool) {
	cfg, err := config.Load(configFile(inv), config.Options{Macros: inv.Macros})
	if err != nil {
		fmt.Fprint(env.Stderr, config.StderrText(env.Now(), err))
		return nil, 1, false
	}
	logArguments(inv, env, cfg)
	return cfg, 0, true
}

// newExpandContext builds the expansion context of a command-line mode:
// the process's variables (no message in flight).
func newExpandContext(inv *Invocation, env *Env, cfg *config.Config) (*expand.Context, error) {
	vars := processVars(cfg)
	callerVars(cfg, vars)
	in := instance.New(cfg, instance.Options{Debug: env.Debug, Now: env.Now})
	engine := acl.New(cfg)
	engine.Context = func(s *acl.Session) *expand.Context { return in.Context(s.Vars, s.Message) }
	engine.ListEnv = in.ListEnv
	in.ACL = aclExpansionHook(engine, acl.NotSMTP)
	return in.Context(vars, nil), nil
}

// configLineCount returns the number of lines in the configuration file.
func configLineCount(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n := strings.Count(string(b), "\n")
	if len(b) > 0 && b[len(b)-1] != '\n' {
		n++
	}
	return n
}
