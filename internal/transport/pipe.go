// The pipe transport (Exim specification chapter "The pipe transport").

package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/fscred"
)

// pipe is a pipe transport instance.
type pipe struct {
	*generic
	tempErrors []int
	tempAll    bool
}

func newPipe(g *generic) (*pipe, error) {
	p := &pipe{generic: g}
	o := g.opts
	if o.Bool("use_shell") && (o.IsSet("allow_commands") || o.Bool("restrict_to_path")) {
		return nil, cfgErr(g, "both use_shell and allow_commands or restrict_to_path set")
	}
	if o.Bool("log_output") && o.Bool("log_fail_output") {
		return nil, cfgErr(g, "log_output and log_fail_output are mutually exclusive")
	}
	te := o.String("temp_errors")
	if strings.TrimSpace(te) == "*" {
		p.tempAll = true
	} else {
		for _, s := range splitList(te, ':') {
			n, err := strconv.Atoi(s)
			if err != nil {
				return nil, cfgErr(g, "temp_errors must be a list of numbers or an asterisk")
			}
			p.tempErrors = append(p.tempErrors, n)
		}
	}
	if err := g.withShadow(); err != nil {
		return nil, err
	}
	return p, nil
}

// Local implements Transport.
func (p *pipe) Local() bool { return true }

// Credentials returns the uid and gid the command of d runs as.
func (p *pipe) Credentials(d *Delivery) (Cred, error) {
	c, r := p.credentials(p.newEnv(d), d)
	if r != nil {
		return c, errors.New(r.Message)
	}
	return c, nil
}

// Deliver implements Transport.
func (p *pipe) Deliver(ctx context.Context, d *Delivery) []Result {
	e := p.newEnv(d)
	rs := results(d, p.deliver(ctx, e, d))
	noteReturnPath(e, rs)
	return p.runShadow(ctx, e, d, rs)
}

func (p *pipe) isTemp(code int) bool {
	if p.tempAll {
		return true
	}
	for _, t := range p.tempErrors {
		if t == code {
			return true
		}
	}
	return false
}

func (p *pipe) deliver(ctx context.Context, e *env, d *Delivery) Result {
	o := p.opts
	cred, r := p.credentials(e, d)
	if r != nil {
		return *r
	}
	if r := p.sizeLimit(e, d, d.BodySize); r != nil {
		return *r
	}
	if r := p.applyReturnPath(e); r != nil {
		return *r
	}
	home := ""
	if len(d.Addresses) == 1 {
		home = d.Addresses[0].Home
	}
	if h, err := p.expandOpt(e, "home_directory"); err != nil {
		return deferErr(err)
	} else if h != "" {
		home = h
		e.vars["home"] = h
	}
	cwd := home
	if c, err := p.expandOpt(e, "current_directory"); err != nil {
		return deferErr(err)
	} else if c != "" {
		cwd = c
	}
	if cwd == "" {
		cwd = "/"
	}
	argv, raw, r2 := p.command(e, d)
	if r2 != nil {
		return *r2
	}
	envv, err := p.environ(e, d, home)
	if err != nil {
		return deferErr(err)
	}
	wo := &writeOpts{crlf: o.Bool("use_crlf"), check: o.String("check_string"), escape: o.String("escape_string")}
	if wo.prefix, err = p.expandOpt(e, "message_prefix"); err != nil && !forced(err) {
		return deferErr(err)
	}
	if wo.suffix, err = p.expandOpt(e, "message_suffix"); err != nil && !forced(err) {
		return deferErr(err)
	}
	if o.Bool("use_bsmtp") {
		p.bsmtp(e, d, wo)
	}
	if err := p.writeHeaderOpts(e, d, wo); err != nil {
		return deferErr(err)
	}
	return p.run(ctx, d, argv, raw, envv, cwd, cred, wo)
}

