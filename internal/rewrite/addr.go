package rewrite

import (
	"strings"
)

// maxCommentDepth caps the nesting of parenthesized comments the address
// parser follows (input controls it).
const maxCommentDepth = 100

// item is one RFC 2822 address item as found in a header or argument.
type item struct {
	// Addr is the working address: local part and domain with comments
	// and folding removed, quoted local parts kept quoted.
	Addr string
	// Start and End delimit the working part in the original text, so
	// that a rewrite can replace it and keep phrases and comments.
	Start, End int
}

// parseError is an address syntax error with Exim's text (lower case, as
// it appears inside log lines; -brw capitalizes the first letter).
type parseError struct{ msg string }

func (e *parseError) Error() string { return e.msg }

// skipComment returns the index after the comment that starts at s[i]
// ('('), or -1 when it is not closed.
func skipComment(s string, i int) int {
	depth := 0
	for ; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '(':
			depth++
			if depth > maxCommentDepth {
				return -1
			}
		case ')':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return -1
}

// skipQuoted returns the index after the quoted string that starts at
// s[i] ('"'), or -1 when it is not closed.
func skipQuoted(s string, i int) int {
	for i++; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// skipCFWS skips white space and comments from i.
func skipCFWS(s string, i int) (int, error) {
	for i < len(s) {
		switch s[i] {
		case ' ', '\t', '\r', '\n':
			i++
		case '(':
			j := skipComment(s, i)
			if j < 0 {
				// Exim ignores an unclosed comment at the end.
				return len(s), nil
			}
			i = j
		default:
			return i, nil
		}
	}
	return i, nil
}

// isAtext reports whether c may appear in an atom (RFC 2822 atext).
func isAtext(c byte) bool {
	if c <= ' ' || c >= 127 {
		return false
	}
	return !strings.ContainsRune("()<>@,;:\\\".[]", rune(c))
}

// parseItem finds the working address in one address item, as Exim's
// address extraction does for header lines and -brw arguments: either
// "phrase <route-addr>" or a bare addr-spec, with comments anywhere.
// Exim is lenient: empty words between dots and backslashes in local
// parts are accepted, and an unclosed comment at the end is ignored.
func parseItem(s string) (item, error) {
	i, err := skipCFWS(s, 0)
	if err != nil {
		return item{}, err
	}
	if i == len(s) {
		return item{}, &parseError{"empty address"}
	}
	if s[i] == '<' {
		return parseAngle(s, i, i)
	}
	lp, j, err := localPart(s, i)
	if err != nil {
		return item{}, err
	}
	k, err := skipCFWS(s, j)
	if err != nil {
		return item{}, err
	}
	if k < len(s) && s[k] != '@' {
		// Not an addr-spec: a phrase that must lead to "<".
		return parsePhrase(s, i)
	}
	if lp == "" {
		if k < len(s) && s[k] == '@' {
			return item{}, &parseError{"no local part"}
		}
		return item{}, &parseError{"missing or malformed local part"}
	}
	it, e, err := parseAddrSpec(s, i)
	if err != nil {
		return item{}, err
	}
	k, err = skipCFWS(s, e)
	if err != nil {
		return item{}, err
	}
	if k < len(s) {
		if s[k] == '<' {
			return parsePhrase(s, i)
		}
		return item{}, &parseError{"malformed address: " + s[k:] + " may not follow " + s[i:k]}
	}
	return it, nil
}

// parsePhrase skips a display name (words, dots, comments) from i up to
// the "<" of a route-addr.
func parsePhrase(s string, i int) (item, error) {
	from := i
	for i < len(s) {
		switch c := s[i]; {
		case c == '<':
			return parseAngle(s, from, i)
		case c == '"':
			j := skipQuoted(s, i)
			if j < 0 {
				return item{}, &parseError{`unmatched doublequote in local part (expected word or "<")`}
			}
			i = j
		case c == '(':
			j := skipComment(s, i)
			if j < 0 {
				return item{}, &parseError{`missing or malformed local part (expected word or "<")`}
			}
			i = j
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '.' || isAtext(c):
			i++
		default:
			return item{}, &parseError{`missing or malformed local part (expected word or "<")`}
		}
	}
	return item{}, &parseError{`missing or malformed local part (expected word or "<")`}
}

// localPart reads a local part (words and dots, with comments and white
// space between them) from i, returning it and the index after its last
// word or dot.
func localPart(s string, i int) (string, int, error) {
	var b strings.Builder
	end := i
	lastWord := false
	for {
		j := i
		if end > i || b.Len() > 0 {
			var err error
			if j, err = skipCFWS(s, i); err != nil {
				return "", i, err
			}
		}
		if j >= len(s) {
			return b.String(), end, nil
		}
		switch c := s[j]; {
		case c == '.':
			b.WriteByte('.')
			i = j + 1
			lastWord = false
		case c == '"':
			if lastWord {
				return b.String(), end, nil
			}
			k := skipQuoted(s, j)
			if k < 0 {
				return "", j, &parseError{"unmatched doublequote in local part"}
			}
			b.WriteString(s[j:k])
			i = k
			lastWord = true
		case isAtext(c) || c == '\\':
			if lastWord {
				return b.String(), end, nil
			}
			k := j
			for k < len(s) && (isAtext(s[k]) || s[k] == '\\') {
				if s[k] == '\\' && k+1 < len(s) {
					k++
				}
				k++
			}
			b.WriteString(s[j:k])
			i = k
			lastWord = true
		default:
			return b.String(), end, nil
		}
		end = i
	}
}

// parseAngle parses the "<route-addr>" form; lt is the index of '<' and
// from the start of the item (for error texts).
func parseAngle(s string, from, lt int) (item, error) {
	i, err := skipCFWS(s, lt+1)
	if err != nil {
		return item{}, err
	}
	start := i
	// An obsolete source route "@a,@b:" is skipped (and dropped when the
	// item is rebuilt).
	if i < len(s) && s[i] == '@' {
		c := strings.IndexByte(s[i:], ':')
		if c < 0 {
			return item{}, &parseError{"domain missing in source-routed address"}
		}
		i += c + 1
	}
	if i < len(s) && s[i] == '>' {
		if k, _ := skipCFWS(s, i+1); k < len(s) {
			return item{}, &parseError{"missing or malformed local part"}
		}
		return item{}, &parseError{"empty address"}
	}
	it, j, err := parseAddrSpec(s, i)
	if err != nil {
		return item{}, err
	}
	it.Start = start
	j, err = skipCFWS(s, j)
	if err != nil {
		return item{}, err
	}
	if j >= len(s) {
		return item{}, &parseError{"'>' missing at end of address"}
	}
	if s[j] != '>' {
		return item{}, &parseError{"malformed address: " + s[j:] + " may not follow " + s[lt:j]}
	}
	// Comments after the address inside the brackets go when the item
	// is rebuilt; white space before the ">" stays.
	it.End = j
	for it.End > it.Start && (s[it.End-1] == ' ' || s[it.End-1] == '\t') {
		it.End--
	}
	k, err := skipCFWS(s, j+1)
	if err != nil {
		return item{}, err
	}
	if k < len(s) {
		return item{}, &parseError{"malformed address: " + s[k:] + " may not follow " + s[from:k]}
	}
	return it, nil
}

// parseAddrSpec parses local-part ["@" domain] from s[i:], returning the
// item and the index after it. An address without "@" is unqualified.
func parseAddrSpec(s string, i int) (item, int, error) {
	var b strings.Builder
	start := i
	lp, end, err := localPart(s, i)
	if err != nil {
		return item{}, i, err
	}
	if lp == "" {
		if i < len(s) && s[i] == '@' {
			return item{}, i, &parseError{"no local part"}
		}
		return item{}, i, &parseError{"missing or malformed local part"}
	}
	b.WriteString(lp)
	if i, err = skipCFWS(s, end); err != nil {
		return item{}, i, err
	}
	if i >= len(s) || s[i] != '@' {
		return item{Addr: b.String(), Start: start, End: end}, end, nil
	}
	b.WriteByte('@')
	if i, err = skipCFWS(s, i+1); err != nil {
		return item{}, i, err
	}
	if i < len(s) && s[i] == '[' {
		j := strings.IndexByte(s[i:], ']')
		if j < 0 {
			return item{}, i, &parseError{"malformed domain literal"}
		}
		b.WriteString(s[i : i+j+1])
		end = i + j + 1
		return item{Addr: b.String(), Start: start, End: end}, end, nil
	}
	for {
		j := i
		for j < len(s) && isAtext(s[j]) {
			j++
		}
		if j == i {
			return item{}, i, &parseError{"domain missing or malformed"}
		}
		b.WriteString(s[i:j])
		end = j
		k, err := skipCFWS(s, j)
		if err != nil {
			return item{}, j, err
		}
		if k < len(s) && s[k] == '.' {
			b.WriteByte('.')
			if i, err = skipCFWS(s, k+1); err != nil {
				return item{}, i, err
			}
			continue
		}
		return item{Addr: b.String(), Start: start, End: end}, end, nil
	}
}

// splitList splits an address-list header value into items at commas
// outside quotes, comments and angle brackets, returning the offsets of
// each item. A group "name: a, b;" has its "name:" prefix and ";" left
// outside the items.
func splitList(s string) [][2]int {
	var out [][2]int
	st := 0
	angle := false
	for i := 0; i < len(s); {
		switch c := s[i]; c {
		case '"':
			j := skipQuoted(s, i)
			if j < 0 {
				i = len(s)
				continue
			}
			i = j
			continue
		case '(':
			j := skipComment(s, i)
			if j < 0 {
				i = len(s)
				continue
			}
			i = j
			continue
		case '<':
			angle = true
		case '>':
			angle = false
		case ':':
			if !angle {
				st = i + 1
			}
		case ',', ';':
			if !angle {
				out = append(out, [2]int{st, i})
				st = i + 1
			}
		}
		i++
	}
	out = append(out, [2]int{st, len(s)})
	return out
}

// Extract returns the working address of an RFC 2822 address item
// ("Phrase <local@domain>", "local@domain (comment)"). The error text is
// Exim's, in lower case.
func Extract(s string) (string, error) {
	it, err := parseItem(s)
	if err != nil {
		return "", err
	}
	return it.Addr, nil
}
