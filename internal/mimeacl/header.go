// Package mimeacl splits a message into MIME parts the way Exim's MIME
// ACL sees them and supports the content-scanning conditions that work
// on them: it sets the $mime_* variables of each part, decodes parts
// into the spool's scan directory (the decode condition), and matches
// regular expressions against raw and decoded parts and against the
// whole message (regex and mime_regex).
//
// Exim's parser has quirks that are observable from an ACL, and this
// package reproduces them (all observed with Exim 4.96): header values
// are lowercased with white space and comments removed, parameter values
// keep their case and any text after a closing quote, boundaries match
// as line prefixes, a part's content ends at its parent's next boundary,
// attached messages (message/rfc822) are walked after the message that
// holds them, and the decoders are lenient in Exim's way.
//
// Exim specification: chapter "Content scanning at ACL time", sections
// "The MIME ACL" and "Scanning with regular expressions".
package mimeacl

import (
	"bytes"
	"strings"
)

// headerFields are the part header fields the MIME ACL reads.
type headerFields struct {
	contentType, charset, boundary    string
	description, disposition, id, cte string
	filename                          string
}

// apply reads one unfolded header line ("Name: value") into f. Later
// lines overwrite what earlier ones set.
func (f *headerFields) apply(line string) {
	name, value, ok := strings.Cut(line, ":")
	if !ok {
		return
	}
	switch strings.ToLower(strings.TrimRight(name, " \t")) {
	case "content-type":
		f.contentType = mainValue(value)
		for _, p := range params(value) {
			switch p.name {
			case "charset":
				f.charset = p.value
			case "boundary":
				f.boundary = p.value
			case "name":
				f.filename = p.value
			}
		}
	case "content-disposition":
		f.disposition = mainValue(value)
		for _, p := range params(value) {
			if p.name == "filename" {
				f.filename = p.value
			}
		}
	case "content-transfer-encoding":
		f.cte = mainValue(value)
	case "content-id":
		f.id = mainValue(value)
	case "content-description":
		f.description = mainValue(value)
	}
}

// mainValue is a header value as the $mime_content_* variables show it:
// the text before the first ";", lowercased, without white space and
// without (comments).
func mainValue(v string) string {
	var b strings.Builder
	depth := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == ';':
			return b.String()
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth > 0, c == ' ', c == '\t', c == '\n', c == '\r':
		default:
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			b.WriteByte(c)
		}
	}
	return b.String()
}

// param is one "name=value" parameter of a header.
type param struct{ name, value string }

// params reads the parameters after the first ";" of a header value.
// Names are lowercased; a value runs to the next ";" outside double
// quotes, the quotes removed and anything after a closing quote kept
// (Exim appends a ";" to the header first, which a value still in
// quotes at the end takes in). RFC 2231 continuations (name*0, name*1)
// are joined and their %XX escapes decoded, a charset'language' prefix
// dropped; plain values are RFC 2047 decoded, the bytes left in their
// charset.
func params(v string) []param {
	i := strings.IndexByte(v, ';')
	if i < 0 {
		return nil
	}
	s := v[i+1:] + ";"
	var out []param
	starred := map[string]int{} // base name -> index in out
	for len(s) > 0 {
		s = strings.TrimLeft(s, " \t\r\n")
		eq := strings.IndexAny(s, "=;")
		if eq < 0 {
			break
		}
		if s[eq] == ';' {
			s = s[eq+1:]
			continue
		}
		name := strings.ToLower(strings.TrimRight(s[:eq], " \t\r\n"))
		s = strings.TrimLeft(s[eq+1:], " \t\r\n")
		var b strings.Builder
		quoted := false
		j := 0
		for ; j < len(s); j++ {
			c := s[j]
			if c == '"' {
				quoted = !quoted
				continue
			}
			if c == ';' && !quoted {
				break
			}
			b.WriteByte(c)
		}
		if j < len(s) {
			s = s[j+1:]
		} else {
			s = ""
		}
		val := b.String()
		if base, _, star := strings.Cut(name, "*"); star {
			if k, ok := starred[base]; ok {
				out[k].value += val
				continue
			}
			starred[base] = len(out)
			out = append(out, param{name: base, value: val})
			continue
		}
		out = append(out, param{name: name, value: decode2047(val)})
	}
	for _, k := range starred {
		out[k].value = decode2231(out[k].value)
	}
	// A starred parameter counts where it first appeared; a later plain
	// one of the same name still wins, as parameters apply in order.
	return out
}

