package tools

import (
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/dlclark/regexp2"
)

// # Criteria
//
// A criterion is "VARIABLE OPERATOR VALUE" or a lone boolean
// "VARIABLE", either optionally preceded by "!" (spec chapter "Exim
// utilities", exipick; exipick's manual, CRITERIA and OPERATORS). The
// variable ends at the first run of white space that is followed by an
// operator and more white space; the value is the rest of the argument.
// Numeric operators: < <= > >= == !=, with a number optionally
// suffixed d h m s M K B. String operators: eq ne (exact), = (the value
// is a regular expression, caseless unless --caseful), =~ and !~ (the
// value is a Perl match literal such as /re/i or m{re}).

// ruleKind is what a criterion tests.
type ruleKind int

const (
	ruleBool ruleKind = iota
	ruleNum
	ruleEq
	ruleNe
	ruleMatch
	ruleNoMatch
)

// pickRule is one parsed criterion.
type pickRule struct {
	// name is the variable as written, lower-cased ("$message_size").
	name string
	// key is the variable looked up (name without its "$").
	key  string
	kind ruleKind
	neg  bool
	// op and text are the operator and the value as shown by
	// --show-rules; num is the numeric value.
	op, text string
	num      float64
	// str is the value of eq and ne as Perl reads the string.
	str string
	// re is the compiled pattern of a match; bad is set (to Perl's
	// complaint, with %d for the eval's number) when the test would not
	// compile in Perl, so that it fails on every message.
	re  *regexp2.Regexp
	bad string
}

// maxCriterion caps the length of a criterion the parser accepts.
const maxCriterion = 64 << 10

// criterionRE splits a comparison: the shortest variable that is
// followed by white space, an operator and white space.
var criterionRE = lazyRegexp(`^(.+?)\s+(<=|>=|==|!=|<|>|=~|!~|=|eq|ne)\s+(.*)$`)

// numberRE is a value a numeric comparison accepts.
var numberRE = lazyRegexp(`^(-?[\d.]+)([dhmsMKB]?)$`)

// perlLiteralRE is a number Perl reads as a literal in an expression.
var perlLiteralRE = lazyRegexp(`^-?(\d+\.?\d*|\.\d+)$`)

// vstringRE is a Perl v-string literal (digits and two or more dots).
var vstringRE = lazyRegexp(`^\d+(\.\d+){2,}$`)

// perlWordRE is a bareword.
var perlWordRE = lazyRegexp(`^[A-Za-z_]\w*$`)

// perlSyntaxError is the complaint of Perl's eval for an expression it
// cannot compile, for the cases whose exact text is not reproduced. %d
// is the number of the eval (see picker.evals).
const perlSyntaxError = "syntax error at (eval %d) line 1, at EOF\n"

// errNotParse is returned for a criterion that has no recognisable shape.
var errNotParse = errors.New("did not parse")

// parseRule parses one exipick criterion. The error text is
// exipick's: "Expression ... did not parse[: reason]".
func parseRule(c string, caseful bool) (*pickRule, error) {
	r, err := parseCriterion(c, caseful)
	if err != nil {
		msg := "Expression " + c + " did not parse"
		if err != errNotParse {
			msg += ": " + err.Error()
		}
		return nil, errors.New(msg)
	}
	return r, nil
}

