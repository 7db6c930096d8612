// Base64 as Exim's AUTH code decodes it, the NUL-separated string lists
// of the plaintext and external drivers, and Exim's escaping of
// non-printing characters in log lines.

package auth

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// errBase64 carries Exim's reply text, capital letter included.
var errBase64 = errors.New(TextBadBase64) //lint:ignore ST1005 the text is Exim's SMTP reply

const b64alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// b64val maps a byte to its base64 value, or -1.
func b64val(c byte) int {
	switch {
	case c >= 'A' && c <= 'Z':
		return int(c - 'A')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 26
	case c >= '0' && c <= '9':
		return int(c-'0') + 52
	case c == '+':
		return 62
	case c == '/':
		return 63
	}
	return -1
}

// isSpace is C's isspace in the C locale.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// DecodeBase64 decodes s as Exim does for AUTH data (observed with Exim
// 4.96): white space anywhere is skipped; the rest must be whole groups of
// four characters of the standard alphabet, with "=" padding only as the
// last one or two characters of the last group; unused bits of the last
// character are ignored. The empty string decodes to no bytes.
func DecodeBase64(s string) ([]byte, error) {
	var q [4]byte
	n := 0
	out := make([]byte, 0, len(s)*3/4)
	done := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isSpace(c) {
			continue
		}
		if done {
			return nil, errBase64
		}
		q[n] = c
		n++
		if n < 4 {
			continue
		}
		n = 0
		a, b := b64val(q[0]), b64val(q[1])
		if a < 0 || b < 0 {
			return nil, errBase64
		}
		out = append(out, byte(a<<2|b>>4))
		if q[2] == '=' {
			if q[3] != '=' {
				return nil, errBase64
			}
			done = true
			continue
		}
		c3 := b64val(q[2])
		if c3 < 0 {
			return nil, errBase64
		}
		out = append(out, byte(b<<4|c3>>2))
		if q[3] == '=' {
			done = true
			continue
		}
		c4 := b64val(q[3])
		if c4 < 0 {
			return nil, errBase64
		}
		out = append(out, byte(c3<<6|c4))
	}
	if n != 0 {
		return nil, errBase64
	}
	return out, nil
}

// EncodeBase64 encodes b in standard base64 with padding, as Exim sends
// challenges.
func EncodeBase64(b []byte) string {
	var sb strings.Builder
	for i := 0; i < len(b); i += 3 {
		var v uint32
		n := len(b) - i
		if n > 3 {
			n = 3
		}
		for j := 0; j < 3; j++ {
			v <<= 8
			if j < n {
				v |= uint32(b[i+j])
			}
		}
		for j := 0; j < 4; j++ {
			if j <= n {
				sb.WriteByte(b64alphabet[v>>(18-6*uint(j))&63])
			} else {
				sb.WriteByte('=')
			}
		}
	}
	return sb.String()
}

// splitNUL splits decoded AUTH data into strings at NUL bytes (spec
// 34.3): a string ends at each NUL, a final string without a NUL counts
// only when not empty, and data of no bytes at all is one empty string.
func splitNUL(b []byte) []string {
	if len(b) == 0 {
		return []string{""}
	}
	parts := strings.Split(string(b), "\x00")
	if parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}

// printing escapes s as Exim does for the set_id in log lines (observed:
// a backslash is not doubled): \n \r \b \f \v by name, other control and non-ASCII bytes as three
// octal digits; tab is kept.
func printing(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c >= 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\n':
			sb.WriteString(`\n`)
		case c == '\r':
			sb.WriteString(`\r`)
		case c == '\b':
			sb.WriteString(`\b`)
		case c == '\f':
			sb.WriteString(`\f`)
		case c == '\v':
			sb.WriteString(`\v`)
		case c == '\t' || c >= 0x20 && c < 0x7f:
			sb.WriteByte(c)
		default:
			fmt.Fprintf(&sb, `\%03o`, c)
		}
	}
	return sb.String()
}

// randomNonce gives a pid-sized random number for CRAM-MD5 challenges.
func randomNonce() uint32 {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 1
	}
	return binary.BigEndian.Uint32(b[:])%4000000 + 1000
}
