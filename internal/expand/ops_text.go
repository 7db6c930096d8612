package expand

import (
	"strconv"
	"strings"
)

// textOperators are the operators that transform text.
// Spec: "Expansion operators".
var textOperators = map[string]opFunc{
	"lc":               func(_ *state, s string, _ []int) (string, error) { return asciiLower(s), nil },
	"uc":               func(_ *state, s string, _ []int) (string, error) { return asciiUpper(s), nil },
	"strlen":           func(_ *state, s string, _ []int) (string, error) { return strconv.Itoa(len(s)), nil },
	"escape":           func(_ *state, s string, _ []int) (string, error) { return escapePrinting(s), nil },
	"escape8bit":       func(_ *state, s string, _ []int) (string, error) { return escape8bit(s), nil },
	"hexquote":         func(_ *state, s string, _ []int) (string, error) { return hexquote(s), nil },
	"rxquote":          func(_ *state, s string, _ []int) (string, error) { return rxquote(s), nil },
	"quote":            func(_ *state, s string, _ []int) (string, error) { return quoteString(s), nil },
	"quote_local_part": func(_ *state, s string, _ []int) (string, error) { return quoteLocalPart(s), nil },
	"from_utf8":        func(_ *state, s string, _ []int) (string, error) { return fromUTF8(s), nil },
	"utf8clean":        func(_ *state, s string, _ []int) (string, error) { return utf8Clean(s), nil },
}

// textSuffixOperators are ${length_N:...} and ${substr_N_M:...} and their
// abbreviations l and s. Spec: items "length" and "substr".
var textSuffixOperators = map[string]suffixOp{
	"length": numericSuffixOp(1, false, opLength),
	"l":      numericSuffixOp(1, false, opLength),
	"substr": numericSuffixOp(2, true, opSubstr),
	"s":      numericSuffixOp(2, true, opSubstr),
}

// numericSuffixOp makes an operator whose name carries up to max numbers
// ("_N_M"); only the first may be negative when neg is set. The numbers
// wrap at 32 bits, as Exim's do.
func numericSuffixOp(max int, neg bool, fn func(s string, vals []int) (string, error)) suffixOp {
	return func(name, suffix string, has bool) opFunc {
		return func(_ *state, s string, _ []int) (string, error) {
			if !has {
				return "", errorf("missing values after %s", name)
			}
			var vals []int
			if suffix != "" {
				for i, part := range strings.Split(suffix, "_") {
					v, ok := parseWrapInt32(part, neg && i == 0)
					if !ok || i >= max {
						return "", errorf("non-digit after underscore in \"%s\"", name)
					}
					vals = append(vals, v)
				}
			}
			return fn(s, vals)
		}
	}
}

// parseWrapInt32 reads a decimal number (with a leading "-" if neg) the
// way Exim does for operator suffixes: wrapping at 32 bits.
func parseWrapInt32(s string, neg bool) (int, bool) {
	minus := false
	if neg && strings.HasPrefix(s, "-") {
		minus, s = true, s[1:]
	}
	if s == "" {
		return 0, false
	}
	var v uint32
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		v = v*10 + uint32(s[i]-'0')
	}
	if minus {
		v = -v
	}
	return int(int32(v)), true
}

// opLength is ${length_N:s}: the first N bytes, or all of s.
func opLength(s string, vals []int) (string, error) {
	n := 0
	if len(vals) > 0 {
		n = vals[0]
	}
	if n < 0 || n >= len(s) {
		return s, nil
	}
	return s[:n], nil
}

// opSubstr is ${substr_N_M:s}. Spec: item "substr": negative offsets
// count from the end; an overshoot reduces the length; without a length,
// a negative offset takes what precedes it.
func opSubstr(s string, vals []int) (string, error) {
	start, length, hasLen := 0, 0, false
	if len(vals) > 0 {
		start = vals[0]
	}
	if len(vals) > 1 {
		length, hasLen = vals[1], true
	}
	return substrOf(s, start, length, hasLen), nil
}

func substrOf(s string, start, length int, hasLen bool) string {
	n := len(s)
	if start >= 0 {
		if start > n {
			return ""
		}
		if !hasLen || length < 0 || start+length > n {
			return s[start:]
		}
		return s[start : start+length]
	}
	start += n
	if start < 0 {
		if hasLen {
			length += start
		}
		start = 0
	}
	if !hasLen {
		return s[:start]
	}
	if length <= 0 {
		return ""
	}
	if start+length > n {
		return s[start:]
	}
	return s[start : start+length]
}

// asciiLower and asciiUpper change case in the C locale: ASCII letters
// only. Spec: "Case is defined per the system C locale".
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}

// escapePrinting is ${escape:...}: non-printing characters become \n, \r,
// \b, \f, \v or octal \ddd; tab and printable ASCII stay as they are; with
// print_topbitchars unset, bytes above 127 are escaped too.
func escapePrinting(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\t' || c >= 32 && c < 127:
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\b':
			b.WriteString(`\b`)
		case c == '\f':
			b.WriteString(`\f`)
		case c == '\v':
			b.WriteString(`\v`)
		default:
			writeOctal(&b, c)
		}
	}
	return b.String()
}

