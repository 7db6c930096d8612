package filter

import "strings"

// Exim filter document, chapter "Exim filter files", section "Data values
// in filter commands": items are words or double-quoted strings; # starts
// a comment outside quotes.

// lexer reads items from a filter file, counting lines.
type lexer struct {
	src  string
	pos  int
	line int
}

// item is one word or quoted string.
type item struct {
	text   string
	quoted bool
	eof    bool
}

// skip passes over white space and comments.
func (l *lexer) skip() {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == '\n':
			l.line++
			l.pos++
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			l.pos++
		case c == '#':
			for l.pos < len(l.src) && l.src[l.pos] != '\n' {
				l.pos++
			}
		default:
			return
		}
	}
}

// next reads the next item and the white space after it, so that the line
// number is that of the following item, as Exim reports it.
func (l *lexer) next() (item, error) {
	l.skip()
	if l.pos >= len(l.src) {
		return item{eof: true}, nil
	}
	var it item
	c := l.src[l.pos]
	switch {
	case c == '"':
		s, err := l.quoted()
		if err != nil {
			return it, err
		}
		it = item{text: s, quoted: true}
	case c == '(' || c == ')':
		l.pos++
		it = item{text: string(c)}
	default:
		start := l.pos
		for l.pos < len(l.src) && !isSpace(l.src[l.pos]) && l.src[l.pos] != '(' && l.src[l.pos] != ')' {
			l.pos++
		}
		it = item{text: l.src[start:l.pos]}
	}
	l.skip()
	return it, nil
}

// peek returns the next item without consuming it.
func (l *lexer) peek() (item, error) {
	save := *l
	it, err := l.next()
	*l = save
	return it, err
}

// quoted reads a double-quoted string with its backslash escapes.
func (l *lexer) quoted() (string, error) {
	startLine := l.line
	l.pos++
	var b strings.Builder
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch c {
		case '"':
			l.pos++
			return b.String(), nil
		case '\n':
			// A quoted string ends on its line unless continued.
			return "", &Error{Msg: "quote missing at end of string", Line: startLine, NoNear: true}
		case '\\':
			l.pos++
			if l.pos >= len(l.src) {
				continue
			}
			l.escape(&b)
		default:
			b.WriteByte(c)
			l.pos++
		}
	}
	return "", &Error{Msg: "quote missing at end of string", Line: startLine, NoNear: true}
}

// escape decodes the escape sequence after a backslash.
func (l *lexer) escape(b *strings.Builder) {
	c := l.src[l.pos]
	switch {
	case c == '\n':
		l.line++
		l.pos++
		for l.pos < len(l.src) && (l.src[l.pos] == ' ' || l.src[l.pos] == '\t') {
			l.pos++
		}
	case c == 'n':
		b.WriteByte('\n')
		l.pos++
	case c == 'r':
		b.WriteByte('\r')
		l.pos++
	case c == 't':
		b.WriteByte('\t')
		l.pos++
	case c >= '0' && c <= '7':
		v := 0
		for n := 0; n < 3 && l.pos < len(l.src) && l.src[l.pos] >= '0' && l.src[l.pos] <= '7'; n++ {
			v = v*8 + int(l.src[l.pos]-'0')
			l.pos++
		}
		b.WriteByte(byte(v))
	case c == 'x':
		l.pos++
		v, n := 0, 0
		for ; n < 2 && l.pos < len(l.src) && isHex(l.src[l.pos]); n++ {
			v = v*16 + hexVal(l.src[l.pos])
			l.pos++
		}
		if n == 0 {
			b.WriteByte('x')
			return
		}
		b.WriteByte(byte(v))
	default:
		b.WriteByte(c)
		l.pos++
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	}
	return int(c-'A') + 10
}
