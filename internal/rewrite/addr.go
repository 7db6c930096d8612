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
				return i, &parseError{"unmatched ( in address"}
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
// An empty working part is allowed only when allowEmpty ("<>").
func parseItem(s string) (item, error) {
	// Look for an angle bracket outside quotes and comments.
	for i := 0; i < len(s); {
		switch s[i] {
		case '"':
			j := skipQuoted(s, i)
			if j < 0 {
				return item{}, &parseError{"missing or malformed local part"}
			}
			i = j
		case '(':
			j := skipComment(s, i)
			if j < 0 {
				return item{}, &parseError{"unmatched ( in address"}
			}
			i = j
		case '<':
			return parseAngle(s, i)
		default:
			i++
		}
	}
	i, err := skipCFWS(s, 0)
	if err != nil {
		return item{}, err
	}
	if i == len(s) {
		return item{}, &parseError{"empty address"}
	}
	it, j, err := parseAddrSpec(s, i)
	if err != nil {
		return item{}, err
	}
	k, err := skipCFWS(s, j)
	if err != nil {
		return item{}, err
	}
	if k < len(s) {
		return item{}, &parseError{"malformed address: " + s[k:] + " may not follow " + it.Addr}
	}
	return it, nil
}

// parseAngle parses the "<route-addr>" form; lt is the index of '<'.
func parseAngle(s string, lt int) (item, error) {
	i, err := skipCFWS(s, lt+1)
	if err != nil {
		return item{}, err
	}
	// An obsolete source route "@a,@b:" is skipped.
	if i < len(s) && s[i] == '@' {
		c := strings.IndexByte(s[i:], ':')
		if c < 0 {
			return item{}, &parseError{"domain missing in source-routed address"}
		}
		i += c + 1
	}
	start := i
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
	if j >= len(s) || s[j] != '>' {
		return item{}, &parseError{"malformed address: " + s[j:] + " may not follow <" + it.Addr}
	}
	k, err := skipCFWS(s, j+1)
	if err != nil {
		return item{}, err
	}
	if k < len(s) {
		return item{}, &parseError{"malformed address: " + s[k:] + " may not follow <" + it.Addr + ">"}
	}
	return it, nil
}

// parseAddrSpec parses local-part ["@" domain] from s[i:], returning the
// item and the index after it. An address without "@" is unqualified.
func parseAddrSpec(s string, i int) (item, int, error) {
	var b strings.Builder
	start := i
	end := i
	// Local part: words separated by dots.
	for {
		if i >= len(s) {
			return item{}, i, &parseError{"missing or malformed local part"}
		}
		switch {
		case s[i] == '"':
			j := skipQuoted(s, i)
			if j < 0 {
				return item{}, i, &parseError{"missing or malformed local part"}
			}
			b.WriteString(s[i:j])
			i = j
		case isAtext(s[i]):
			j := i
			for j < len(s) && isAtext(s[j]) {
				j++
			}
			b.WriteString(s[i:j])
			i = j
		case s[i] == '.' && strings.HasSuffix(b.String(), "."):
			// Exim accepts empty words between dots ("a..b").
			b.WriteByte('.')
			i++
			continue
		default:
			if b.Len() == 0 && s[i] == '@' {
				return item{}, i, &parseError{"no local part"}
			}
			return item{}, i, &parseError{"missing or malformed local part"}
		}
		end = i
		j, err := skipCFWS(s, i)
		if err != nil {
			return item{}, i, err
		}
		if j < len(s) && s[j] == '.' {
			b.WriteByte('.')
			if i, err = skipCFWS(s, j+1); err != nil {
				return item{}, i, err
			}
			continue
		}
		i = j
		break
	}
	if i >= len(s) || s[i] != '@' {
		return item{Addr: b.String(), Start: start, End: end}, end, nil
	}
	b.WriteByte('@')
	i, err := skipCFWS(s, i+1)
	if err != nil {
		return item{}, i, err
	}
	if i < len(s) && s[i] == '[' {
		j := strings.IndexByte(s[i:], ']')
		if j < 0 {
			return item{}, i, &parseError{"domain missing or malformed"}
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