// decode2231 decodes an RFC 2231 extended value: the charset and
// language prefix ("utf-8'en'") is dropped and %XX escapes decoded; the
// bytes stay in their charset.
func decode2231(v string) string {
	if i := strings.IndexByte(v, '\''); i >= 0 {
		if j := strings.IndexByte(v[i+1:], '\''); j >= 0 {
			v = v[i+1+j+1:]
		}
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '%' && i+2 < len(v) {
			if h, ok := unhex(v[i+1], v[i+2]); ok {
				b.WriteByte(h)
				i += 2
				continue
			}
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// decode2047 decodes RFC 2047 encoded words ("=?charset?Q?text?=") in
// v, leaving the bytes in their charset (Exim does not convert them);
// white space between two encoded words is dropped.
func decode2047(v string) string {
	if !strings.Contains(v, "=?") {
		return v
	}
	var b strings.Builder
	pendingSpace := ""
	lastWasWord := false
	for len(v) > 0 {
		i := strings.Index(v, "=?")
		if i < 0 {
			b.WriteString(pendingSpace)
			b.WriteString(v)
			break
		}
		word, n, ok := encodedWord(v[i:])
		if !ok {
			b.WriteString(pendingSpace)
			b.WriteString(v[:i+2])
			pendingSpace, lastWasWord = "", false
			v = v[i+2:]
			continue
		}
		between := v[:i]
		if !(lastWasWord && strings.Trim(between, " \t\r\n") == "") {
			b.WriteString(pendingSpace)
			b.WriteString(between)
		}
		b.Write(word)
		v = v[i+n:]
		// White space up to the next encoded word is dropped only if
		// one follows.
		k := 0
		for k < len(v) && (v[k] == ' ' || v[k] == '\t' || v[k] == '\r' || v[k] == '\n') {
			k++
		}
		pendingSpace, v, lastWasWord = v[:k], v[k:], true
		if strings.HasPrefix(v, "=?") {
			pendingSpace = ""
		}
	}
	return b.String()
}

// encodedWord decodes one "=?charset?enc?text?=" at the start of s and
// returns the bytes and the length it took.
func encodedWord(s string) ([]byte, int, bool) {
	parts := strings.SplitN(s[2:], "?", 3)
	if len(parts) < 3 || parts[0] == "" || len(parts[1]) != 1 {
		return nil, 0, false
	}
	end := strings.Index(parts[2], "?=")
	if end < 0 {
		return nil, 0, false
	}
	text := parts[2][:end]
	if strings.ContainsAny(text, " \t") {
		return nil, 0, false
	}
	n := 2 + len(parts[0]) + 1 + 1 + 1 + end + 2
	switch parts[1] {
	case "q", "Q":
		var b bytes.Buffer
		for i := 0; i < len(text); i++ {
			c := text[i]
			switch {
			case c == '_':
				b.WriteByte(' ')
			case c == '=' && i+2 < len(text):
				if h, ok := unhex(text[i+1], text[i+2]); ok {
					b.WriteByte(h)
					i += 2
					continue
				}
				b.WriteByte(c)
			default:
				b.WriteByte(c)
			}
		}
		return b.Bytes(), n, true
	case "b", "B":
		out, _ := decodeBase64([]byte(text))
		return out, n, true
	}
	return nil, 0, false
}

// unhex decodes two hexadecimal digits.
func unhex(a, b byte) (byte, bool) {
	x, ok1 := hexval(a)
	y, ok2 := hexval(b)
	return x<<4 | y, ok1 && ok2
}

func hexval(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