func parseCriterion(c string, caseful bool) (*pickRule, error) {
	if c == "" || len(c) > maxCriterion {
		return nil, errNotParse
	}
	r := &pickRule{}
	body := c
	if strings.HasPrefix(body, "!") {
		r.neg = true
		body = body[1:]
	}
	m := criterionRE().FindStringSubmatch(body)
	if m == nil {
		if strings.ContainsAny(body, " \t\n\r\f\v") {
			return nil, errNotParse
		}
		r.setName(body)
		return r, nil
	}
	r.setName(m[1])
	r.op, r.text = m[2], m[3]
	switch r.op {
	case "<", "<=", ">", ">=", "==", "!=":
		r.kind = ruleNum
		return r, r.parseNumber()
	case "eq", "ne":
		r.kind = ruleEq
		if r.op == "ne" {
			r.kind = ruleNe
		}
		if len(r.text) >= 2 && (r.text[0] == '"' || r.text[0] == '\'') && r.text[len(r.text)-1] == r.text[0] {
			r.text = r.text[1 : len(r.text)-1]
		}
		// Every "@" is escaped, and the value read as a Perl string.
		r.text = strings.ReplaceAll(r.text, "@", `\@`)
		if sym := globalSymbol(r.text); sym != "" {
			r.bad = globalSymbolError(sym)
		}
		r.str = perlUnquote(dropSortVars(r.text))
	case "=":
		r.kind = ruleMatch
		flags := "i"
		if caseful {
			flags = ""
		}
		r.op = "=~"
		r.text = "/" + r.text + "/" + flags
		r.text = strings.ReplaceAll(r.text, "@", `\@`)
		r.compile()
	case "=~", "!~":
		r.kind = ruleMatch
		if r.op == "!~" {
			r.kind = ruleNoMatch
		}
		r.text = strings.ReplaceAll(r.text, "@", `\@`)
		r.compile()
	}
	return r, nil
}

// setName sets the shown name and the looked-up key of the variable.
func (r *pickRule) setName(v string) {
	r.name = strings.ToLower(v)
	r.key = strings.TrimPrefix(r.name, "$")
}

// parseNumber reads the value of a numeric comparison: a suffix
// multiplies (d, h, m, s, M, K, B) and the product is shown as Perl
// prints numbers; without one the value is shown as written.
func (r *pickRule) parseNumber() error {
	m := numberRE().FindStringSubmatch(r.text)
	if m == nil {
		return errors.New("numeric comparison with non-number")
	}
	if m[2] == "" {
		if vstringRE().MatchString(r.text) {
			// 1.2.3 is a Perl v-string, which is 0 as a number.
			return nil
		}
		if !perlLiteralRE().MatchString(r.text) {
			r.bad = perlSyntaxError
			switch {
			case strings.HasPrefix(r.text, ".."):
				r.bad = `syntax error at (eval %d) line 1, near "> .."` + "\n"
			case strings.HasPrefix(r.text, "."):
				r.bad = `syntax error at (eval %d) line 1, near "> ."` + "\n"
			}
			return nil
		}
		r.num = perlNum(r.text)
		if d := strings.TrimPrefix(r.text, "-"); len(d) > 1 && d[0] == '0' && !strings.Contains(d, ".") {
			// A Perl literal with a leading zero is octal.
			v, err := strconv.ParseInt(d, 8, 64)
			if err != nil {
				if i := strings.IndexAny(d, "89"); i >= 0 {
					r.bad = "Illegal octal digit '" + d[i:i+1] + "' at (eval %d) line 1, at end of line\n"
				} else {
					r.bad = perlSyntaxError
				}
				return nil
			}
			r.num = float64(v)
			if r.text[0] == '-' {
				r.num = -r.num
			}
		}
		return nil
	}
	mult := map[string]float64{"d": 86400, "h": 3600, "m": 60, "s": 1, "M": 1048576, "K": 1024, "B": 1}[m[2]]
	base := perlNum(m[1])
	r.num = base * mult
	digits := strings.TrimPrefix(m[1], "-")
	if !strings.Contains(digits, ".") && digits != "" {
		if v, err := strconv.ParseInt(m[1], 10, 64); err == nil {
			if p := v * int64(mult); p/int64(mult) == v {
				r.text = strconv.FormatInt(p, 10)
				return nil
			}
		}
	}
	r.text = perlFormat(r.num)
	return nil
}

