// An Expander over the expansion engine, for the SMTP session and tests.

package auth

import (
	"strconv"
	"strings"

	"github.com/exigo-mta/exigo/internal/expand"
)

// ContextExpander is an Expander that evaluates with the expansion engine
// in Ctx (the session's variables, lookups, lists), with $auth1..$auth4
// taken from the exchange. Comments, when set, receives the commentary
// lines (it makes the ContextExpander a Commenter).
//
// The numeric variables $1..$20 are not set yet: the expansion engine has
// no way to preset them (they belong to its regex matching state).
type ContextExpander struct {
	Ctx      *expand.Context
	Comments func(line string)
}

// Expand implements Expander.
func (c *ContextExpander) Expand(s string, vars []string) (string, error) {
	ctx := expand.Context{}
	if c.Ctx != nil {
		ctx = *c.Ctx
	}
	ctx.Vars = authVars{vars: vars, next: ctx.Vars}
	return expand.String(s, &ctx)
}

// Comment implements Commenter.
func (c *ContextExpander) Comment(line string) {
	if c.Comments != nil {
		c.Comments(line)
	}
}

// authVars layers $auth1..$auth4 over the session's variables.
type authVars struct {
	vars []string
	next expand.Vars
}

func (a authVars) Var(name string) (string, bool) {
	if len(name) == 5 && strings.HasPrefix(name, "auth") {
		if n, err := strconv.Atoi(name[4:]); err == nil && n >= 1 && n <= 4 {
			if n <= len(a.vars) {
				return a.vars[n-1], true
			}
			return "", true
		}
	}
	if a.next == nil {
		return "", false
	}
	return a.next.Var(name)
}
