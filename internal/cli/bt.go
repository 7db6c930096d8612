package cli

// -bt, -bv and -bvs: address testing and verification. Exim specification
// chapter "The Exim command line", options -bt, -bv and -bvs.

import (
	"bufio"
	"fmt"
	"io"
	"os/user"
	"strings"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/localhost"
	"github.com/exigo-mta/exigo/internal/lookup"
	"github.com/exigo-mta/exigo/internal/mainlog"
	"github.com/exigo-mta/exigo/internal/rewrite"
	"github.com/exigo-mta/exigo/internal/router"
)

// runAddressTest implements -bt, -bv and -bvs. The exit code is 2 if any
// address failed, 1 if none failed but some could not be resolved, and 0
// otherwise.
func runAddressTest(inv *Invocation, env *Env) int {
	cfg, code, ok := loadConfig(inv, env)
	if !ok {
		return code
	}
	qd := cfg.Main.String("qualify_domain")
	qr := cfg.Main.String("qualify_recipient")
	if qr == "" {
		qr = qd
	}
	sender := inv.Sender
	if !inv.SenderSet {
		name := "root"
		if u, err := user.Current(); err == nil {
			name = u.Username
		}
		sender = name + "@" + qd
	} else if sender == "<>" {
		sender = ""
	} else if sender != "" && !strings.Contains(sender, "@") {
		sender += "@" + qd
	}
	renv := &router.Env{
		Vars:             processVars(cfg),
		Lookups:          modeLookups{lookup.New(lookup.Options{Debug: env.Debug})},
		Resolver:         routingResolver(cfg),
		Interfaces:       localhost.Machine(),
		Sender:           sender,
		QualifyRecipient: qr,
		PrimaryHostname:  cfg.Main.String("primary_hostname"),
		Debug:            env.Debug,
		Now:              env.Now,
		Log: func(line string) {
			if inv.Mode == "-bv" {
				// -bv writes a log line as it stands, with its
				// time (observed with Exim 4.96).
				fmt.Fprintf(env.Stderr, "%s %s\n", env.Now().Format("2006-01-02 15:04:05"), line)
				return
			}
			fmt.Fprintf(env.Stderr, "LOG: MAIN\n  %s\n", line)
		},
		PanicLog: func(line string) {
			if inv.Mode == "-bv" {
				fmt.Fprintf(env.Stderr, "%s %s\n", env.Now().Format("2006-01-02 15:04:05"), line)
				return
			}
			fmt.Fprintf(env.Stderr, "LOG: MAIN PANIC\n  %s\n", line)
		},
	}
	if inv.Mode == "-bt" {
		renv.DebugPrint = env.Stderr
	}
	rules, err := addressTestRewrite(inv, env, cfg)
	if err != nil {
		fmt.Fprint(env.Stderr, config.StderrText(env.Now(), err))
		return 1
	}
	if rules != nil {
		renv.Rewrite = func(addr string) string {
			n, _ := rules.Address(addr, rewrite.EnvTo)
			return n
		}
	}
	set, err := router.New(cfg, renv)
	if err != nil {
		fmt.Fprint(env.Stderr, config.StderrText(env.Now(), err))
		return 1
	}
	t := &addressTester{cfg: cfg, seen: map[string]bool{}, set: set, out: env.Stdout, mode: inv.Mode, verbose: inv.Verbose, qr: qr, qd: qd, rewrite: rules}
	if len(inv.Args) > 0 {
		for _, a := range inv.Args {
			t.test(a)
		}
		return t.rc
	}
	in := bufio.NewReader(env.Stdin)
	for {
		fmt.Fprint(env.Stdout, "> ")
		line, err := in.ReadString('\n')
		if s := strings.TrimSpace(line); s != "" {
			t.test(s)
		}
		if err != nil {
			fmt.Fprintln(env.Stdout)
			return t.rc
		}
	}
}

