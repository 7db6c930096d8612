package dkim

import (
	"io"
	"strings"
)

// Canonicalisation, RFC 6376 section 3.4.

// Canon is a canonicalisation algorithm name: "simple" or "relaxed".
type Canon string

// The two canonicalisation algorithms.
const (
	Simple  Canon = "simple"
	Relaxed Canon = "relaxed"
)

func isWSP(c byte) bool { return c == ' ' || c == '\t' }

// canonHeader returns one header field canonicalised, with a final CRLF
// unless last is true (the DKIM-Signature field itself is hashed without
// it). text is the raw field, "Name: value" with its folding, with LF or
// CRLF line ends.
func canonHeader(c Canon, text string, last bool) string {
	text = strings.TrimRight(text, "\r\n")
	if c == Simple {
		s := toCRLF(text)
		if !last {
			s += "\r\n"
		}
		return s
	}
	i := strings.IndexByte(text, ':')
	if i < 0 {
		i = len(text)
	}
	name := strings.ToLower(strings.TrimRight(text[:i], " \t"))
	val := ""
	if i < len(text) {
		val = text[i+1:]
	}
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte(':')
	b.WriteString(relaxValue(val))
	if !last {
		b.WriteString("\r\n")
	}
	return b.String()
}

// relaxValue unfolds a header value, turns runs of white space into one
// space and trims white space at both ends.
func relaxValue(v string) string {
	var b strings.Builder
	space := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\r' || c == '\n':
			continue
		case isWSP(c):
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteByte(c)
	}
	return b.String()
}

// toCRLF turns every line end (LF or CRLF) into CRLF.
func toCRLF(s string) string {
	if !strings.Contains(s, "\n") {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\n", "\r\n")
}

// bodyCanon is a writer that canonicalises a message body (lines ending in
// LF or CRLF; a last line without an end counts as one) into w.
type bodyCanon struct {
	c       Canon
	w       io.Writer
	partial []byte // an incomplete line kept between writes
	empty   int    // empty lines held back (they count only if text follows)
	n       int64  // bytes written to w
	limit   int64  // stop after this many canonical bytes (<0: no limit)
}

func newBodyCanon(c Canon, w io.Writer) *bodyCanon {
	return &bodyCanon{c: c, w: w, limit: -1}
}

// Write implements io.Writer.
func (b *bodyCanon) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := indexLF(p)
		if i < 0 {
			b.partial = append(b.partial, p...)
			break
		}
		line := p[:i]
		if len(b.partial) > 0 {
			b.partial = append(b.partial, line...)
			line = b.partial
		}
		b.line(line)
		b.partial = b.partial[:0]
		p = p[i+1:]
	}
	return n, nil
}

func indexLF(p []byte) int {
	for i, c := range p {
		if c == '\n' {
			return i
		}
	}
	return -1
}

// line canonicalises one line (without its LF; a CR before it is dropped).
func (b *bodyCanon) line(line []byte) {
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	if b.c == Relaxed {
		var out []byte
		space := false
		for _, c := range line {
			if isWSP(c) {
				space = true
				continue
			}
			if space {
				out = append(out, ' ')
				space = false
			}
			out = append(out, c)
		}
		line = out
	}
	if len(line) == 0 {
		b.empty++
		return
	}
	for ; b.empty > 0; b.empty-- {
		b.emit([]byte("\r\n"))
	}
	b.emit(line)
	b.emit([]byte("\r\n"))
}

func (b *bodyCanon) emit(p []byte) {
	if b.limit >= 0 {
		if b.n >= b.limit {
			return
		}
		if int64(len(p)) > b.limit-b.n {
			p = p[:b.limit-b.n]
		}
	}
	b.w.Write(p)
	b.n += int64(len(p))
}

// Close ends the body: a partial last line counts as a line. An empty
// body (or one of empty lines only) canonicalises to nothing in both
// algorithms: Exim does so, where RFC 6376 section 3.4.3 would have "\r\n"
// for simple.
func (b *bodyCanon) Close() {
	if len(b.partial) > 0 {
		b.line(b.partial)
		b.partial = nil
	}
}