// command builds the argument vector (spec section "How the command is
// run"): split first, then expand each argument; $pipe_addresses (and
// $address_pipe with force_command) expand to several arguments.
func (p *pipe) command(e *env, d *Delivery) ([]string, string, *Result) {
	o := p.opts
	raw := o.String("command")
	addrPipe := ""
	if len(d.Addresses) > 0 && d.Addresses[0].Pipe != "" {
		addrPipe = strings.TrimPrefix(strings.TrimSpace(d.Addresses[0].Pipe), "|")
		if !o.Bool("force_command") {
			raw = addrPipe
		}
	}
	if raw == "" {
		return nil, "", &Result{Status: Defer, Message: fmt.Sprintf("no command specified for %s transport", p.name)}
	}
	if o.Bool("use_shell") {
		v, err := e.expand(raw)
		if err != nil {
			return nil, raw, &Result{Status: Defer, Err: err, Message: fmt.Sprintf("Expansion of command \"%s\" in %s transport failed: %s", raw, p.name, err)}
		}
		return []string{"/bin/sh", "-c", v}, raw, nil
	}
	args, err := splitCommand(raw)
	if err != nil {
		return nil, raw, &Result{Status: Defer, Err: err, Message: fmt.Sprintf("%s in %s transport command \"%s\"", err, p.name, raw)}
	}
	var argv []string
	for _, a := range args {
		switch {
		case a == "$pipe_addresses" || a == "${pipe_addresses}":
			for _, ad := range d.Addresses {
				argv = append(argv, ad.Address)
			}
			continue
		case o.Bool("force_command") && (a == "$address_pipe" || a == "${address_pipe}"):
			pa, _ := splitCommand(addrPipe)
			argv = append(argv, pa...)
			continue
		}
		v, tainted, err := expand.StringTaint(a, &e.ctx)
		if err != nil {
			return nil, raw, &Result{Status: Defer, Err: err, Message: fmt.Sprintf("Expansion of \"%s\" from command \"%s\" in %s transport failed: %s", a, raw, p.name, err)}
		}
		if tainted {
			// Exim 4.96 fails the address (observed; not for use_shell,
			// whose one expansion it runs as it is).
			return nil, raw, &Result{Status: Fail, Private: true, Message: fmt.Sprintf("Tainted arg %d for %s transport command: '%s'", len(argv), p.name, v)}
		}
		argv = append(argv, v)
	}
	if len(argv) == 0 || argv[0] == "" {
		return nil, raw, &Result{Status: Defer, Message: fmt.Sprintf("empty command in %s transport", p.name)}
	}
	if r := p.checkCommand(e, argv); r != nil {
		return nil, raw, r
	}
	return argv, raw, nil
}

// checkCommand applies allow_commands and restrict_to_path, and finds a
// relative command on path.
func (p *pipe) checkCommand(e *env, argv []string) *Result {
	o := p.opts
	allowed, err := p.expandOpt(e, "allow_commands")
	if err != nil {
		return &Result{Status: Defer, Err: err, Message: err.Error()}
	}
	restrict := o.Bool("restrict_to_path")
	if allowed != "" || restrict {
		ok := false
		for _, c := range splitList(allowed, ':') {
			if c == argv[0] {
				ok = true
			}
		}
		if !ok && restrict && !strings.Contains(argv[0], "/") {
			ok = true
		}
		if !ok {
			return &Result{Status: Fail, Message: fmt.Sprintf("\"%s\" command not permitted by %s transport", argv[0], p.name)}
		}
	}
	if !strings.HasPrefix(argv[0], "/") {
		path, _ := p.expandOpt(e, "path")
		for _, dir := range strings.Split(path, ":") {
			cand := filepath.Join(dir, argv[0])
			if fi, err := os.Stat(cand); err == nil && fi.Mode().IsRegular() {
				argv[0] = cand
				return nil
			}
		}
		return &Result{Status: Fail, Message: fmt.Sprintf("\"%s\" command not found for %s transport", argv[0], p.name)}
	}
	return nil
}

// splitCommand splits a command line into arguments: white space
// separates; "..." with backslash escapes; '...' literally.
func splitCommand(s string) ([]string, error) {
	var out []string
	i := 0
	for {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) {
			return out, nil
		}
		var b strings.Builder
		switch s[i] {
		case '"':
			i++
			for i < len(s) && s[i] != '"' {
				if s[i] == '\\' && i+1 < len(s) {
					i++
					switch s[i] {
					case 'n':
						b.WriteByte('\n')
					case 't':
						b.WriteByte('\t')
					case 'r':
						b.WriteByte('\r')
					default:
						b.WriteByte(s[i])
					}
					i++
					continue
				}
				b.WriteByte(s[i])
				i++
			}
			if i >= len(s) {
				return nil, errors.New("missing quote")
			}
			i++
		case '\'':
			i++
			for i < len(s) && s[i] != '\'' {
				b.WriteByte(s[i])
				i++
			}
			if i >= len(s) {
				return nil, errors.New("missing quote")
			}
			i++
		default:
			for i < len(s) && !isSpace(s[i]) {
				b.WriteByte(s[i])
				i++
			}
		}
		out = append(out, b.String())
	}
}