type addressTester struct {
	cfg     *config.Config
	seen    map[string]bool // addresses already shown as routed
	set     *router.Set
	out     io.Writer
	mode    string
	verbose bool
	qr, qd  string
	rc      int
	// rewrite is the rewrite section's rules (nil: none).
	rewrite *rewrite.Rules
}

// addressTestRewrite builds the rewrite rules of -bt and -bv, which log
// their rewrites (under +address_rewrite) on standard error: -bt as
// "LOG: address_rewrite MAIN", -bv as a time-stamped log line (observed
// with Exim 4.96); nil when there are none.
func addressTestRewrite(inv *Invocation, env *Env, cfg *config.Config) (*rewrite.Rules, error) {
	if len(cfg.Rewrite) == 0 {
		return nil, nil
	}
	ctx, err := newExpandContext(inv, env, cfg)
	if err != nil {
		return nil, err
	}
	rules, err := newRewriteRules(cfg, ctx, func(line string) {
		fmt.Fprintf(env.Stderr, "LOG: MAIN PANIC\n  %s\n", line)
	})
	if err != nil {
		return nil, err
	}
	sel, _ := mainlog.ParseSelector(cfg.Main.String("log_selector"))
	if sel.Has(mainlog.SelAddressRewrite) {
		rewritten := func(line string) {
			fmt.Fprintf(env.Stderr, "LOG: address_rewrite MAIN\n  %s\n", line)
		}
		if inv.Mode != "-bt" {
			// -bv and -bvs write the log line itself on standard
			// error.
			rewritten = func(line string) {
				fmt.Fprintf(env.Stderr, "%s %s\n", env.Now().Format("2006-01-02 15:04:05"), line)
			}
		}
		rules = rules.WithLog(func(line string) {
			fmt.Fprintf(env.Stderr, "LOG: MAIN PANIC\n  %s\n", line)
		}, rewritten)
	}
	return rules, nil
}

func (t *addressTester) fail()     { t.rc = 2 }
func (t *addressTester) deferred() { t.rc = max(t.rc, 1) }

// maxAddresses caps the addresses one test may generate.
const maxAddresses = 10000

func (t *addressTester) test(arg string) {
	addr := strings.TrimSpace(arg)
	if !strings.Contains(addr, "@") {
		if t.mode == "-bvs" {
			addr += "@" + t.qd
		} else {
			addr += "@" + t.qr
		}
	}
	// An address to test is rewritten first, as an envelope recipient
	// (as a sender for -bvs), observed with Exim 4.96.
	typ := rewrite.EnvTo
	if t.mode == "-bvs" {
		typ = rewrite.EnvFrom
	}
	if n, changed := t.rewrite.Address(addr, typ); changed {
		fmt.Fprintf(t.out, "Address rewritten as: %s\n", n)
		addr = n
	}
	a := router.NewAddress(addr)
	if t.mode == "-bt" {
		t.route(a)
		return
	}
	t.verify(a)
}

