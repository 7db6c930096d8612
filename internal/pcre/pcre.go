// Package pcre compiles regular expressions written for PCRE2 (which Exim
// uses) with a compatible pure-Go engine and matches them as Exim's PCRE2
// does in 8-bit mode: on bytes, not UTF-8 characters. PCRE syntax that the
// engine lacks (\Q...\E, (?P<name>...), POSIX classes, possessive
// quantifiers) is rewritten, and bad patterns are reported in PCRE2's
// words with PCRE2's offsets, as Exim shows them to admins.
package pcre

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dlclark/regexp2"
)

// Regexp is a compiled pattern. It is safe for concurrent use.
type Regexp struct {
	re *regexp2.Regexp
}

// Error is a pattern that does not compile; Msg is PCRE2's text with its
// offset ("missing closing parenthesis at offset 1").
type Error struct {
	Pattern string
	Msg     string
}

func (e *Error) Error() string { return e.Msg }

// matchTimeout bounds one match, so that a pathological pattern cannot
// hang a session or a delivery.
const matchTimeout = 5 * time.Second

type cacheKey struct {
	pattern  string
	caseless bool
}

// cache holds compiled patterns: patterns in a configuration are few and
// used again and again.
var cache sync.Map // cacheKey -> *Regexp

// Compile compiles a PCRE-style pattern, caching the result.
func Compile(pattern string) (*Regexp, error) { return compile(pattern, false) }

// CompileCaseless compiles a pattern that matches without regard to case
// (PCRE2_CASELESS), as Exim does for domain and address list items.
func CompileCaseless(pattern string) (*Regexp, error) { return compile(pattern, true) }

func compile(pattern string, caseless bool) (*Regexp, error) {
	key := cacheKey{pattern, caseless}
	if re, ok := cache.Load(key); ok {
		return re.(*Regexp), nil
	}
	translated, msg, off := translatePCRE(pattern)
	if msg != "" {
		return nil, &Error{Pattern: pattern, Msg: msg + " at offset " + strconv.Itoa(off)}
	}
	opts := regexp2.None
	if caseless {
		opts = regexp2.IgnoreCase
	}
	re, err := regexp2.Compile(bytesToRunes(translated), opts)
	if err != nil {
		return nil, &Error{Pattern: pattern, Msg: regexErrorText(pattern, err)}
	}
	re.MatchTimeout = matchTimeout
	r := &Regexp{re: re}
	cache.Store(key, r)
	return r, nil
}

// Match applies the pattern to s and returns $0, $1... on success (groups
// that did not take part are empty). err is set only when matching could
// not finish (the time limit).
func (r *Regexp) Match(s string) (groups []string, ok bool, err error) {
	m, err := r.re.FindStringMatch(bytesToRunes(s))
	if err != nil || m == nil {
		return nil, false, err
	}
	gs := m.Groups()
	out := make([]string, len(gs))
	for i, g := range gs {
		if len(g.Captures) > 0 {
			out[i] = runesToBytes(g.String())
		}
	}
	return out, true, nil
}

// Engine returns the underlying engine, for callers that iterate over
// matches themselves; they must present subjects through ByteRunes.
func (r *Regexp) Engine() *regexp2.Regexp { return r.re }

// ByteRunes maps each byte of s to the rune of the same value, the form in
// which the engine sees subjects.
func ByteRunes(s string) []rune {
	out := make([]rune, len(s))
	for i := 0; i < len(s); i++ {
		out[i] = rune(s[i])
	}
	return out
}

// RuneBytes reverses ByteRunes.
func RuneBytes(r []rune) []byte {
	b := make([]byte, len(r))
	for i, c := range r {
		b[i] = byte(c)
	}
	return b
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

// regexErrorText turns the engine's error into PCRE2's wording and offset
// for the errors admins meet in practice; others keep the engine's text.
func regexErrorText(pattern string, err error) string {
	msg := err.Error()
	n := len(pattern)
	switch {
	case strings.Contains(msg, "missing closing )"):
		return fmt.Sprintf("missing closing parenthesis at offset %d", n)
	case strings.Contains(msg, "unterminated [] set"):
		return fmt.Sprintf("missing terminating ] for character class at offset %d", n)
	case strings.Contains(msg, "missing argument to repetition operator"),
		strings.Contains(msg, "invalid nested repetition operator"):
		return fmt.Sprintf("quantifier does not follow a repeatable item at offset %d", badQuantifier(pattern))
	case strings.Contains(msg, "illegal \\ at end of pattern"):
		return fmt.Sprintf("\\ at end of pattern at offset %d", n)
	case strings.Contains(msg, "unexpected )"):
		return fmt.Sprintf("unmatched closing parenthesis at offset %d", unmatchedParen(pattern))
	case strings.Contains(msg, "range in reverse order"):
		if i := strings.Index(pattern, "-"); i >= 0 && i+1 < n {
			return fmt.Sprintf("range out of order in character class at offset %d", i+1)
		}
	case strings.Contains(msg, "invalid repeat count"):
		if i := strings.IndexByte(pattern, '}'); i >= 0 {
			return fmt.Sprintf("numbers out of order in {} quantifier at offset %d", i)
		}
	case strings.Contains(msg, "unterminated comment"):
		return fmt.Sprintf("missing ) after (?# comment at offset %d", n)
	case strings.Contains(msg, "unrecognized grouping construct"):
		if i := strings.Index(pattern, "(?"); i >= 0 {
			return fmt.Sprintf("unrecognized character after (? or (?- at offset %d", i+2)
		}
	}
	if i := strings.LastIndex(msg, " in `"); i >= 0 {
		msg = msg[:i]
	}
	return strings.TrimPrefix(msg, "error parsing regexp: ")
}

// badQuantifier returns the offset of the first quantifier that follows
// nothing repeatable.
func badQuantifier(p string) int {
	prevRepeatable := false
	prevQuant := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch c {
		case '\\':
			i++
			prevRepeatable, prevQuant = true, false
		case '*', '+', '?':
			if !prevRepeatable || (prevQuant && c != '?' && c != '+') {
				return i
			}
			prevQuant = true
			prevRepeatable = false
		case '(', '|':
			prevRepeatable, prevQuant = false, false
		default:
			prevRepeatable, prevQuant = true, false
		}
	}
	return 0
}

// unmatchedParen returns the offset of the first ")" without an opening
// parenthesis.
func unmatchedParen(p string) int {
	depth := 0
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case '(':
			depth++
		case ')':
			if depth == 0 {
				return i
			}
			depth--
		}
	}
	return len(p)
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
