package filter

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// decodeEncoded expands the "${hex:...}" and "${unicode:...}" sequences
// of the encoded-character extension (RFC 5228 section 2.4.2.4): hex
// octets or Unicode code points separated by white space. A malformed
// sequence is left as it is.
func decodeEncoded(s string) string {
	if !strings.Contains(s, "${") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		rest := s[i+2:]
		colon := strings.IndexByte(rest, ':')
		end := strings.IndexByte(rest, '}')
		if colon < 0 || end < colon {
			b.WriteString("${")
			s = rest
			continue
		}
		name := strings.ToLower(rest[:colon])
		out, ok := encodedValue(name, rest[colon+1:end])
		if !ok {
			b.WriteString("${")
			s = rest
			continue
		}
		b.WriteString(out)
		s = rest[end+1:]
	}
}

// encodedValue decodes the body of one ${hex:...} or ${unicode:...}.
func encodedValue(name, body string) (string, bool) {
	var b strings.Builder
	for _, f := range strings.Fields(body) {
		switch name {
		case "hex":
			n, err := strconv.ParseUint(f, 16, 8)
			if err != nil {
				return "", false
			}
			b.WriteByte(byte(n))
		case "unicode":
			n, err := strconv.ParseUint(f, 16, 32)
			if err != nil || n > utf8.MaxRune || n >= 0xD800 && n <= 0xDFFF {
				return "", false
			}
			b.WriteRune(rune(n))
		default:
			return "", false
		}
	}
	return b.String(), true
}

// str returns a string token's value, decoded when encoded-character
// is required.
func (r *sieveRun) str(t sieveToken) string {
	if r.required["encoded-character"] {
		return decodeEncoded(t.text)
	}
	return t.text
}
