package expand

import (
	"strings"

	"github.com/exigo-mta/exigo/internal/lists"
)

// logicConditions are and, or, the forall/forany family and the boolean
// tests. Spec: chapter "String expansions", sections "Expansion
// conditions" and "Combining expansion conditions".
var logicConditions = map[string]condDef{
	"and":          parseAndOr(true),
	"or":           parseAndOr(false),
	"forall":       parseForEach(true, eachListItem),
	"forany":       parseForEach(false, eachListItem),
	"forall_json":  parseForEach(true, jsonItems(false)),
	"forany_json":  parseForEach(false, jsonItems(false)),
	"forall_jsons": parseForEach(true, jsonItems(true)),
	"forany_jsons": parseForEach(false, jsonItems(true)),
	"bool":         stringArgs(1, func(_ *state, a []string) (bool, error) { return strictBool(a[0]) }),
	"bool_lax":     stringArgs(1, func(_ *state, a []string) (bool, error) { return laxBool(a[0]), nil }),
}

// andOrCond is and{{c1}{c2}...} or or{{c1}{c2}...}. Evaluation stops at
// the first subcondition that decides the result.
type andOrCond struct {
	and   bool
	conds []condition
	where string
}

func parseAndOr(and bool) condDef {
	return func(p *parser, name string) (condition, error) {
		c := &andOrCond{and: and, where: "\"" + name + "{...}\" condition"}
		p.skipSpace()
		if p.eof() || p.peek() != '{' {
			return nil, errorf("missing { after \"%s\"", name)
		}
		p.pos++
		for {
			p.skipSpace()
			if !p.eof() && p.peek() == '}' {
				p.pos++
				return c, nil
			}
			if p.eof() || p.peek() != '{' {
				return nil, errorf("each subcondition inside an \"%s{...}\" condition must be in its own {}", name)
			}
			p.pos++
			sub, err := subCondition(p)
			if err != nil {
				return nil, insideCond(err, c.where)
			}
			p.skipSpace()
			if p.eof() || p.peek() != '}' {
				return nil, errorf("missing } at end of condition inside \"%s\" group", name)
			}
			p.pos++
			c.conds = append(c.conds, sub)
		}
	}
}

func (c *andOrCond) test(st *state) (bool, error) {
	for _, sub := range c.conds {
		ok, err := sub.test(st)
		if err != nil {
			return false, insideCond(err, c.where)
		}
		if ok != c.and {
			return ok, nil
		}
	}
	return c.and, nil
}

// itemSource turns the expanded first argument of a forall/forany
// condition into its items, calling fn for each until fn says stop.
type itemSource func(list string, fn func(item string) (stop bool, err error)) error

// forEachCond is forall{list}{cond} or forany{list}{cond} and the JSON
// variants. $item is the current item, restored afterwards.
type forEachCond struct {
	all   bool
	name  string
	list  node
	cond  condition
	items itemSource
}

func parseForEach(all bool, items itemSource) condDef {
	return func(p *parser, name string) (condition, error) {
		list, ok, err := p.parseArg()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if !ok || p.eof() || p.peek() != '{' {
			return nil, errorf("missing { after \"%s\"", name)
		}
		p.pos++
		cond, err := subCondition(p)
		if err != nil {
			return nil, insideCond(err, "\""+name+"\" condition")
		}
		p.skipSpace()
		if p.eof() || p.peek() != '}' {
			return nil, errorf("missing } at end of condition inside \"%s\"", name)
		}
		p.pos++
		return &forEachCond{all: all, name: name, list: list, cond: cond, items: items}, nil
	}
}

func (c *forEachCond) test(st *state) (bool, error) {
	list, err := st.str(c.list)
	if err != nil {
		return false, err
	}
	saved := st.item
	defer func() { st.item = saved }()
	// An empty list makes both forall and forany false.
	result := false
	err = c.items(list, func(item string) (bool, error) {
		st.item = item
		ok, err := c.cond.test(st)
		if err != nil {
			return true, insideCond(err, "\""+c.name+"\" condition")
		}
		result = ok
		return ok != c.all, nil
	})
	if err != nil {
		return false, err
	}
	return result, nil
}

// eachListItem iterates over an Exim list (colon by default, "<c" changes
// the separator).
func eachListItem(list string, fn func(string) (bool, error)) error {
	sep, rest := lists.Separator(list, ':')
	for {
		item, r, ok := lists.Next(rest, sep)
		if !ok {
			return nil
		}
		rest = r
		if stop, err := fn(item); stop || err != nil {
			return err
		}
	}
}

// jsonItems iterates over the elements of a JSON array the way Exim does:
// elements are split at commas outside brackets and braces (quotes are
// not special), leading white space is skipped and trailing white space
// kept, and an empty element ends the array. With dewrap (the "jsons"
// variants) each element must be a JSON string, whose quotes are removed
// (escapes are left as they are).
func jsonItems(dewrap bool) itemSource {
	return func(list string, fn func(string) (bool, error)) error {
		s := strings.TrimLeft(list, " \t\n\r\f\v")
		if s == "" || s[0] != '[' {
			// Exim 4.96 crashes here; this is the text of ${extract json}.
			return errorf("missing '[' wrapping array for extract json")
		}
		i := 1
		for {
			for i < len(s) && isSpace(s[i]) {
				i++
			}
			if i >= len(s) {
				return errorf("missing ']' wrapping array for extract json")
			}
			if s[i] == ']' || s[i] == ',' {
				return nil
			}
			start, depth, last := i, 0, false
			for ; ; i++ {
				if i >= len(s) {
					return errorf("missing ']' wrapping array for extract json")
				}
				c := s[i]
				if c == '[' || c == '{' {
					depth++
				} else if (c == ']' || c == '}') && depth > 0 {
					depth--
				} else if depth == 0 && (c == ',' || c == ']') {
					last = c == ']'
					break
				}
			}
			item := s[start:i]
			i++
			if dewrap {
				var err error
				if item, err = jsonDewrap(item); err != nil {
					return err
				}
			}
			if stop, err := fn(item); stop || err != nil {
				return err
			}
			if last {
				return nil
			}
		}
	}
}

// jsonDewrap removes the quotes around a JSON string element.
func jsonDewrap(s string) (string, error) {
	s = strings.TrimLeft(s, " \t\n\r\f\v")
	bad := errorf("missing '\"' wrapping string result for extract jsons")
	if s == "" || s[0] != '"' {
		return "", bad
	}
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return s[1:i], nil
		}
	}
	return "", bad
}

// strictBool is the bool condition: true/yes/false/no in any case, or a
// decimal number (true when not zero); white space around is ignored and
// the empty string is false.
func strictBool(s string) (bool, error) {
	t := strings.Trim(s, " \t\n\r\f\v")
	switch strings.ToLower(t) {
	case "", "false", "no":
		return false, nil
	case "true", "yes":
		return true, nil
	}
	digits := strings.TrimPrefix(t, "-")
	nonzero := false
	for i := 0; i < len(digits); i++ {
		if !isDigit(digits[i]) {
			return false, errorf("unrecognised boolean value \"%s\"", t)
		}
		nonzero = nonzero || digits[i] != '0'
	}
	return nonzero, nil
}

// laxBool is the bool_lax condition: false for "", "false", "no" and "0"
// (any case, white space around ignored), true for anything else.
func laxBool(s string) bool {
	switch strings.ToLower(strings.Trim(s, " \t\n\r\f\v")) {
	case "", "false", "no", "0":
		return false
	}
	return true
}
