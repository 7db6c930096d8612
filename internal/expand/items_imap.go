package expand

import (
	"encoding/base64"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// imapBase64 is the modified base64 of RFC 3501 section 5.1.3: "," instead
// of "/", no padding.
var imapBase64 = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,").WithPadding(base64.NoPadding)

// evalImapfolder is ${imapfolder{name}{sep}{specials}}: the folder name in
// modified UTF-7, with sep turned into "." and the characters of specials
// encoded. A "." or "/" that is neither sep nor special is an error. The
// name is taken to be UTF-8 (Exim converts from headers_charset, whose
// value in Debian's build is UTF-8).
// Spec: chapter "Internationalisation", ${imapfolder...}.
func evalImapfolder(st *state, args []node) (string, error) {
	a, err := st.strArgs(args)
	if err != nil {
		return "", err
	}
	name, sep, specials := a[0], "/", ""
	if len(a) > 1 {
		sep = a[1]
	}
	if len(a) > 2 {
		specials = a[2]
	}
	if len(sep) != 1 {
		return "", errorf("IMAP folder separator must be one character, found \"%s\"", sep)
	}
	if msg := utf8Problem(name); msg != "" {
		return "", errorf("imapfolder: iconv() failed to convert from UTF-8: %s", msg)
	}
	var out strings.Builder
	var pending []rune
	flush := func() {
		if len(pending) == 0 {
			return
		}
		units := utf16.Encode(pending)
		buf := make([]byte, 0, 2*len(units))
		for _, u := range units {
			buf = append(buf, byte(u>>8), byte(u))
		}
		out.WriteByte('&')
		out.WriteString(imapBase64.EncodeToString(buf))
		out.WriteByte('-')
		pending = pending[:0]
	}
	for _, r := range name {
		switch {
		case r == rune(sep[0]):
			flush()
			out.WriteByte('.')
		case r < 0x80 && strings.ContainsRune(specials, r):
			pending = append(pending, r)
		case r == '.' || r == '/':
			return "", errorf("imapfolder: illegal character '%c'", r)
		case r == '&':
			flush()
			out.WriteString("&-")
		case r >= 0x20 && r < 0x7f:
			flush()
			out.WriteRune(r)
		default:
			pending = append(pending, r)
		}
	}
	flush()
	return out.String(), nil
}

// utf8Problem is iconv's complaint about s, or "" when s is valid UTF-8:
// an incomplete sequence at the end is EINVAL, a bad one EILSEQ.
func utf8Problem(s string) string {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 {
			if !utf8.FullRuneInString(s[i:]) {
				return "Invalid argument"
			}
			return "Invalid or incomplete multibyte or wide character"
		}
		i += n
	}
	return ""
}
