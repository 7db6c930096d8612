package expand

import (
	"strconv"
	"strings"
)

// extractNode is ${extract{key}{string}{yes}{no}},
// ${extract{n}{separators}{string}{yes}{no}} and their "json" and "jsons"
// forms. Spec: chapter "String expansions", section "Expansion items",
// ${extract...}.
//
// Whether the first argument is a number decides how many arguments come
// before the yes/no part, and it is known only once the argument is
// expanded. So the item is read loosely here (up to five arguments and an
// optional "fail", as Exim reads it in a branch it skips) and the strict
// checks are made when it is evaluated, with the positions kept for the
// error texts.
type extractNode struct {
	json    int // 0 plain, 1 json, 2 jsons
	args    []node
	starts  []int // source offset of each argument's "{"
	fail    bool
	failPos int // source offset of "fail"
	src     string
}

const extractMaxArgs = 5

func parseExtract(p *parser, name string) (node, error) {
	n := &extractNode{src: p.src}
	p.skipSpace()
	if strings.HasPrefix(p.rest(), "json") {
		p.pos += 4
		n.json = 1
		if !p.eof() && p.peek() == 's' {
			p.pos++
			n.json = 2
		}
	}
	for len(n.args) < extractMaxArgs {
		p.skipSpace()
		start := p.pos
		a, ok, err := p.parseArg()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		n.args = append(n.args, a)
		n.starts = append(n.starts, start)
	}
	p.skipSpace()
	if strings.HasPrefix(p.rest(), "fail") {
		n.fail = true
		n.failPos = p.pos
		p.pos += 4
		p.skipSpace()
	}
	if !p.eof() && p.peek() == '}' {
		p.pos++
		return n, nil
	}
	// Exim, not skipping, would have failed somewhere in here: give the
	// error it gives, judging the first argument by its literal text.
	numeric := false
	if len(n.args) > 0 {
		if t, ok := n.args[0].(text); ok {
			numeric = extractIsNumber(string(t))
		}
	}
	if err := n.checkSyntax(numeric, p.pos); err != nil {
		return nil, err
	}
	return nil, errorf("missing '}' closing extract")
}

// checkSyntax reports the error Exim gives for the arguments read, given
// whether the key is numeric. end is where reading stopped, or -1 when the
// item was closed by its "}".
func (n *extractNode) checkSyntax(numeric bool, end int) error {
	need := 2
	if numeric && n.json == 0 {
		need = 3
	}
	if err := n.checkArgs(numeric); err != nil {
		return err
	}
	closed := end < 0
	rest := ""
	if !closed {
		rest = n.src[end:]
	}
	switch extra := len(n.args) - need; {
	case extra == 0:
		if n.fail {
			return yesNoError("'yes' part did not start with '{'", n.src[n.failPos:])
		}
		if !closed {
			return yesNoError("'yes' part did not start with '{'", rest)
		}
	case extra == 1:
		switch {
		case closed:
		case n.fail && rest == "":
			return yesNoError("did not close with '}' after forcedfail", "")
		case n.fail:
			return yesNoError("did not close with '}'", rest)
		default:
			return errorf("syntax error in \"extract\" item - \"fail\" expected")
		}
	case extra == 2:
		if n.fail {
			return yesNoError("did not close with '}'", n.src[n.failPos:])
		}
		if !closed {
			return yesNoError("did not close with '}'", rest)
		}
	default:
		return yesNoError("did not close with '}'", n.src[n.starts[need+2]:])
	}
	return nil
}

// checkArgs reports a missing argument before the yes/no part.
func (n *extractNode) checkArgs(numeric bool) error {
	need := 2
	if numeric && n.json == 0 {
		need = 3
	}
	if len(n.args) < need {
		return errorf("missing '{' for arg %d of extract", len(n.args)+1)
	}
	return nil
}

func yesNoError(what, rest string) error {
	return errorf("curly-bracket problem in conditional yes/no parsing: %s\n remaining string is '%s'", what, rest)
}

