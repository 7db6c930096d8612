// Package pcre compiles regular expressions written for PCRE2 (which Exim
// uses) with a compatible pure-Go engine, and reports bad patterns in
// PCRE2's words, as Exim shows them to admins.
package pcre

import (
	"fmt"
	"strings"
	"sync"

	"github.com/dlclark/regexp2"
)

// Regexp is a compiled pattern.
type Regexp = regexp2.Regexp

// Match is the result of a successful match.
type Match = regexp2.Match

// Error is a pattern that does not compile; Msg is PCRE2's text with its
// offset ("missing closing parenthesis at offset 1").
type Error struct {
	Pattern string
	Msg     string
}

func (e *Error) Error() string { return e.Msg }

// cache holds compiled patterns by pattern text: patterns in a
// configuration are few and used again and again.
var cache sync.Map // cacheKey -> *regexp2.Regexp

// Compile compiles a PCRE-style pattern, caching the result.
func Compile(pattern string) (*Regexp, error) {
	return compile(pattern, false)
}

// CompileCaseless compiles a pattern that matches without regard to case
// (PCRE2_CASELESS), as Exim does for domain and address list items.
func CompileCaseless(pattern string) (*Regexp, error) {
	return compile(pattern, true)
}

type cacheKey struct {
	pattern  string
	caseless bool
}

func compile(pattern string, caseless bool) (*Regexp, error) {
	key := cacheKey{pattern, caseless}
	if re, ok := cache.Load(key); ok {
		return re.(*regexp2.Regexp), nil
	}
	opts := regexp2.None
	if caseless {
		opts = regexp2.IgnoreCase
	}
	re, err := regexp2.Compile(pcreToEngine(pattern), opts)
	if err != nil {
		return nil, &Error{Pattern: pattern, Msg: regexErrorText(pattern, err)}
	}
	cache.Store(key, re)
	return re, nil
}

// pcreToEngine rewrites the PCRE syntax that the engine spells
// differently: Python-style named groups (?P<name>...) and back references
// (?P=name).
func pcreToEngine(p string) string {
	if !strings.Contains(p, "(?P") {
		return p
	}
	p = strings.ReplaceAll(p, "(?P<", "(?<")
	for {
		i := strings.Index(p, "(?P=")
		if i < 0 {
			return p
		}
		end := strings.IndexByte(p[i:], ')')
		if end < 0 {
			return p
		}
		p = p[:i] + "\\k<" + p[i+4:i+end] + ">" + p[i+end+1:]
	}
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
