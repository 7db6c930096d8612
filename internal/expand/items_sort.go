package expand

import (
	"strconv"
	"strings"
)

// sortNode is ${sort{list}{comparator}{extractor}}.
// Spec: chapter "String expansions", section "Expansion items", ${sort...}.
type sortNode struct {
	list, extractor node
	extractorSrc    string
	less            func(a, b string) bool
}

// sortComparators are the conditions sort can order by: the numeric
// comparisons and lt, le, gt, ge with their caseless variants.
var sortComparators = map[string]func(a, b string) bool{
	"<":   numericLess(func(a, b int64) bool { return a < b }),
	"<=":  numericLess(func(a, b int64) bool { return a <= b }),
	">":   numericLess(func(a, b int64) bool { return a > b }),
	">=":  numericLess(func(a, b int64) bool { return a >= b }),
	"lt":  func(a, b string) bool { return a < b },
	"le":  func(a, b string) bool { return a <= b },
	"gt":  func(a, b string) bool { return a > b },
	"ge":  func(a, b string) bool { return a >= b },
	"lti": func(a, b string) bool { return strings.ToLower(a) < strings.ToLower(b) },
	"lei": func(a, b string) bool { return strings.ToLower(a) <= strings.ToLower(b) },
	"gti": func(a, b string) bool { return strings.ToLower(a) > strings.ToLower(b) },
	"gei": func(a, b string) bool { return strings.ToLower(a) >= strings.ToLower(b) },
}

// conditionNames are all of Exim 4.96's expansion condition names; sort
// tells a condition it cannot use ("comparator not handled") from a word
// that is no condition at all (an error with no text).
// Spec: chapter "String expansions", section "Expansion conditions".
var conditionNames = map[string]bool{
	"<": true, "<=": true, "=": true, "==": true, ">": true, ">=": true,
	"acl": true, "and": true, "bool": true, "bool_lax": true,
	"crypteq": true, "def": true, "eq": true, "eqi": true, "exists": true,
	"first_delivery": true, "forall": true, "forall_json": true,
	"forall_jsons": true, "forany": true, "forany_json": true,
	"forany_jsons": true, "ge": true, "gei": true, "gt": true, "gti": true,
	"inbound_srs": true, "inlist": true, "inlisti": true, "isip": true,
	"isip4": true, "isip6": true, "ldapauth": true, "le": true, "lei": true,
	"lt": true, "lti": true, "match": true, "match_address": true,
	"match_domain": true, "match_ip": true, "match_local_part": true,
	"or": true, "pam": true, "pwcheck": true, "queue_running": true,
	"radius": true, "saslauthd": true,
}

// numericLess compares as the numeric conditions do; a value that is not
// a number makes the comparison false.
func numericLess(cmp func(a, b int64) bool) func(a, b string) bool {
	return func(a, b string) bool {
		x, ok1 := conditionInt(a)
		y, ok2 := conditionInt(b)
		return ok1 && ok2 && cmp(x, y)
	}
}

// conditionInt reads a number as the numeric conditions do: optional
// white space and sign, decimal digits, an optional K, M or G multiplier,
// optional trailing white space; an empty string is zero.
func conditionInt(s string) (int64, bool) {
	t := strings.Trim(s, " \t\n\r\f\v")
	if t == "" {
		return 0, true
	}
	mult := int64(1)
	switch t[len(t)-1] {
	case 'k', 'K':
		mult = 1024
	case 'm', 'M':
		mult = 1024 * 1024
	case 'g', 'G':
		mult = 1024 * 1024 * 1024
	}
	if mult != 1 {
		t = t[:len(t)-1]
	}
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil {
		return 0, false
	}
	return v * mult, true
}

func parseSort(p *parser, name string) (node, error) {
	n := &sortNode{}
	list, err := p.needArg("list", name)
	if err != nil {
		return nil, err
	}
	n.list = list
	// The comparator is taken as written, up to the next "}".
	p.skipSpace()
	if p.eof() || p.peek() != '{' {
		return nil, errorf("missing '{' for comparator arg of %s", name)
	}
	p.pos++
	end := strings.IndexByte(p.rest(), '}')
	if end < 0 {
		return nil, errorf("missing } at end of string")
	}
	comp := p.rest()[:end]
	p.pos += end + 1
	if n.less, err = sortComparator(comp); err != nil {
		return nil, err
	}
	p.skipSpace()
	start := p.pos
	ext, err := p.needArg("extractor", name)
	if err != nil {
		return nil, err
	}
	n.extractor = ext
	n.extractorSrc = p.src[start+1 : p.pos-1]
	if err := p.closeItem(name); err != nil {
		return nil, err
	}
	return n, nil
}

// sortComparator finds the ordering named at the start of comp: a word,
// or "<", ">" or "=" with an optional "=" after it.
func sortComparator(comp string) (func(a, b string) bool, error) {
	i := 0
	switch {
	case comp != "" && (isAlnum(comp[0]) || comp[0] == '_'):
		for i < len(comp) && (isAlnum(comp[i]) || comp[i] == '_') {
			i++
		}
	case comp != "" && (comp[0] == '<' || comp[0] == '>' || comp[0] == '='):
		i = 1
		if i < len(comp) && comp[i] == '=' {
			i++
		}
	default:
		return nil, errorf("condition name expected, but found \"%s\"", comp)
	}
	name := comp[:i]
	if less, ok := sortComparators[name]; ok {
		return less, nil
	}
	if conditionNames[name] {
		return nil, errorf("comparator not handled for sort")
	}
	return nil, errorf("")
}

func (n *sortNode) eval(st *state, b *[]byte) error {
	l, err := st.str(n.list)
	if err != nil {
		return err
	}
	sep, items := splitList(l)
	type entry struct{ item, key string }
	var sorted []entry
	for _, it := range items {
		var key string
		err := st.withItem(it, func() error {
			var err error
			key, err = st.str(n.extractor)
			return err
		})
		if err != nil && !IsForced(err) {
			return err
		}
		if err != nil || key == "" {
			return errorf("field-extract in sort: \"%s\"", n.extractorSrc)
		}
		// Insert before the first entry the new one sorts before.
		pos := len(sorted)
		for i, e := range sorted {
			if n.less(key, e.key) {
				pos = i
				break
			}
		}
		sorted = append(sorted, entry{})
		copy(sorted[pos+1:], sorted[pos:])
		sorted[pos] = entry{it, key}
	}
	out := make([]string, len(sorted))
	for i, e := range sorted {
		out[i] = e.item
	}
	*b = append(*b, joinList(sep, out)...)
	return nil
}