// environ is the command's environment (spec section "Environment
// variables").
func (p *pipe) environ(e *env, d *Delivery, home string) ([]string, error) {
	var a Address
	if len(d.Addresses) > 0 {
		a = d.Addresses[0]
	}
	path, err := p.expandOpt(e, "path")
	if err != nil {
		return nil, err
	}
	sender := ""
	id := ""
	if d.Header != nil {
		sender, id = d.Header.Sender, string(d.Header.ID)
	}
	lp := a.LocalPart
	vars := []string{
		"LOCAL_PART=" + lp,
		"LOGNAME=" + lp,
		"USER=" + lp,
		"LOCAL_PART_PREFIX=" + a.Prefix,
		"LOCAL_PART_SUFFIX=" + a.Suffix,
		"DOMAIN=" + a.Domain,
		"HOME=" + home,
		"MESSAGE_ID=" + id,
		"PATH=" + path,
		"RECIPIENT=" + lp + "@" + a.Domain,
		"QUALIFY_DOMAIN=" + p.qualify,
		"SENDER=" + sender,
		"SHELL=/bin/sh",
	}
	if tz := p.cfg.Main.String("timezone"); tz != "" {
		vars = append(vars, "TZ="+tz)
	}
	if len(d.Hosts) > 0 {
		vars = append(vars, "HOST="+d.Hosts[0].Name)
	}
	extra, err := p.expandOpt(e, "environment")
	if err != nil {
		return nil, err
	}
	vars = append(vars, splitList(extra, ':')...)
	return vars, nil
}

// maxOutput is the max_output option (default 20K).
func (p *pipe) maxOutput() int64 {
	if n, ok := p.opts.Int("max_output"); ok && n > 0 {
		return n
	}
	return 20 * 1024
}

// run starts the command, feeds it the message and judges the outcome
// (spec section "Returned status and data").
func (p *pipe) run(ctx context.Context, d *Delivery, argv []string, raw string, envv []string, cwd string, cred Cred, wo *writeOpts) Result {
	o := p.opts
	timeout := o.Duration("timeout")
	rctx := ctx
	var cancel context.CancelFunc
	if timeout > 0 {
		rctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Args[0] = argv[0]
	cmd.Env = envv
	cmd.Dir = cwd
	attr := &syscall.SysProcAttr{Setpgid: true}
	if os.Geteuid() == 0 && cred.UID != 0 {
		c := &syscall.Credential{Uid: uint32(cred.UID), Gid: uint32(cred.GID)}
		if cred.Initgroups {
			c.Groups = userGroups(cred)
		} else {
			c.Groups = []uint32{}
		}
		attr.Credential = c
	} else if cred.UID != os.Geteuid() {
		return Result{Status: Defer, Message: fmt.Sprintf("cannot run %s transport as uid %d: not running as root", p.name, cred.UID)}
	}
	cmd.SysProcAttr = attr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return deferErr(fmt.Errorf("creating pipe for %s transport: %w", p.name, err))
	}
	out := &limitBuffer{max: p.maxOutput(), ch: make(chan struct{})}
	cmd.Stdout = out
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		// Exim's child cannot exec: status 127.
		r := p.exitResult(127, raw, argv, "")
		r.Err = err
		if o.Bool("freeze_exec_fail") {
			r.Freeze = true
		}
		return r
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-rctx.Done():
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		case <-out.overflow():
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		case <-done:
		}
	}()
	_, werr := writeMessage(stdin, d, wo)
	stdin.Close()
	err = cmd.Wait()
	close(done)
	output := out.String()
	if rctx.Err() != nil && ctx.Err() == nil {
		st := Fail
		if o.Bool("timeout_defer") {
			st = Defer
		}
		return Result{Status: st, ErrCode: ErrTimeout, Message: "pipe delivery process timed out", Output: output}
	}
	if ctx.Err() != nil {
		return Result{Status: Defer, Err: ctx.Err(), Message: "delivery cancelled"}
	}
	var ee *exec.ExitError
	code := 0
	if errors.As(err, &ee) {
		ws := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			if out.over {
				return Result{Status: Fail, Message: fmt.Sprintf("Child process of %s transport (running command \"%s\") was terminated by signal %d (%s): output exceeded max_output", p.name, raw, ws.Signal(), sigName(ws.Signal())), Output: output}
			}
			r := Result{Status: Fail, Output: output,
				Message: fmt.Sprintf("Child process of %s transport (running command \"%s\") was terminated by signal %d (%s)", p.name, raw, int(ws.Signal()), sigName(ws.Signal()))}
			if o.Bool("freeze_signal") {
				r.Freeze = true
			}
			return r
		}
		code = ws.ExitStatus()
	} else if err != nil {
		return deferErr(fmt.Errorf("waiting for %s transport command: %w", p.name, err))
	}
	if werr != nil && code == 0 && !isEPIPE(werr) {
		return deferErr(fmt.Errorf("error writing to pipe for %s transport: %w", p.name, werr))
	}
	if o.Bool("ignore_status") && code != 0 {
		code = 0
	}
	return p.exitResult(code, raw, argv, output)
}