// compile compiles the Perl match literal in r.text ("/re/flags" or
// "m{re}flags"); a literal Perl would reject marks the rule bad.
func (r *pickRule) compile() {
	pat, flags, ok := splitMatch(r.text)
	if ok {
		if sym := globalSymbol(pat); sym != "" {
			r.bad = globalSymbolError(sym)
			return
		}
		pat = dropSortVars(pat)
	}
	switch {
	case ok:
	case perlLiteralRE().MatchString(r.text):
		// A number stands for the pattern of its digits.
		pat = perlFormat(perlNum(r.text))
	case perlWordRE().MatchString(r.text):
		r.bad = `Bareword "` + r.text + `" not allowed while "strict subs" in use at (eval %d) line 1.` + "\n"
		return
	case strings.HasPrefix(r.text, "/") || strings.HasPrefix(r.text, "m") && len(r.text) > 1 && !isWordByte(r.text[1]):
		r.bad = "Search pattern not terminated at (eval %d) line 1.\n"
		return
	default:
		r.bad = perlSyntaxError
		return
	}
	var opt regexp2.RegexOptions
	for _, f := range flags {
		switch f {
		case 'i':
			opt |= regexp2.IgnoreCase
		case 'm':
			opt |= regexp2.Multiline
		case 's':
			opt |= regexp2.Singleline
		case 'x':
			opt |= regexp2.IgnorePatternWhitespace
		case 'o', 'g', 'c', 'p', 'a', 'u', 'l', 'd', 'n':
		default:
			r.bad = `Unknown regexp modifier "/` + string(f) + `" at (eval %d) line 1, at end of line` + "\n"
			return
		}
	}
	re, err := regexp2.Compile(pat, opt)
	if err != nil {
		r.bad = "Invalid regular expression: " + err.Error() + " at (eval %d) line 1.\n"
		return
	}
	re.MatchTimeout = regexTimeout
	r.re = re
}

// splitMatch splits a Perl match literal into pattern and flags.
func splitMatch(s string) (pat, flags string, ok bool) {
	open := byte('/')
	switch {
	case strings.HasPrefix(s, "/"):
		s = s[1:]
	case len(s) >= 2 && s[0] == 'm' && !isWordByte(s[1]) && s[1] != ' ' && s[1] != '\t' && s[1] != '\n':
		open = s[1]
		s = s[2:]
	default:
		return "", "", false
	}
	close := open
	switch open {
	case '{':
		close = '}'
	case '(':
		close = ')'
	case '[':
		close = ']'
	case '<':
		close = '>'
	}
	depth := 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\':
			i++
		case s[i] == open && open != close:
			depth++
		case s[i] == close:
			if depth > 0 {
				depth--
				continue
			}
			flags = s[i+1:]
			for j := 0; j < len(flags); j++ {
				if !(flags[j] >= 'a' && flags[j] <= 'z' || flags[j] >= 'A' && flags[j] <= 'Z') {
					return "", "", false
				}
			}
			return s[:i], flags, true
		}
	}
	return "", "", false
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// display is the Perl test exipick shows for the rule (--show-rules,
// --show-tests); not inverts the outcome as --not does.
func (r *pickRule) display(not bool) string {
	var e string
	switch r.kind {
	case ruleBool:
		e = "($var)"
	case ruleNum:
		e = "($var " + r.op + " " + r.text + ")"
	case ruleEq, ruleNe:
		e = `("$var" ` + r.op + ` "` + r.text + `")`
	default:
		e = `("$var" ` + r.op + ` ` + r.text + `)`
	}
	if r.neg != not {
		return e + " ? 0 : 1"
	}
	return e + " ? 1 : 0"
}

// test applies the rule to a variable's value (v; defined says whether
// the variable has one), --not included.
func (r *pickRule) test(v string, not bool) bool {
	var ok bool
	switch r.kind {
	case ruleBool:
		ok = v != "" && v != "0"
	case ruleNum:
		if r.bad != "" {
			return false
		}
		a := perlNum(v)
		switch r.op {
		case "<":
			ok = a < r.num
		case "<=":
			ok = a <= r.num
		case ">":
			ok = a > r.num
		case ">=":
			ok = a >= r.num
		case "==":
			ok = a == r.num
		case "!=":
			ok = a != r.num
		}
	case ruleEq:
		ok = v == r.str
	case ruleNe:
		ok = v != r.str
	case ruleMatch, ruleNoMatch:
		if r.re == nil {
			return false
		}
		m, err := r.re.MatchString(v)
		if err != nil {
			return false
		}
		ok = m == (r.kind == ruleMatch)
	}
	return ok != (r.neg != not)
}

