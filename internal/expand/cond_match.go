package expand

import (
	"strings"

	"github.com/exigo-mta/exigo/internal/lists"
)

// matchConditions are the regular expression and list matching
// conditions. Spec: chapter "String expansions", section "Expansion
// conditions".
var matchConditions = map[string]condDef{
	"match":            stringArgs(2, testMatch),
	"match_address":    listMatch("address"),
	"match_domain":     listMatch("domain"),
	"match_ip":         listMatch("host"),
	"match_local_part": listMatch("localpart"),
	"inlist":           stringArgs(2, func(st *state, a []string) (bool, error) { return inList(st, a, false), nil }),
	"inlisti":          stringArgs(2, func(st *state, a []string) (bool, error) { return inList(st, a, true), nil }),
}

// ListMatcherVars is implemented by a ListMatcher whose matches can set
// the numeric variables $0, $1... (regular expression items do). The
// match_* conditions use it when the Context's Lists has it.
type ListMatcherVars interface {
	MatchListVars(kind, list, subject string) (matched bool, data string, vars []string, err error)
}

// testMatch is match{subject}{regex}: PCRE matching; a match sets $0..
func testMatch(st *state, a []string) (bool, error) {
	re, err := compileRegex(a[1])
	if err != nil {
		return false, err
	}
	groups, ok, err := re.Match(a[0])
	if err != nil {
		return false, errorf("%v", err)
	}
	if ok {
		st.numeric = groups
	}
	return ok, nil
}

// listMatchCond is match_domain, match_address, match_local_part or
// match_ip: the first argument is expanded, the second (the list) is
// not, though backslash escapes in it are interpreted.
type listMatchCond struct {
	kind    string
	subject node
	list    string
}

func listMatch(kind string) condDef {
	return func(p *parser, name string) (condition, error) {
		subject, ok, err := p.parseArg()
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errorf("missing { after \"%s\"", name)
		}
		list, ok, err := p.parseRawArg()
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errorf("missing 2nd string in {} after \"%s\"", name)
		}
		return &listMatchCond{kind: kind, subject: subject, list: list}, nil
	}
}

// parseRawArg reads a "{...}" argument without expanding it: "$" is
// plain text, backslash escapes (and \N...\N) are interpreted, and the
// first unescaped "}" ends it.
func (p *parser) parseRawArg() (string, bool, error) {
	p.skipSpace()
	if p.eof() || p.peek() != '{' {
		return "", false, nil
	}
	p.pos++
	var b strings.Builder
	for !p.eof() {
		c := p.peek()
		switch c {
		case '}':
			p.pos++
			return b.String(), true, nil
		case '\\':
			if err := p.escape(&b); err != nil {
				return "", true, err
			}
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
	return "", true, errorf("missing } at end of string")
}

func (c *listMatchCond) test(st *state) (bool, error) {
	subject, err := st.str(c.subject)
	if err != nil {
		return false, err
	}
	if c.kind == "host" && subject != "" && !isIP(subject, true, true) {
		return false, errorf("\"%s\" is not an IP address", subject)
	}
	lm := st.ctx.Lists
	if lm == nil {
		lm = plainLists{}
	}
	var (
		ok   bool
		data string
		vars []string
	)
	if lv, has := lm.(ListMatcherVars); has {
		ok, data, vars, err = lv.MatchListVars(c.kind, c.list, subject)
	} else {
		ok, data, err = lm.MatchList(c.kind, c.list, subject)
	}
	if err != nil {
		return false, errorf("%v", err)
	}
	if ok {
		st.value = data
		if vars != nil {
			st.numeric = vars
		}
	}
	return ok, nil
}

// plainLists is the list matcher used when the Context has none: items
// are plain strings (domains and addresses compared caselessly).
type plainLists struct{}

func (plainLists) MatchList(kind, list, subject string) (bool, string, error) {
	caseless := kind != "localpart" && kind != "string"
	for _, item := range lists.Split(list, ':') {
		if item == subject || caseless && asciiLower(item) == asciiLower(subject) {
			return true, item, nil
		}
	}
	return false, "", nil
}

// inList is inlist / inlisti: whether the first string is an item of the
// list (plain strings only); $value becomes the matching item.
func inList(st *state, a []string, caseless bool) bool {
	for _, item := range lists.Split(a[1], ':') {
		if item == a[0] || caseless && asciiLower(item) == asciiLower(a[0]) {
			st.value = item
			return true
		}
	}
	return false
}
