package rewrite

import (
	"fmt"
	"strings"
)

// fields splits a rule "pattern replacement flags" into white-space
// separated fields; a field that starts with a double quote runs to the
// closing quote (backslash escapes the next character) and keeps its
// quotes (dequote removes them). Specification section "Rewriting rules".
func fields(s string) ([]string, error) {
	var out []string
	for {
		s = strings.TrimLeft(s, " \t\n\r")
		if s == "" {
			return out, nil
		}
		i := 0
		if s[0] == '"' {
			j := skipQuoted(s, 0)
			if j < 0 {
				return nil, fmt.Errorf("missing closing quote in rewrite rule %q", s)
			}
			i = j
		} else {
			for i < len(s) && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r' {
				i++
			}
		}
		out = append(out, s[:i])
		s = s[i:]
	}
}

// dequote removes the quotes of a quoted field and interprets its
// backslash escapes as Exim does for quoted configuration strings (\n,
// \t, \r, octal \ooo, hex \xhh; any other escaped character stands for
// itself); a quote that is not closed runs to the end. An unquoted
// field is returned unchanged.
func dequote(s string) string {
	if len(s) == 0 || s[0] != '"' {
		return s
	}
	// An unclosed quote runs to the end of the line, as in Exim.
	if j := skipQuoted(s, 0); j == len(s) {
		s = s[1 : len(s)-1]
	} else {
		s = s[1:]
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch c = s[i]; {
		case c == 'n':
			b.WriteByte('\n')
		case c == 't':
			b.WriteByte('\t')
		case c == 'r':
			b.WriteByte('\r')
		case c >= '0' && c <= '7':
			v := 0
			for k := 0; k < 3 && i < len(s) && s[i] >= '0' && s[i] <= '7'; k++ {
				v = v*8 + int(s[i]-'0')
				i++
			}
			i--
			b.WriteByte(byte(v))
		case c == 'x' && i+1 < len(s) && isHex(s[i+1]):
			v := 0
			for k := 0; k < 2 && i+1 < len(s) && isHex(s[i+1]); k++ {
				i++
				v = v*16 + hexVal(s[i])
			}
			b.WriteByte(byte(v))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexVal(c byte) int {
	switch {
	case c >= 'a':
		return int(c-'a') + 10
	case c >= 'A':
		return int(c-'A') + 10
	}
	return int(c - '0')
}
