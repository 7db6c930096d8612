// Taint: Exim 4.96 marks values that come from the message (the
// envelope addresses, header lines, the body, what the client said) as
// tainted, and refuses to use a tainted string where it would name a
// file (specification chapter "String expansions", section "Tainted
// data"; observed: an appendfile transport's file or directory). exigo
// follows the taint of an expansion coarsely: the result is tainted when
// a tainted variable, a header, or $1.. captured from a tainted value
// was copied into it. A condition's operands and a lookup's key and
// query do not taint what the item yields (a lookup's result is clean),
// which is how configurations de-taint (observed with Exim 4.96).

package expand

import "github.com/exigo-mta/exigo/internal/debug"

// taintedVars are the variables whose values come from the message.
// $local_part_data, $domain_data, $home and lookup results are clean.
var taintedVars = map[string]bool{
	"domain":                    true,
	"local_part":                true,
	"local_part_prefix":         true,
	"local_part_prefix_v":       true,
	"local_part_suffix":         true,
	"local_part_suffix_v":       true,
	"original_domain":           true,
	"original_local_part":       true,
	"parent_domain":             true,
	"parent_local_part":         true,
	"sender_address":            true,
	"sender_address_domain":     true,
	"sender_address_local_part": true,
	"return_path":               true,
	"message_body":              true,
	"message_body_end":          true,
	"message_headers":           true,
	"message_headers_raw":       true,
	"sender_helo_name":          true,
	"sender_host_name":          true,
	"sender_ident":              true,
	"sender_rcvhost":            true,
	"recipients":                true,
}

// EvalTaint evaluates the template like Eval and also reports whether
// the result is tainted.
func (t *Template) EvalTaint(ctx *Context) (string, bool, error) {
	if ctx == nil {
		ctx = &Context{}
	}
	st := &state{ctx: ctx, numeric: ctx.Numeric}
	var b []byte
	if err := t.root.eval(st, &b); err != nil {
		return "", false, err
	}
	if ctx.Debug.On(debug.Expand) {
		ctx.Debug.Printf(debug.Expand, " expanding: %s\n    result: %s", t.src, b)
	}
	return string(b), st.tainted, nil
}

// StringTaint parses and evaluates s like String and also reports
// whether the result is tainted.
func StringTaint(s string, ctx *Context) (string, bool, error) {
	var c *Cache
	if ctx != nil {
		c = ctx.Templates
	}
	t, err := c.Parse(s)
	if err != nil {
		return "", false, err
	}
	return t.EvalTaint(ctx)
}
