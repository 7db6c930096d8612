package expand

import (
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"

	"golang.org/x/text/encoding/ianaindex"
)

// codecOperators are the operators that encode and decode.
// Spec: "Expansion operators".
var codecOperators = map[string]opFunc{
	"base32":  func(_ *state, s string, _ []int) (string, error) { return toBase32(s) },
	"base32d": func(_ *state, s string, _ []int) (string, error) { return fromBaseN(s, base32Digits, "base32d", 32) },
	"base62":  func(_ *state, s string, _ []int) (string, error) { return toBase62(s) },
	"base62d": func(_ *state, s string, _ []int) (string, error) { return fromBaseN(s, base62Digits, "base62d", 62) },
	"base64": func(_ *state, s string, _ []int) (string, error) {
		return base64.StdEncoding.EncodeToString([]byte(s)), nil
	},
	"str2b64": func(_ *state, s string, _ []int) (string, error) {
		return base64.StdEncoding.EncodeToString([]byte(s)), nil
	},
	"base64d":  func(_ *state, s string, _ []int) (string, error) { return decodeBase64(s) },
	"hex2b64":  func(_ *state, s string, _ []int) (string, error) { return hexToBase64(s) },
	"rfc2047":  func(_ *state, s string, _ []int) (string, error) { return encodeRFC2047(s), nil },
	"rfc2047d": func(_ *state, s string, _ []int) (string, error) { return decodeRFC2047(s) },
}

const (
	base32Digits = "abcdefghijklmnopqrstuvwxyz234567"
	base62Digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// parseULL reads a number the way C's strtoull does in base 10: leading
// white space and a sign are allowed, the value saturates, a "-" negates
// modulo 2^64. ok is false when anything is left over.
func parseULL(s string) (uint64, bool) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	var v uint64
	sat := false
	for ; i < len(s) && isDigit(s[i]); i++ {
		d := uint64(s[i] - '0')
		if v > (^uint64(0)-d)/10 {
			sat = true
		}
		v = v*10 + d
	}
	if i != len(s) {
		return 0, false
	}
	if sat {
		return ^uint64(0), true
	}
	if neg {
		v = -v
	}
	return v, true
}

// toBase32 is ${base32:...}: a decimal number in Exim's base 32 (lower
// case letters and 2..7), empty for zero.
func toBase32(s string) (string, error) {
	v, ok := parseULL(s)
	if !ok {
		return "", errorf("argument for base32 operator is \"%s\", which is not a decimal number", s)
	}
	var out []byte
	for ; v > 0; v /= 32 {
		out = append([]byte{base32Digits[v%32]}, out...)
	}
	return string(out), nil
}

// toBase62 is ${base62:...}: six base-62 digits, the number taken modulo
// 62^6 as Exim does.
func toBase62(s string) (string, error) {
	v, ok := parseULL(s)
	if !ok {
		return "", errorf("argument for base62 operator is \"%s\", which is not a decimal number", s)
	}
	out := make([]byte, 6)
	for i := 5; i >= 0; i-- {
		out[i] = base62Digits[v%62]
		v /= 62
	}
	return string(out), nil
}

// fromBaseN decodes base32d and base62d; the result is printed as a
// signed 64-bit number, wrapping as in Exim.
func fromBaseN(s, digits, op string, base uint64) (string, error) {
	var v uint64
	for i := 0; i < len(s); i++ {
		d := strings.IndexByte(digits, s[i])
		if d < 0 {
			return "", errorf("argument for %s operator is \"%s\", which is not a base %d number", op, s, base)
		}
		v = v*base + uint64(d)
	}
	return strconv.FormatInt(int64(v), 10), nil
}

// decodeBase64 is ${base64d:...}: white space is ignored; padding must be
// right.
func decodeBase64(s string) (string, error) {
	clean := strings.Map(func(r rune) rune {
		if r < 128 && isSpace(byte(r)) {
			return -1
		}
		return r
	}, s)
	out, err := base64.StdEncoding.Strict().DecodeString(clean)
	if err != nil {
		return "", errorf("string \"%s\" is not well-formed for \"base64d\" operator", s)
	}
	return string(out), nil
}

