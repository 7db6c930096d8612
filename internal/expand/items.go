package expand

import "strings"

// itemDef describes an expansion item ${name...}: parse reads everything
// after the name up to and including the closing "}".
type itemDef struct {
	parse func(p *parser, name string) (node, error)
}

// items is the table of expansion items. Spec: "Expansion items".
var items map[string]itemDef

func init() {
	// The table refers to parse functions that refer back to it (nested
	// items), so it is filled at start-up rather than in its declaration.
	items = map[string]itemDef{
		"if":     {parse: parseIf},
		"lookup": {parse: parseLookup},
	}
	for _, t := range itemTables {
		for k, v := range t {
			items[k] = v
		}
	}
}

// itemTables are further groups of items, one table per file.
var itemTables = []map[string]itemDef{
	stringItems,
	listItems,
	externalItems,
	cryptoItems,
}

// genericItem is an item with a fixed range of {} arguments and an
// evaluation function that receives the unevaluated arguments (so that it
// can evaluate them lazily or repeatedly, as map and filter do).
type genericItem struct {
	name string
	args []node
	fn   func(st *state, args []node) (string, error)
}

func (g *genericItem) eval(st *state, b *[]byte) error {
	r, err := g.fn(st, g.args)
	if err != nil {
		return err
	}
	*b = append(*b, r...)
	return nil
}

// strArgs evaluates all arguments in order.
func (st *state) strArgs(args []node) ([]string, error) {
	out := make([]string, len(args))
	for i, a := range args {
		s, err := st.str(a)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

// yesNo is the {yes}{no} / {yes}fail tail shared by if, lookup and other
// items (Exim's "conditional yes/no parsing").
type yesNo struct {
	yes, no node
	fail    bool
}

// parseYesNo reads the optional {yes}{no} or {yes}fail parts and the
// closing "}" of the item.
func (p *parser) parseYesNo(item string) (yesNo, error) {
	var yn yesNo
	p.skipSpace()
	if !p.eof() && p.peek() == '}' {
		p.pos++
		return yn, nil
	}
	if p.eof() || p.peek() != '{' {
		return yn, p.yesNoError("curly-bracket problem in conditional yes/no parsing: 'yes' part did not start with '{'\n remaining string is '%s'", p.rest())
	}
	yes, _, err := p.parseArg()
	if err != nil {
		return yn, err
	}
	yn.yes = yes
	p.skipSpace()
	switch {
	case !p.eof() && p.peek() == '{':
		no, _, err := p.parseArg()
		if err != nil {
			return yn, err
		}
		yn.no = no
	case strings.HasPrefix(p.rest(), "fail"):
		yn.fail = true
		p.pos += 4
		p.skipSpace()
		if p.eof() {
			return yn, errorf("curly-bracket problem in conditional yes/no parsing: did not close with '}' after forcedfail\n remaining string is ''")
		}
	case p.eof() || p.peek() != '}':
		return yn, errorf("syntax error in \"%s\" item - \"fail\" expected", item)
	}
	p.skipSpace()
	if p.eof() || p.peek() != '}' {
		return yn, p.yesNoError("curly-bracket problem in conditional yes/no parsing: did not close with '}'\n remaining string is '%s'", p.rest())
	}
	p.pos++
	return yn, nil
}

// choose expands the yes or the no part. def is used for a missing yes
// part; a missing no part gives the empty string; "fail" gives a forced
// failure naming the item.
func (yn *yesNo) choose(st *state, item string, ok bool, def string, b *[]byte) error {
	if ok {
		if yn.yes == nil {
			*b = append(*b, def...)
			return nil
		}
		return yn.yes.eval(st, b)
	}
	if yn.fail {
		return &Error{Msg: "\"" + item + "\" failed and \"fail\" requested", Forced: true}
	}
	if yn.no != nil {
		return yn.no.eval(st, b)
	}
	return nil
}

// ifNode is ${if condition {yes}{no}}.
type ifNode struct {
	cond condition
	yn   yesNo
}

func parseIf(p *parser, name string) (node, error) {
	c, err := p.parseCondition()
	if err != nil {
		return nil, err
	}
	yn, err := p.parseYesNo(name)
	if err != nil {
		return nil, err
	}
	return &ifNode{cond: c, yn: yn}, nil
}

// eval tests the condition and expands the chosen part. $1.. and $value
// as they were before the if are restored afterwards (spec: "Expansion
// conditions", match and inlist).
func (n *ifNode) eval(st *state, b *[]byte) error {
	numeric, value, numT := st.numeric, st.value, st.numericTainted
	defer func() { st.numeric, st.value, st.numericTainted = numeric, value, numT }()
	// What a condition reads does not taint the result; what it
	// captures ($1 ...) from a tainted value does (taint.go).
	tainted := st.tainted
	st.tainted = false
	ok, err := n.cond.test(st)
	st.numericTainted = st.tainted
	st.tainted = tainted
	if err != nil {
		return err
	}
	return n.yn.choose(st, "if", ok, "true", b)
}
