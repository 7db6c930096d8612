package expand

import (
	"strconv"
	"strings"
)

// itemArgs reads between min and max "{...}" arguments of the named item
// and the closing "}", with the texts Exim gives for items read by its
// generic argument reader (hash, length, substr, sg, tr, listquote...).
// Spec: chapter "String expansions", section "Expansion items".
func (p *parser) itemArgs(name string, min, max int) ([]node, error) {
	var args []node
	for len(args) < max {
		n, ok, err := p.parseArg()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		args = append(args, n)
	}
	if len(args) < min {
		return nil, errorf("Not enough arguments for '%s' (min is %d)", name, min)
	}
	p.skipSpace()
	if !p.eof() && p.peek() == '{' {
		return nil, errorf("Too many arguments for '%s' (max is %d)", name, max)
	}
	if p.eof() || p.peek() != '}' {
		return nil, errorf("missing '}' after '%s'", name)
	}
	p.pos++
	return args, nil
}

// itemsGeneric makes an itemDef for an item read by itemArgs whose
// arguments are all expanded before fn is called.
func itemsGeneric(min, max int, fn func(st *state, name string, args []string) (string, error)) itemDef {
	return itemDef{parse: func(p *parser, name string) (node, error) {
		args, err := p.itemArgs(name, min, max)
		if err != nil {
			return nil, err
		}
		return &genericItem{name: name, args: args, fn: func(st *state, nodes []node) (string, error) {
			vals, err := st.strArgs(nodes)
			if err != nil {
				return "", err
			}
			return fn(st, name, vals)
		}}, nil
	}}
}

// needArg reads one "{...}" argument that must be present, failing with
// "missing '{' for WHICH arg of NAME" (Exim's text for map, filter,
// reduce and sort).
func (p *parser) needArg(which, name string) (node, error) {
	n, ok, err := p.parseArg()
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errorf("missing '{' for %s arg of %s", which, name)
	}
	return n, nil
}

// closeItem reads the "}" that ends an item, failing with Exim's
// `missing } at end of "NAME"`.
func (p *parser) closeItem(name string) error {
	p.skipSpace()
	if p.eof() || p.peek() != '}' {
		return errorf("missing } at end of \"%s\"", name)
	}
	p.pos++
	return nil
}

// itemNumber converts an item's numeric argument as Exim does: leading
// white space and a sign are allowed, nothing may follow the digits, and
// an empty string is zero. positive forbids a minus sign. The errors are
// `"X" is not a number (in "NAME" expansion)` and `"X" is not a positive
// number (...)`.
func itemNumber(s, name string, positive bool) (int, error) {
	t := strings.TrimLeft(s, " \t\n\r\f\v")
	neg := false
	if t != "" && (t[0] == '-' || t[0] == '+') {
		neg = t[0] == '-'
		t = t[1:]
	}
	bad := func() error {
		if positive {
			return errorf("\"%s\" is not a positive number (in \"%s\" expansion)", s, name)
		}
		return errorf("\"%s\" is not a number (in \"%s\" expansion)", s, name)
	}
	if t == "" {
		if len(t) != len(s) {
			// A sign or white space with no digits is not a number.
			return 0, bad()
		}
		return 0, nil
	}
	for i := 0; i < len(t); i++ {
		if !isDigit(t[i]) {
			return 0, bad()
		}
	}
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil {
		v = 1<<63 - 1
	}
	if neg {
		if positive {
			return 0, bad()
		}
		v = -v
	}
	// Exim keeps these numbers in a C int.
	return int(int32(v)), nil
}