func hexToBase64(s string) (string, error) {
	if len(s)%2 != 0 {
		return "", errorf("\"%s\" contains an odd number of characters", s)
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return "", errorf("\"%s\" is not a hex string", s)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// rfc2047Special are the characters that force encoding and are encoded.
const rfc2047Special = "?=()<>@,;:\\\".[]_"

// encodeRFC2047 is ${rfc2047:...} with headers_charset UTF-8: unchanged
// when every byte is a space or in 33..126 and not special; otherwise Q
// encoded words, a new word started once one holds 68 bytes or more of
// encoded text (a byte above 127 travels with the byte after it).
func encodeRFC2047(s string) string {
	plain := true
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = c == ' ' || c >= 33 && c <= 126 && strings.IndexByte(rfc2047Special, c) < 0
	}
	if plain {
		return s
	}
	const hexd = "0123456789ABCDEF"
	var b strings.Builder
	b.WriteString("=?UTF-8?Q?")
	n := 0
	put := func(c byte) {
		switch {
		case c == ' ':
			b.WriteByte('_')
			n++
		case c < 33 || c > 126 || strings.IndexByte(rfc2047Special, c) >= 0:
			b.WriteByte('=')
			b.WriteByte(hexd[c>>4])
			b.WriteByte(hexd[c&15])
			n += 3
		default:
			b.WriteByte(c)
			n++
		}
	}
	for i := 0; i < len(s); i++ {
		if n > 67 {
			b.WriteString("?= =?UTF-8?Q?")
			n = 0
		}
		put(s[i])
		if s[i] > 127 && i+1 < len(s) {
			i++
			put(s[i])
		}
	}
	b.WriteString("?=")
	return b.String()
}

// decodeRFC2047 is ${rfc2047d:...}: encoded words are decoded and
// converted to UTF-8 (headers_charset); white space between two encoded
// words is dropped; malformed words stay as they are; a zero byte
// becomes "?".
func decodeRFC2047(s string) (string, error) {
	var b strings.Builder
	pendingSpace := ""
	lastEncoded := false
	for len(s) > 0 {
		i := strings.Index(s, "=?")
		if i < 0 {
			b.WriteString(pendingSpace)
			b.WriteString(s)
			break
		}
		text, ok, rest, err := decodeWord(s[i:])
		if err != nil {
			return "", err
		}
		if !ok {
			b.WriteString(pendingSpace)
			b.WriteString(s[:i+2])
			pendingSpace, lastEncoded = "", false
			s = s[i+2:]
			continue
		}
		between := s[:i]
		if !(lastEncoded && strings.Trim(between, " \t\r\n") == "") {
			b.WriteString(pendingSpace)
			b.WriteString(between)
		}
		b.WriteString(text)
		pendingSpace, lastEncoded = "", true
		s = rest
	}
	return strings.ReplaceAll(b.String(), "\x00", "?"), nil
}

// decodeWord decodes the encoded word at the start of s ("=?cs?e?text?=").
func decodeWord(s string) (text string, ok bool, rest string, err error) {
	body := s[2:]
	q1 := strings.IndexByte(body, '?')
	if q1 < 0 || q1+2 >= len(body) || body[q1+2] != '?' {
		return "", false, "", nil
	}
	charset, enc := body[:q1], body[q1+1]
	payload := body[q1+3:]
	end := strings.Index(payload, "?=")
	if end < 0 {
		return "", false, "", nil
	}
	raw := payload[:end]
	rest = payload[end+2:]
	var data []byte
	switch enc {
	case 'q', 'Q':
		data, ok = decodeQ(raw)
	case 'b', 'B':
		d, e := base64.StdEncoding.Strict().DecodeString(raw)
		data, ok = d, e == nil
	}
	if !ok {
		return "", false, "", nil
	}
	out, err := toUTF8(charset, data)
	if err != nil {
		return "", false, "", err
	}
	return out, true, rest, nil
}

func decodeQ(s string) ([]byte, bool) {
	var out []byte
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '_':
			out = append(out, ' ')
		case '=':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return nil, false
			}
			out = append(out, byte(hexVal(s[i+1])<<4|hexVal(s[i+2])))
			i += 2
		default:
			out = append(out, c)
		}
	}
	return out, true
}

// toUTF8 converts data from charset to UTF-8 as Exim's iconv does, with
// Exim's error text for a charset iconv does not know. An empty charset
// means no conversion; so does a conversion that fails.
func toUTF8(charset string, data []byte) (string, error) {
	switch strings.ToLower(charset) {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		return string(data), nil
	}
	enc, err := ianaindex.IANA.Encoding(charset)
	if err != nil || enc == nil {
		return "", errorf("iconv_open(\"UTF-8\", \"%s\") failed: Invalid argument (maybe unsupported conversion)", charset)
	}
	out, err := enc.NewDecoder().Bytes(data)
	if err != nil {
		return string(data), nil
	}
	return string(out), nil
}
