package expand

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dlclark/regexp2"
)

// pcreRe is a regular expression with PCRE2's behaviour as Exim uses it:
// byte-oriented (not UTF-8 aware), with PCRE syntax that the engine lacks
// (\Q...\E, (?P<name>...), POSIX classes, possessive quantifiers)
// rewritten, and PCRE2's texts for common syntax errors.
type pcreRe struct {
	re *regexp2.Regexp
}

// pcreCache holds compiled expressions by pattern.
var pcreCache sync.Map // string -> *pcreRe

// pcreTimeout bounds one match, so that a pathological pattern cannot
// hang a delivery.
const pcreTimeout = 5 * time.Second

// compilePCRE compiles pattern, with Exim's error text for a bad one:
// regular expression error in "PATTERN": TEXT at offset N.
func compilePCRE(pattern string) (*pcreRe, error) {
	if re, ok := pcreCache.Load(pattern); ok {
		return re.(*pcreRe), nil
	}
	translated, msg, off := translatePCRE(pattern)
	if msg != "" {
		return nil, errorf("regular expression error in \"%s\": %s at offset %d", pattern, msg, off)
	}
	re, err := regexp2.Compile(bytesToRunes(translated), regexp2.None)
	if err != nil {
		return nil, errorf("regular expression error in \"%s\": %s at offset %d", pattern, engineErrorText(err), len(pattern))
	}
	re.MatchTimeout = pcreTimeout
	p := &pcreRe{re: re}
	pcreCache.Store(pattern, p)
	return p, nil
}

// match applies the expression to s and returns $0, $1... on success.
func (p *pcreRe) match(s string) ([]string, bool, error) {
	m, err := p.re.FindStringMatch(bytesToRunes(s))
	if err != nil || m == nil {
		return nil, false, err
	}
	groups := m.Groups()
	out := make([]string, len(groups))
	for i, g := range groups {
		if len(g.Captures) > 0 {
			out[i] = runesToBytes(g.String())
		}
	}
	return out, true, nil
}

// bytesToRunes maps each byte to the rune of the same value, so that the
// engine sees bytes as Exim's PCRE does.
func bytesToRunes(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	r := make([]rune, len(s))
	for i := 0; i < len(s); i++ {
		r[i] = rune(s[i])
	}
	return string(r)
}

// runesToBytes undoes bytesToRunes.
func runesToBytes(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		b = append(b, byte(r))
	}
	return string(b)
}

// engineErrorText gives the engine's error without its decoration.
func engineErrorText(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, "error parsing regexp: ")
	if i := strings.LastIndex(s, " in `"); i >= 0 {
		s = s[:i]
	}
	return s
}

// posixClasses are the [:name:] classes and their ASCII members.
var posixClasses = map[string]string{
	"alnum": `a-zA-Z0-9`, "alpha": `a-zA-Z`, "ascii": `\x00-\x7f`,
	"blank": ` \t`, "cntrl": `\x00-\x1f\x7f`, "digit": `0-9`,
	"graph": `!-~`, "lower": `a-z`, "print": ` -~`,
	"punct": `!-/:-@\[-` + "`" + `{-~`, "space": `\t-\r `,
	"upper": `A-Z`, "word": `a-zA-Z0-9_`, "xdigit": `0-9A-Fa-f`,
}