func writeOctal(b *strings.Builder, c byte) {
	b.WriteByte('\\')
	b.WriteByte('0' + c>>6)
	b.WriteByte('0' + c>>3&7)
	b.WriteByte('0' + c&7)
}

// escape8bit is ${escape8bit:...}: bytes above 126 and backslashes become
// octal escapes; everything else is unchanged.
func escape8bit(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c > 126 || c == '\\' {
			writeOctal(&b, c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// hexquote is ${hexquote:...}: bytes outside 33..126 become \xNN.
func hexquote(s string) string {
	const hex = "0123456789abcdef"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 33 && c <= 126 {
			b.WriteByte(c)
			continue
		}
		b.WriteString(`\x`)
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// rxquote is ${rxquote:...}: a backslash before every byte that is not an
// ASCII letter or digit.
func rxquote(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// quoteString is ${quote:...}: double quotes unless the string is
// non-empty and only letters, digits, "_", "." and "-"; inside, " and \
// get a backslash, newline and CR become \n and \r.
func quoteString(s string) string {
	plain := s != ""
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = isAlnum(c) || c == '_' || c == '.' || c == '-'
	}
	if plain {
		return s
	}
	return quoteBody(s)
}

func quoteBody(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// quoteLocalPart is ${quote_local_part:...}: quoted only when RFC 2822
// requires it for a local part: an empty string, a character outside
// atext and ".", or a dot at the start or end.
func quoteLocalPart(s string) string {
	need := s == "" || s[0] == '.' || s[len(s)-1] == '.'
	for i := 0; i < len(s) && !need; i++ {
		c := s[i]
		need = !(isAlnum(c) || c == '.' || c < 127 && strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0)
	}
	if !need {
		return s
	}
	return quoteBody(s)
}

// fromUTF8 is ${from_utf8:...}: UTF-8 to ISO-8859-1, code points above
// 255 becoming "_". Malformed input gives what Exim gives where that was
// observed: bytes below 0xc0 pass through, a sequence is read for the
// length its first byte announces whatever the following bytes are, and
// a decoded zero ends the result (Exim works on C strings).
func fromUTF8(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		i++
		if c < 0xc0 {
			b.WriteByte(c)
			continue
		}
		extra, v := 0, uint32(0)
		switch {
		case c < 0xe0:
			extra, v = 1, uint32(c&0x1f)
		case c < 0xf0:
			extra, v = 2, uint32(c&0x0f)
		case c < 0xf8:
			extra, v = 3, uint32(c&0x07)
		case c < 0xfc:
			extra, v = 4, uint32(c&0x03)
		case c < 0xfe:
			extra, v = 5, uint32(c&0x01)
		default:
			if c == 0xff {
				b.WriteByte('_')
				continue
			}
			extra = 6
		}
		for ; extra > 0; extra-- {
			var d byte
			if i < len(s) {
				d = s[i]
				i++
			}
			v = v<<6 | uint32(d&0x3f)
		}
		switch {
		case v == 0:
			return b.String()
		case v > 255:
			b.WriteByte('_')
		default:
			b.WriteByte(byte(v))
		}
	}
	return b.String()
}

// utf8Clean is ${utf8clean:...}: each invalid UTF-8 sequence becomes "?".
// As in Exim: 0xc0, 0xc1 and 0xf8..0xff are invalid first bytes; a
// sequence cut short by an ASCII byte gives "?" and the ASCII byte, by
// any other byte "?" alone; surrogates and values above 0x10ffff are
// invalid; overlong three- and four-byte forms are let through.
func utf8Clean(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0x80 {
			b.WriteByte(c)
			i++
			continue
		}
		var need int
		var v uint32
		switch {
		case c >= 0xc2 && c < 0xe0:
			need, v = 1, uint32(c&0x1f)
		case c >= 0xe0 && c < 0xf0:
			need, v = 2, uint32(c&0x0f)
		case c >= 0xf0 && c < 0xf8:
			need, v = 3, uint32(c&0x07)
		default:
			b.WriteByte('?')
			i++
			continue
		}
		j := i + 1
		ok := true
		for k := 0; k < need; k++ {
			if j >= len(s) {
				ok = false
				break
			}
			d := s[j]
			if d&0xc0 != 0x80 {
				ok = false
				if d >= 0x80 {
					j++ // swallowed with the broken sequence
				}
				break
			}
			v = v<<6 | uint32(d&0x3f)
			j++
		}
		if ok && (v > 0x10ffff || v >= 0xd800 && v <= 0xdfff) {
			ok = false
		}
		if ok {
			b.WriteString(s[i:j])
		} else {
			b.WriteByte('?')
		}
		i = j
	}
	return b.String()
}