// route implements -bt for one address and everything it generates.
func (t *addressTester) route(top *router.Address) {
	mode := router.Mode{AddressTest: true}
	queue := []*router.Address{top}
	// Exim keeps routed addresses on a local and a remote chain, newest
	// first, and shows the local chain first.
	var local, remote []router.Result
	for n := 0; len(queue) > 0 && n < maxAddresses; n++ {
		a := queue[0]
		queue = queue[1:]
		res := t.set.Route(a, mode)
		var front []*router.Address
		switch res.Status {
		case router.Accept:
			if a.Kind != router.Mailbox {
				t.printSpecial(a, res)
				break
			}
			if tr := t.cfg.Transport(res.Transport); tr != nil && tr.Driver == "smtp" {
				remote = append([]router.Result{res}, remote...)
			} else {
				local = append([]router.Result{res}, local...)
			}
		case router.Discard:
			fmt.Fprintf(t.out, "mail to %s is discarded\n", a.Address)
		case router.Fail:
			fmt.Fprintf(t.out, "%s is undeliverable: %s\n", a.Address, res.Message)
			t.parents(a)
			t.fail()
		case router.Defer:
			fmt.Fprintf(t.out, "%s cannot be resolved at this time: %s\n", a.Address, deferText(res))
			t.parents(a)
			t.deferred()
		}
		front = append(front, res.Children...)
		if res.Unseen != nil {
			front = append(front, res.Unseen)
		}
		queue = append(front, queue...)
	}
	for _, r := range append(local, remote...) {
		a := r.Address
		// -bt compares the addresses exactly as they are written
		// (observed with Exim 4.96: Alice@x and alice@X are not
		// duplicates of alice@x there).
		key := a.Address + "\x00" + r.Transport
		fmt.Fprint(t.out, a.Address)
		if t.seen[key] {
			fmt.Fprint(t.out, "   [duplicate, would not be delivered]")
		}
		t.seen[key] = true
		fmt.Fprintln(t.out)
		t.parents(a)
		fmt.Fprintf(t.out, "  router = %s, transport = %s\n", r.Router, orUnset(r.Transport))
		for _, h := range r.Hosts {
			if h.Addr == "" {
				// No address (a host list passed to a local
				// transport): Exim pads where the address would be.
				fmt.Fprintf(t.out, "  host %s          ", h.Name)
			} else {
				fmt.Fprintf(t.out, "  host %s [%s]", h.Name, h.Addr)
			}
			if h.MX >= 0 {
				fmt.Fprintf(t.out, " MX=%d", h.MX)
			}
			if h.Port > 0 {
				fmt.Fprintf(t.out, " port=%d", h.Port)
			}
			fmt.Fprintln(t.out)
		}
	}
}

func orUnset(s string) string {
	if s == "" {
		return "unset"
	}
	return s
}

// printSpecial shows a pipe, file or directory delivery.
func (t *addressTester) printSpecial(a *router.Address, res router.Result) {
	gen := a.Parent.Address
	if a.Kind == router.Autoreply {
		// An autoreply is shown as "mail TO" (observed with Exim 4.96).
		a = &router.Address{Address: "mail " + strings.TrimPrefix(a.Address, ">")}
	}
	switch {
	case res.Forbidden:
		fmt.Fprintf(t.out, "%s -> %s *** forbidden ***\n", gen, a.Address)
	case res.Transport != "":
		fmt.Fprintf(t.out, "%s -> %s\n  transport = %s\n", gen, a.Address, res.Transport)
	default:
		fmt.Fprintf(t.out, "%s -> %s\n*** Error in setting up pipe, file, or autoreply:\n%s\n", gen, a.Address, res.Message)
	}
}

// parents prints the "<--" lines of a's ancestors.
func (t *addressTester) parents(a *router.Address) {
	for p := a.Parent; p != nil; p = p.Parent {
		fmt.Fprintf(t.out, "    <-- %s\n", p.Address)
	}
}

// verify implements -bv and -bvs without -v: a redirection to one address
// follows that address; to several, verification succeeds.
func (t *addressTester) verify(top *router.Address) {
	mode := router.Mode{Verify: true, Sender: t.mode == "-bvs"}
	a := top
	for n := 0; n < maxAddresses; n++ {
		res := t.set.Route(a, mode)
		switch res.Status {
		case router.Fail:
			fmt.Fprintf(t.out, "%s failed to verify: %s\n", top.Address, res.Message)
			t.fail()
			return
		case router.Defer:
			fmt.Fprintf(t.out, "%s cannot be resolved at this time: %s\n", top.Address, deferText(res))
			t.deferred()
			return
		case router.Redirect:
			if len(res.Children) == 1 {
				a = res.Children[0]
				continue
			}
		}
		fmt.Fprintf(t.out, "%s verified\n", top.Address)
		return
	}
}

// deferText is the message of a deferred routing as -bt prints it: Exim's
// words for a defer that carries none.
func deferText(res router.Result) string {
	if res.Message == "" {
		return router.NoMessage
	}
	return res.Message
}