// translatePCRE rewrites PCRE syntax the engine lacks and finds the
// syntax errors PCRE2 reports most often, returning PCRE2's text and
// offset for them.
func translatePCRE(p string) (out, msg string, off int) {
	var b strings.Builder
	depth := 0
	var groupStarts []int
	atomStart := -1 // index in b of the last repeatable item, -1 if none
	lastQuant := false
	for i := 0; i < len(p); {
		c := p[i]
		switch {
		case c == '\\':
			if i+1 >= len(p) {
				return "", "\\ at end of pattern", i + 1
			}
			n := p[i+1]
			switch n {
			case 'Q':
				end := strings.Index(p[i+2:], `\E`)
				lit := p[i+2:]
				next := len(p)
				if end >= 0 {
					lit = p[i+2 : i+2+end]
					next = i + 2 + end + 2
				}
				for j := 0; j < len(lit); j++ {
					atomStart = b.Len()
					b.WriteString(regexp2.Escape(lit[j : j+1]))
				}
				i = next
				lastQuant = false
				continue
			case 'E':
				i += 2
				continue
			case 'c':
				if i+2 >= len(p) {
					return "", "\\c at end of pattern", i + 2
				}
			}
			atomStart = b.Len()
			b.WriteString(p[i : i+2])
			i += 2
			lastQuant = false
			continue
		case c == '[':
			end, cls, m, o := translateClass(p, i)
			if m != "" {
				return "", m, o
			}
			atomStart = b.Len()
			b.WriteString(cls)
			i = end
			lastQuant = false
			continue
		case c == '(':
			if strings.HasPrefix(p[i:], "(?#") {
				end := strings.IndexByte(p[i:], ')')
				if end < 0 {
					return "", "missing ) after (?# comment", len(p)
				}
				i += end + 1
				continue
			}
			if strings.HasPrefix(p[i:], "(?P=") {
				if end := strings.IndexByte(p[i:], ')'); end > 0 {
					atomStart = b.Len()
					b.WriteString(`\k<` + p[i+4:i+end] + `>`)
					i += end + 1
					lastQuant = false
					continue
				}
			}
			if strings.HasPrefix(p[i:], "(?") && i+2 < len(p) && !strings.ContainsRune("<=!>:|#'-imnsxUJ)^P&+R0123456789C(", rune(p[i+2])) {
				return "", "unrecognized character after (? or (?-", i + 2
			}
			depth++
			groupStarts = append(groupStarts, b.Len())
			switch {
			case strings.HasPrefix(p[i:], "(?P<"):
				b.WriteString("(?<")
				i += 4
			case strings.HasPrefix(p[i:], "(?"):
				// Copy the group's kind so that its "?" is not taken for
				// a quantifier: (?: (?= (?! (?> (?| (?<= (?<! (?<name>
				// and option settings such as (?i) or (?i-m:.
				j := i + 2
				switch {
				case j < len(p) && p[j] == '<' && j+1 < len(p) && (p[j+1] == '=' || p[j+1] == '!'):
					j += 2
				case j < len(p) && (p[j] == '<' || p[j] == '\''):
					if k := strings.IndexAny(p[j+1:], ">'"); k >= 0 {
						j += k + 2
					}
				case j < len(p) && strings.IndexByte(":=!>|", p[j]) >= 0:
					j++
				default:
					for j < len(p) && (isAlnum(p[j]) || p[j] == '-' || p[j] == '^') {
						j++
					}
					if j < len(p) && p[j] == ':' {
						j++
					}
				}
				b.WriteString(p[i:j])
				i = j
			default:
				b.WriteByte('(')
				i++
			}
			atomStart = -1
			lastQuant = false
			continue
		case c == ')':
			if depth == 0 {
				return "", "unmatched closing parenthesis", i
			}
			depth--
			b.WriteByte(c)
			atomStart = groupStarts[len(groupStarts)-1]
			groupStarts = groupStarts[:len(groupStarts)-1]
			i++
			lastQuant = false
			continue
		case c == '*' || c == '+' || c == '?' || c == '{' && isQuantifier(p[i:]):
			qlen := 1
			if c == '{' {
				qlen = strings.IndexByte(p[i:], '}') + 1
				lo, hi, ok := quantBounds(p[i+1 : i+qlen-1])
				if ok && hi >= 0 && hi < lo {
					return "", "numbers out of order in {} quantifier", i + qlen - 1
				}
			}
			if lastQuant && (c == '+' || c == '?') {
				if c == '+' && atomStart >= 0 {
					// Possessive: X*+ is the atomic group (?>X*).
					s := b.String()
					b.Reset()
					b.WriteString(s[:atomStart] + "(?>" + s[atomStart:] + ")")
					atomStart = -1
				} else {
					b.WriteByte(c)
				}
				lastQuant = false
				i++
				continue
			}
			if atomStart < 0 || lastQuant {
				return "", "quantifier does not follow a repeatable item", i + qlen - 1
			}
			b.WriteString(p[i : i+qlen])
			i += qlen
			lastQuant = true
			continue
		case c == '|':
			atomStart = -1
			lastQuant = false
			b.WriteByte(c)
			i++
			continue
		case c == '^' || c == '$':
			atomStart = -1
			lastQuant = false
			b.WriteByte(c)
			i++
			continue
		}
		atomStart = b.Len()
		b.WriteByte(c)
		i++
		lastQuant = false
	}
	if depth > 0 {
		return "", "missing closing parenthesis", len(p)
	}
	return b.String(), "", 0
}