// extractIsNumber reports whether an extract key selects a field by
// number: an optional minus and digits, with white space around.
func extractIsNumber(s string) bool {
	s = strings.Trim(s, " \t\n\r\f\v")
	if s == "" {
		return false
	}
	s = strings.TrimPrefix(s, "-")
	return strings.Trim(s, "0123456789") == ""
}

func (n *extractNode) eval(st *state, b *[]byte) error {
	if len(n.args) == 0 {
		return n.checkArgs(false)
	}
	key, err := st.str(n.args[0])
	if err != nil {
		return err
	}
	numeric := extractIsNumber(key)
	if err := n.checkArgs(numeric); err != nil {
		return err
	}
	need := 2
	if numeric && n.json == 0 {
		need = 3
	}
	args := []string{key}
	for _, a := range n.args[1:need] {
		s, err := st.str(a)
		if err != nil {
			return err
		}
		args = append(args, s)
	}
	var val string
	var found bool
	switch {
	case numeric && n.json == 0:
		val, found = extractField(extractInt(key), args[1], args[2])
	case numeric:
		idx := extractInt(key)
		if idx <= 0 {
			return errorf("first argument of \"extract\" must be greater than zero")
		}
		val, found, err = jsonElement(args[1], idx, n.json == 2)
	default:
		key = strings.Trim(key, " \t\n\r\f\v")
		if key == "" {
			return errorf("first argument of \"extract\" must not be empty")
		}
		if n.json != 0 {
			val, found, err = jsonMember(args[1], key, n.json == 2)
		} else {
			val, found = extractKeyed(key, args[1])
		}
	}
	if err != nil {
		return err
	}
	if err := n.checkSyntax(numeric, -1); err != nil {
		return err
	}
	yn := yesNo{fail: n.fail}
	if len(n.args) > need {
		yn.yes = n.args[need]
	}
	if len(n.args) > need+1 {
		yn.no = n.args[need+1]
	}
	saved := st.value
	st.value = val
	defer func() { st.value = saved }()
	return yn.choose(st, "extract", found, val, b)
}

// extractInt converts a numeric extract key; out-of-range values select
// nothing.
func extractInt(s string) int {
	v, err := strconv.Atoi(strings.Trim(s, " \t\n\r\f\v"))
	if err != nil {
		if strings.Trim(s, " \t\n\r\f\v-") == "" {
			return 0
		}
		return 1 << 40
	}
	return v
}

// extractField returns field n of s, fields being separated by any of the
// characters in seps; negative n counts from the end and 0 is all of s.
func extractField(n int, seps, s string) (string, bool) {
	if n == 0 {
		return s, true
	}
	var fields []string
	start := 0
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(seps, s[i]) >= 0 {
			fields = append(fields, s[start:i])
			start = i + 1
		}
	}
	fields = append(fields, s[start:])
	if n < 0 {
		n += len(fields) + 1
		if n <= 0 {
			return "", false
		}
	}
	if n > len(fields) {
		return "", false
	}
	return fields[n-1], true
}

// extractKeyed finds key (caselessly) in "key1 = value1 key2 = value2 ...",
// where "=" and the spaces around it are optional, and values containing
// white space are in double quotes, with backslash escapes.
func extractKeyed(key, s string) (string, bool) {
	i := 0
	for {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) {
			return "", false
		}
		ks := i
		for i < len(s) && !isSpace(s[i]) && s[i] != '=' {
			i++
		}
		k := s[ks:i]
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i < len(s) && s[i] == '=' {
			i++
			for i < len(s) && isSpace(s[i]) {
				i++
			}
		}
		var val strings.Builder
		if i < len(s) && s[i] == '"' {
			i++
			for i < len(s) && s[i] != '"' {
				if s[i] == '\\' && i+1 < len(s) {
					r, n := interpretEscape(s[i+1:])
					val.WriteString(r)
					i += 1 + n
					continue
				}
				val.WriteByte(s[i])
				i++
			}
			if i < len(s) {
				i++
			}
		} else {
			vs := i
			for i < len(s) && !isSpace(s[i]) {
				i++
			}
			val.WriteString(s[vs:i])
		}
		if strings.EqualFold(k, key) {
			return val.String(), true
		}
	}
}
