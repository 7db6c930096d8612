package expand

import (
	"errors"
	"strings"

	"github.com/exigo-mta/exigo/internal/lookup"
)

// lookupNode is ${lookup{key}TYPE{file}{yes}{no}} (single-key) or
// ${lookup TYPE{query}{yes}{no}} (query-style).
// Spec: "Expansion items", ${lookup...}; chapter "File and database lookups".
type lookupNode struct {
	key   node // nil for query-style lookups
	typ   string
	query node // the file (single-key) or the query
	yn    yesNo
}

func parseLookup(p *parser, name string) (node, error) {
	n := &lookupNode{}
	key, hasKey, err := p.parseArg()
	if err != nil {
		return nil, err
	}
	n.key = key
	p.skipSpace()
	start := p.pos
	for !p.eof() && p.peek() != '{' && !isSpace(p.peek()) {
		p.pos++
	}
	n.typ = p.src[start:p.pos]
	if n.typ == "" || n.typ[0] == '}' {
		return nil, errorf("missing lookup type")
	}
	base := lookupBaseType(n.typ)
	kind, ok := lookup.Kind(base)
	query := kind == lookup.QueryStyle
	if !ok {
		return nil, errorf("unknown lookup type \"%s\"", base)
	}
	if hasKey && query {
		return nil, errorf("a single key was given for lookup type \"%s\", which is not a single-key lookup type", base)
	}
	if !hasKey && !query {
		return nil, errorf("missing {key} for single-key \"%s\" lookup", base)
	}
	arg, ok, err := p.parseArg()
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errorf("missing '{' for lookup file-or-query arg")
	}
	n.query = arg
	yn, err := p.parseYesNo(name)
	if err != nil {
		return nil, err
	}
	n.yn = yn
	return n, nil
}

// lookupBaseType strips the partial-, *, *@ and ,options affixes from a
// lookup type as written.
func lookupBaseType(t string) string {
	if i := strings.IndexByte(t, ','); i >= 0 {
		t = t[:i]
	}
	if strings.HasPrefix(t, "partial") {
		if i := strings.IndexByte(t, '-'); i >= 0 {
			t = t[i+1:]
		}
	}
	t = strings.TrimSuffix(t, "*@")
	t = strings.TrimSuffix(t, "*")
	return t
}

func (n *lookupNode) eval(st *state, b *[]byte) error {
	var key string
	var err error
	// A lookup's key and query do not taint its result (taint.go).
	tainted := st.tainted
	if n.key != nil {
		if key, err = st.str(n.key); err != nil {
			return err
		}
	}
	q, err := st.str(n.query)
	if err != nil {
		return err
	}
	st.tainted = tainted
	if st.ctx.Forbid.Lookups {
		return errorf("lookup expansions are not permitted")
	}
	if st.ctx.Lookups == nil {
		return errorf("lookups are not available here")
	}
	x := func(s string) (string, error) { return String(s, st.ctx) }
	var val string
	var found bool
	if n.key != nil {
		val, found, err = st.ctx.Lookups.Find(n.typ, q, key, x)
	} else {
		val, found, err = st.ctx.Lookups.Query(n.typ, q, x)
	}
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return e
		}
		var d *lookup.DeferError
		return &Error{Msg: err.Error(), Defer: errors.As(err, &d), Lookup: true}
	}
	saved := st.value
	st.value = val
	defer func() { st.value = saved }()
	return n.yn.choose(st, "lookup", found, val, b)
}
