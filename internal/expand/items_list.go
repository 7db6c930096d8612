package expand

import (
	"strconv"
	"strings"

	"github.com/exigo-mta/exigo/internal/lists"
)

// listItems are the list expansion items. Spec: chapter "String
// expansions", section "Expansion items".
var listItems = map[string]itemDef{
	"filter":      {parse: parseFilter},
	"listextract": {parse: parseListextract},
	"listquote":   itemsGeneric(2, 2, itemListquote),
	"map":         {parse: parseMap},
	"reduce":      {parse: parseReduce},
	"sort":        {parse: parseSort},
}

// splitList splits an expanded list, returning its separator (the default
// colon or the one set by a "<c" prefix) and its items.
func splitList(s string) (byte, []string) {
	sep, body := lists.Separator(s, ':')
	var items []string
	for {
		item, rest, ok := lists.Next(body, sep)
		if !ok {
			return sep, items
		}
		items = append(items, item)
		body = rest
	}
}

// joinList joins items into a list with sep, doubling any sep inside them.
func joinList(sep byte, items []string) string {
	var b strings.Builder
	for i, it := range items {
		if i > 0 {
			b.WriteByte(sep)
		}
		b.WriteString(lists.Quote(it, sep))
	}
	return b.String()
}

// inside adds Exim's ` inside "NAME" WHAT` to an expansion error (map,
// reduce and filter name themselves in errors from their loop parts).
func inside(err error, name, what string) error {
	if e, ok := err.(*Error); ok {
		return &Error{Msg: e.Msg + " inside \"" + name + "\" " + what, Forced: e.Forced, Defer: e.Defer}
	}
	return err
}

// withItem runs fn with $item set to item, restoring $item afterwards.
func (st *state) withItem(item string, fn func() error) error {
	saved := st.item
	st.item = item
	defer func() { st.item = saved }()
	return fn()
}

// mapNode is ${map{list}{string}}.
type mapNode struct{ list, expr node }

func parseMap(p *parser, name string) (node, error) {
	list, err := p.needArg("first", name)
	if err != nil {
		return nil, err
	}
	expr, ok, err := p.parseArg()
	if err != nil {
		return nil, inside(err, name, "item")
	}
	if !ok {
		return nil, errorf("missing '{' for last arg of %s", name)
	}
	if err := p.closeItem(name); err != nil {
		return nil, err
	}
	return &mapNode{list: list, expr: expr}, nil
}

func (n *mapNode) eval(st *state, b *[]byte) error {
	l, err := st.str(n.list)
	if err != nil {
		return err
	}
	sep, items := splitList(l)
	out := make([]string, 0, len(items))
	for _, it := range items {
		err := st.withItem(it, func() error {
			r, err := st.str(n.expr)
			out = append(out, r)
			return err
		})
		if err != nil {
			return inside(err, "map", "item")
		}
	}
	*b = append(*b, joinList(sep, out)...)
	return nil
}

// filterNode is ${filter{list}{condition}}.
type filterNode struct {
	list node
	cond condition
}

func parseFilter(p *parser, name string) (node, error) {
	list, err := p.needArg("first", name)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.eof() || p.peek() != '{' {
		return nil, errorf("missing '{' for last arg of %s", name)
	}
	p.pos++
	cond, err := p.parseCondition()
	if err != nil {
		return nil, inside(err, name, "item")
	}
	p.skipSpace()
	if p.eof() || p.peek() != '}' {
		return nil, errorf("missing } at end of condition or expression inside \"%s\"; could be an unquoted } in the content", name)
	}
	p.pos++
	if err := p.closeItem(name); err != nil {
		return nil, err
	}
	return &filterNode{list: list, cond: cond}, nil
}

func (n *filterNode) eval(st *state, b *[]byte) error {
	l, err := st.str(n.list)
	if err != nil {
		return err
	}
	sep, items := splitList(l)
	var out []string
	for _, it := range items {
		err := st.withItem(it, func() error {
			ok, err := n.cond.test(st)
			if ok {
				out = append(out, it)
			}
			return err
		})
		if IsForced(err) {
			return inside(err, "filter", "condition")
		}
		if err != nil {
			return inside(err, "filter", "item")
		}
	}
	*b = append(*b, joinList(sep, out)...)
	return nil
}

// reduceNode is ${reduce{list}{initial}{expression}}.
type reduceNode struct{ list, init, expr node }

func parseReduce(p *parser, name string) (node, error) {
	list, err := p.needArg("first", name)
	if err != nil {
		return nil, err
	}
	init, err := p.needArg("second", name)
	if err != nil {
		return nil, err
	}
	expr, ok, err := p.parseArg()
	if err != nil {
		return nil, inside(err, name, "item")
	}
	if !ok {
		return nil, errorf("missing '{' for last arg of %s", name)
	}
	if err := p.closeItem(name); err != nil {
		return nil, err
	}
	return &reduceNode{list: list, init: init, expr: expr}, nil
}

func (n *reduceNode) eval(st *state, b *[]byte) error {
	l, err := st.str(n.list)
	if err != nil {
		return err
	}
	init, err := st.str(n.init)
	if err != nil {
		return err
	}
	_, items := splitList(l)
	savedItem, savedValue := st.item, st.value
	defer func() { st.item, st.value = savedItem, savedValue }()
	st.value = init
	for _, it := range items {
		st.item = it
		v, err := st.str(n.expr)
		if err != nil {
			return inside(err, "reduce", "item")
		}
		st.value = v
	}
	*b = append(*b, st.value...)
	return nil
}

// listextractNode is ${listextract{n}{list}{yes}{no}}.
type listextractNode struct {
	num, list node
	yn        yesNo
}

func parseListextract(p *parser, name string) (node, error) {
	var args [2]node
	for i := range args {
		a, ok, err := p.parseArg()
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errorf("missing '{' for arg %d of %s", i+1, name)
		}
		args[i] = a
	}
	yn, err := p.parseYesNo(name)
	if err != nil {
		return nil, err
	}
	return &listextractNode{num: args[0], list: args[1], yn: yn}, nil
}

func (n *listextractNode) eval(st *state, b *[]byte) error {
	num, err := st.str(n.num)
	if err != nil {
		return err
	}
	l, err := st.str(n.list)
	if err != nil {
		return err
	}
	num = strings.Trim(num, " \t\n\r\f\v")
	if num == "" {
		return errorf("first argument of \"listextract\" must not be empty")
	}
	if strings.Trim(strings.TrimPrefix(num, "-"), "0123456789") != "" {
		return errorf("first argument of \"listextract\" must be numeric")
	}
	_, items := splitList(l)
	idx, err := strconv.Atoi(num)
	if err != nil && num != "-" {
		idx = 0
	}
	if idx < 0 {
		idx += len(items) + 1
	}
	val, found := "", false
	if idx > 0 && idx <= len(items) {
		val, found = items[idx-1], true
	}
	saved := st.value
	st.value = val
	defer func() { st.value = saved }()
	return n.yn.choose(st, "listextract", found, val, b)
}

// itemListquote is ${listquote{separator}{string}}: the separator (the
// first character of the first argument) is doubled, and an empty string
// becomes a single space.
func itemListquote(_ *state, _ string, a []string) (string, error) {
	if a[1] == "" {
		return " ", nil
	}
	if a[0] == "" {
		return a[1], nil
	}
	return lists.Quote(a[1], a[0][0]), nil
}
