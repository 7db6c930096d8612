package message

import (
	"encoding/base64"
	"strings"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/unicode"
)

// decodeWords decodes RFC 2047 encoded words in s (RFC 2047 §6: white space
// between adjacent encoded words is dropped). With target "" the decoded
// bytes are kept as they are ($bh_); otherwise each word is translated
// from its charset into target, and when any translation fails the
// untranslated result is returned, as Exim does for $h_. A word that fails
// to decode makes the whole value come back raw. Binary zeros become "?".
func decodeWords(s, target string) string {
	if !strings.Contains(s, "=?") {
		return s
	}
	var raw, conv strings.Builder
	convOK := target != ""
	pendingSpace := ""
	lastWasWord := false
	i := 0
	for i < len(s) {
		if strings.HasPrefix(s[i:], "=?") {
			n, charset, data, ok := parseWord(s[i:])
			if ok {
				if !lastWasWord {
					raw.WriteString(pendingSpace)
					conv.WriteString(pendingSpace)
				}
				pendingSpace = ""
				data = strings.ReplaceAll(data, "\x00", "?")
				raw.WriteString(data)
				if convOK {
					t, err := translate(data, charset, target)
					if err != nil {
						convOK = false
					} else {
						conv.WriteString(t)
					}
				}
				lastWasWord = true
				i += n
				continue
			}
		}
		c := s[i]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			pendingSpace += string(c)
			i++
			continue
		}
		raw.WriteString(pendingSpace)
		conv.WriteString(pendingSpace)
		pendingSpace = ""
		raw.WriteByte(c)
		conv.WriteByte(c)
		lastWasWord = false
		i++
	}
	raw.WriteString(pendingSpace)
	conv.WriteString(pendingSpace)
	if convOK {
		return conv.String()
	}
	return raw.String()
}

// parseWord parses one encoded word at the start of s and returns its
// length, charset and decoded bytes.
func parseWord(s string) (n int, charset, data string, ok bool) {
	// =?charset?E?text?=
	rest := s[2:]
	q1 := strings.IndexByte(rest, '?')
	if q1 <= 0 || q1+2 >= len(rest) || rest[q1+2] != '?' {
		return 0, "", "", false
	}
	charset = rest[:q1]
	if star := strings.IndexByte(charset, '*'); star >= 0 { // RFC 2231 language
		charset = charset[:star]
	}
	enc := rest[q1+1]
	body := rest[q1+3:]
	end := strings.Index(body, "?=")
	if end < 0 {
		return 0, "", "", false
	}
	text := body[:end]
	if strings.ContainsAny(text, " \t\r\n") {
		return 0, "", "", false
	}
	n = 2 + q1 + 3 + end + 2
	switch enc {
	case 'B', 'b':
		b, err := base64.StdEncoding.DecodeString(text)
		if err != nil {
			b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(text, "="))
			if err != nil {
				return 0, "", "", false
			}
		}
		return n, charset, string(b), true
	case 'Q', 'q':
		var b strings.Builder
		for i := 0; i < len(text); i++ {
			c := text[i]
			switch {
			case c == '_':
				b.WriteByte(' ')
			case c == '=' && i+2 < len(text) && isHexDigit(text[i+1]) && isHexDigit(text[i+2]):
				b.WriteByte(unhex(text[i+1])<<4 | unhex(text[i+2]))
				i += 2
			default:
				b.WriteByte(c)
			}
		}
		return n, charset, b.String(), true
	}
	return 0, "", "", false
}

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// translate converts data from charset from into charset to.
func translate(data, from, to string) (string, error) {
	if strings.EqualFold(from, to) {
		return data, nil
	}
	src, err := lookupCharset(from)
	if err != nil {
		return "", err
	}
	dst, err := lookupCharset(to)
	if err != nil {
		return "", err
	}
	utf8, err := src.NewDecoder().String(data)
	if err != nil {
		return "", err
	}
	return dst.NewEncoder().String(utf8)
}

func lookupCharset(name string) (encoding.Encoding, error) {
	if strings.EqualFold(name, "utf-8") || strings.EqualFold(name, "utf8") {
		return unicode.UTF8, nil
	}
	e, err := ianaindex.IANA.Encoding(name)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return nil, encoding.ErrInvalidUTF8
	}
	return e, nil
}
