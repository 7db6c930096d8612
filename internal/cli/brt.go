// -brt: which retry rule applies to a domain or address and an error.
//
// Exim specification: chapter "The Exim command line", option -brt;
// chapter "Retry configuration".
package cli

import (
	"fmt"
	"strings"

	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/instance"
	"github.com/exigo-mta/exigo/internal/lists"
	"github.com/exigo-mta/exigo/internal/retry"
)

// runRetryTest implements -brt: up to three arguments, a domain or
// address, an optional second domain (an argument with a dot) tried when
// nothing matches the first, and an optional error name. A sender given
// with -f lets rules with senders lists match.
func runRetryTest(inv *Invocation, env *Env) int {
	if len(inv.Args) == 0 {
		fmt.Fprintln(env.Stdout, "-brt needs a domain or address argument")
		return 1
	}
	cfg, code, ok := loadConfig(inv, env)
	if !ok {
		return code
	}
	ctx, err := newExpandContext(inv, env, cfg)
	if err != nil {
		fmt.Fprintf(env.Stderr, "exim: %v\n", err)
		return 1
	}
	subjects := []string{inv.Args[0]}
	if !strings.ContainsAny(inv.Args[0], "@.") {
		fmt.Fprintf(env.Stdout, "Warning: \"%s\" contains no '@' and no '.' characters. It is being \ntreated as a one-component domain, not as a local part.\n\n", inv.Args[0])
	}
	et := retry.ErrorType{Kind: retry.None}
	rest := inv.Args[1:]
	if len(rest) > 0 && strings.Contains(rest[0], ".") {
		subjects = append(subjects, rest[0])
		rest = rest[1:]
	}
	if len(rest) > 0 {
		if et, err = retry.ParseErrorType(rest[0]); err != nil {
			// Exim writes this one on stdout.
			fmt.Fprintln(env.Stdout, err)
			return 1
		}
	}
	rules, err := retry.New(cfg.Retry, retry.Options{
		Env:    listEnv(ctx),
		Expand: func(s string) (string, error) { return expand.String(s, ctx) },
		Log:    func(s string) { fmt.Fprintf(env.Stderr, "%s %s\n", env.Now().Format("2006-01-02 15:04:05"), s) },
	})
	if err != nil {
		fmt.Fprintf(env.Stderr, "exim: %v\n", err)
		return 1
	}
	var sender *string
	if inv.SenderSet {
		s := inv.Sender
		if s == "<>" {
			s = ""
		}
		sender = &s
	}
	r := rules.Find(subjects, et, sender)
	if r == nil {
		fmt.Fprintln(env.Stdout, "No retry information found")
		return 0
	}
	fmt.Fprintf(env.Stdout, "Retry rule: %s\n", r)
	return 0
}

// listEnv returns the list-matching environment of an expansion context
// built by newExpandContext.
func listEnv(ctx *expand.Context) *lists.Env {
	if lm, ok := ctx.Lists.(instance.ListMatcher); ok {
		return lm.Env
	}
	return nil
}