// isQuantifier reports whether s (starting with "{") is a {n}, {n,} or
// {n,m} quantifier; otherwise PCRE takes the brace literally.
func isQuantifier(s string) bool {
	end := strings.IndexByte(s, '}')
	if end < 0 {
		return false
	}
	_, _, ok := quantBounds(s[1:end])
	return ok
}

// quantBounds parses "n", "n," or "n,m"; hi is -1 for no upper bound.
func quantBounds(s string) (lo, hi int, ok bool) {
	a, rest, comma := strings.Cut(s, ",")
	lo, err := strconv.Atoi(a)
	if err != nil || a == "" || a[0] == '+' || a[0] == '-' {
		return 0, 0, false
	}
	if !comma {
		return lo, lo, true
	}
	if rest == "" {
		return lo, -1, true
	}
	hi, err = strconv.Atoi(rest)
	if err != nil || rest[0] == '+' || rest[0] == '-' {
		return 0, 0, false
	}
	return lo, hi, true
}

// translateClass reads the character class starting at p[i] ("["),
// replacing POSIX [:name:] classes by their members. It returns the index
// after the class and the rewritten class, or PCRE2's error and offset.
func translateClass(p string, i int) (end int, cls, msg string, off int) {
	var b strings.Builder
	b.WriteByte('[')
	j := i + 1
	if j < len(p) && p[j] == '^' {
		b.WriteByte('^')
		j++
	}
	first := true
	prev := -1 // previous literal character, for range checks
	for j < len(p) {
		c := p[j]
		switch {
		case c == ']' && !first:
			b.WriteByte(']')
			return j + 1, b.String(), "", 0
		case c == '[' && j+1 < len(p) && p[j+1] == ':':
			close := strings.Index(p[j+2:], ":]")
			if close >= 0 {
				name := p[j+2 : j+2+close]
				members, ok := posixClasses[name]
				if !ok {
					return 0, "", "unknown POSIX class name", j + 2
				}
				b.WriteString(members)
				j += close + 4
				prev = -1
				first = false
				continue
			}
		case c == '\\':
			if j+1 >= len(p) {
				return 0, "", "\\ at end of pattern", j + 1
			}
			b.WriteString(p[j : j+2])
			j += 2
			prev = -1
			first = false
			continue
		case c == '-' && prev >= 0 && j+1 < len(p) && p[j+1] != ']' && p[j+1] != '\\' && p[j+1] != '[':
			if int(p[j+1]) < prev {
				return 0, "", "range out of order in character class", j + 1
			}
			b.WriteString(p[j : j+2])
			j += 2
			prev = -1
			first = false
			continue
		case c == '[':
			// A literal "[" inside a class; the engine would take "-["
			// as class subtraction.
			b.WriteString(`\[`)
			j++
			prev = '['
			first = false
			continue
		}
		b.WriteByte(c)
		prev = int(c)
		j++
		first = false
	}
	return 0, "", "missing terminating ] for character class", len(p)
}
