// -brw: what the rewrite section does to an address in each place it can
// appear in an incoming message.
//
// Exim specification: chapter "The Exim command line", option -brw;
// chapter "Address rewriting", section "Testing the rewriting rules that
// apply on input".
package cli

import (
	"fmt"
	"strings"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/rewrite"
)

// brwHeaders are the header lines -brw shows, in Exim's order, with their
// right-aligned labels.
var brwHeaders = []struct {
	label string
	t     rewrite.Type
}{
	{"sender", rewrite.Sender},
	{"from", rewrite.From},
	{"to", rewrite.To},
	{"cc", rewrite.Cc},
	{"bcc", rewrite.Bcc},
	{"reply-to", rewrite.ReplyTo},
}

// runRewriteTest implements -brw: the first argument, qualified with
// qualify_domain when it has no "@", is rewritten as each header type
// (phrase and comments kept) and as envelope sender and recipient.
func runRewriteTest(inv *Invocation, env *Env) int {
	if len(inv.Args) == 0 {
		fmt.Fprintln(env.Stdout, "-brw needs an address argument")
		return 1
	}
	cfg, code, ok := loadConfig(inv, env)
	if !ok {
		return code
	}
	ctx, err := newExpandContext(inv, env, cfg)
	if err != nil {
		return failf(env, "%v", err)
	}
	rules, err := newRewriteRules(cfg, ctx, func(s string) {
		fmt.Fprintf(env.Stderr, "%s %s\n", env.Now().Format("2006-01-02 15:04:05"), s)
	})
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s %v\n", env.Now().Format("2006-01-02 15:04:05"), err)
		return 1
	}
	if len(cfg.Rewrite) == 0 {
		fmt.Fprintln(env.Stdout, "No rewrite rules are defined")
		return 0
	}
	arg := inv.Args[0]
	if !strings.Contains(arg, "@") {
		arg += "@" + cfg.Main.String("qualify_domain")
	}
	if s, changed := rules.SMTP(arg); changed {
		fmt.Fprintf(env.Stdout, "    SMTP: %s\n", s)
	}
	addr, err := rewrite.Extract(arg)
	if err != nil {
		msg := err.Error()
		fmt.Fprintf(env.Stdout, "Syntax error in %s\n%s\n", arg, strings.ToUpper(msg[:1])+msg[1:])
		return 0
	}
	for _, h := range brwHeaders {
		out, _ := rules.Item(arg, h.t, "")
		fmt.Fprintf(env.Stdout, "%8s: %s\n", h.label, out)
	}
	from, _ := rules.Address(addr, rewrite.EnvFrom)
	to, _ := rules.Address(addr, rewrite.EnvTo)
	fmt.Fprintf(env.Stdout, "env-from: %s\n  env-to: %s\n", from, to)
	return 0
}

// newRewriteRules builds the rewrite section's rules with expansions in
// ctx ($local_part, $domain and $0.. set per rule) and log lines to log.
func newRewriteRules(cfg *config.Config, ctx *expand.Context, log func(string)) (*rewrite.Rules, error) {
	qr := cfg.Main.String("qualify_recipient")
	if qr == "" {
		qr = cfg.Main.String("qualify_domain")
	}
	// No named list results are kept between rewrites: Exim checks the
	// lists afresh for each address (observed with Exim 4.96), and rules
	// outlive a message in a daemon.
	env := listEnv(ctx)
	if env != nil {
		env.Cache = nil
	}
	return rewrite.New(cfg.Rewrite, rewrite.Options{
		Lists: env,
		Expand: func(s string, v rewrite.Vars) (string, error) {
			c := *ctx
			c.Vars = rewriteVars{base: ctx.Vars, v: v}
			c.Numeric = v.Numeric
			return expand.String(s, &c)
		},
		QualifyRecipient: qr,
		Log:              log,
	})
}

// rewriteVars overlays $local_part and $domain on the process variables.
type rewriteVars struct {
	base expand.Vars
	v    rewrite.Vars
}

// Var implements expand.Vars.
func (r rewriteVars) Var(name string) (string, bool) {
	switch name {
	case "local_part":
		if r.v.LocalPart != "" || r.v.Domain != "" {
			return r.v.LocalPart, true
		}
	case "domain":
		if r.v.LocalPart != "" || r.v.Domain != "" {
			return r.v.Domain, true
		}
	}
	if r.base == nil {
		return "", false
	}
	return r.base.Var(name)
}