func isEPIPE(err error) bool { return errors.Is(err, syscall.EPIPE) }

// exitResult judges an exit status and the output.
func (p *pipe) exitResult(code int, raw string, argv []string, output string) Result {
	o := p.opts
	first := output
	if i := strings.IndexByte(first, '\n'); i >= 0 {
		first = first[:i]
	}
	var r Result
	switch {
	case code == 0:
		r.Status = OK
		if o.Bool("return_output") && output != "" {
			r = Result{Status: Fail, Message: "return message generated", Output: output}
		}
	case p.isTemp(code):
		r = Result{Status: Defer, Message: fmt.Sprintf("Child process of %s transport returned %d%s from command: %s", p.name, code, exitHint(code), argv[0])}
		if o.Bool("log_defer_output") && output != "" {
			r.LogOutput = first
		}
	default:
		r = Result{Status: Fail, Message: fmt.Sprintf("Child process of %s transport returned %d%s from command: %s", p.name, code, exitHint(code), argv[0])}
		if o.Bool("log_fail_output") && output != "" {
			r.LogOutput = first
		}
		if (o.Bool("return_fail_output") || o.Bool("return_output")) && output != "" {
			r.Output = output
		}
	}
	if o.Bool("log_output") && output != "" {
		r.LogOutput = first
	}
	return r
}

// exitHint is the "(could mean ...)" text Exim adds for sysexits codes,
// 127, and shell statuses above 128.
func exitHint(code int) string {
	hints := map[int]string{
		64: "usage or syntax error", 65: "error in input data", 66: "input data missing",
		67: "user nonexistent", 68: "host nonexistent", 69: "service or program unavailable",
		70: "internal software error", 71: "internal operating system error",
		72: "system file missing", 73: "can't create output file", 74: "input/output error",
		75: "temporary error", 76: "protocol error", 77: "permission denied",
		78: "configuration error", 127: "unable to exec or command does not exist",
	}
	if h, ok := hints[code]; ok {
		return " (could mean " + h + ")"
	}
	if code > 128 {
		s := syscall.Signal(code - 128)
		return fmt.Sprintf(" (could mean shell command ended by signal %d (%s))", code-128, sigName(s))
	}
	return ""
}

// sigName is strsignal(3)'s text.
func sigName(s syscall.Signal) string {
	n := s.String()
	if strings.HasPrefix(n, "signal ") {
		return "Unknown signal " + strings.TrimPrefix(n, "signal ")
	}
	return strings.ToUpper(n[:1]) + n[1:]
}

// limitBuffer collects output up to max bytes and signals an overflow.
type limitBuffer struct {
	buf  bytes.Buffer
	max  int64
	over bool
	ch   chan struct{}
}

func (l *limitBuffer) overflow() <-chan struct{} { return l.ch }

func (l *limitBuffer) Write(p []byte) (int, error) {
	room := l.max - int64(l.buf.Len())
	if int64(len(p)) > room {
		if room > 0 {
			l.buf.Write(p[:room])
		}
		if !l.over {
			l.over = true
			close(l.ch)
		}
		return len(p), nil
	}
	return l.buf.Write(p)
}

func (l *limitBuffer) String() string { return l.buf.String() }

var _ io.Writer = (*limitBuffer)(nil)

// userGroups returns cred's gid and the supplementary groups of its
// user.
func userGroups(cred Cred) []uint32 {
	var out []uint32
	for _, g := range fscred.UserGroups(cred.User, cred.GID) {
		out = append(out, uint32(g))
	}
	return out
}