// globalSymbol returns the first variable Perl would interpolate into
// a double-quoted string or pattern and reject under "use strict"
// ("@name", or "$name" other than $a and $b), or "".
func globalSymbol(s string) string {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '@', '$':
			j := i + 1
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			if j == i+1 || s[i+1] >= '0' && s[i+1] <= '9' {
				continue
			}
			name := s[i+1 : j]
			if s[i] == '$' && (name == "a" || name == "b") {
				continue
			}
			return s[i:j]
		}
	}
	return ""
}

// globalSymbolError is Perl's complaint about sym under "use strict".
func globalSymbolError(sym string) string {
	return `Global symbol "` + sym + `" requires explicit package name (did you forget to declare "my ` +
		sym + `"?) at (eval %d) line 1.` + "\n"
}

// dropSortVars removes "$a" and "$b", which Perl interpolates as empty.
func dropSortVars(s string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			b.WriteString(s[i : i+2])
			i++
			continue
		}
		if s[i] == '$' && i+1 < len(s) && (s[i+1] == 'a' || s[i+1] == 'b') && (i+2 == len(s) || !isWordByte(s[i+2])) {
			i++
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// perlUnquote reads s as the inside of a Perl double-quoted string:
// backslash escapes are replaced (variables are not interpolated).
func perlUnquote(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		case 'b':
			b.WriteByte('\b')
		case 'a':
			b.WriteByte('\a')
		case 'e':
			b.WriteByte(0x1b)
		case '0':
			b.WriteByte(0)
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// perlNum is the number Perl reads from a string: leading white space,
// a sign, digits, a fraction and an exponent; 0 when there are none.
func perlNum(s string) float64 {
	s = strings.TrimLeft(s, " \t\n\r\f\v")
	m := perlNumRE().FindString(s)
	if m == "" {
		return 0
	}
	if strings.EqualFold(strings.TrimLeft(m, "+-"), "inf") || strings.EqualFold(strings.TrimLeft(m, "+-"), "infinity") {
		if m[0] == '-' {
			return math.Inf(-1)
		}
		return math.Inf(1)
	}
	f, err := strconv.ParseFloat(m, 64)
	if err != nil {
		if m == "." || m == "-." || m == "+." || m == "-" || m == "+" {
			return 0
		}
		f, _ = strconv.ParseFloat(strings.TrimRight(m, "eE+-"), 64)
	}
	return f
}

var perlNumRE = lazyRegexp(`^[+-]?(?i:inf(inity)?|(\d+\.?\d*|\.\d+)(e[+-]?\d+)?)`)

// perlFormat prints a number as Perl does (%.15g).
func perlFormat(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	s := strconv.FormatFloat(f, 'g', 15, 64)
	if strings.ContainsAny(s, "e") {
		mant, exp, _ := strings.Cut(s, "e")
		if strings.Contains(mant, ".") {
			mant = strings.TrimRight(strings.TrimRight(mant, "0"), ".")
		}
		sign := exp[0]
		exp = strings.TrimLeft(exp[1:], "0")
		if len(exp) < 2 {
			exp = strings.Repeat("0", 2-len(exp)) + exp
		}
		return mant + "e" + string(sign) + exp
	}
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// rules builds the criteria of a command line: the arguments, then
// those -f, -r, -s, -y, -o, -z and -x stand for, in that order.
func (x *Exipick) rules() ([]*pickRule, error) {
	cs := append([]string(nil), x.Criteria...)
	add := func(p *string, format string) {
		if p != nil {
			cs = append(cs, strings.Replace(format, "%s", *p, 1))
		}
	}
	add(x.Sender, "$sender_address =~ /%s/")
	add(x.Recipient, "$recipients =~ /%s/")
	add(x.Size, "$shown_message_size eq %s")
	add(x.Younger, "$message_age        <  %s")
	add(x.Older, "$message_age        >  %s")
	if x.Frozen {
		cs = append(cs, "$deliver_freeze")
	}
	if x.NotFrozen {
		cs = append(cs, "!$deliver_freeze")
	}
	var out []*pickRule
	for _, c := range cs {
		r, err := parseRule(c, x.Caseful)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// regexTimeout bounds one regular expression match.
const regexTimeout = 5e9
