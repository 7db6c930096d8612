package filter

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// Sieve filters (RFC 5228) as Exim 4.96 runs them. Exim's interfaces
// document, chapter "Sieve filter files"; the error texts are Exim's,
// observed with "exim -bf".

// sieveHeaderRE matches the first line of a Sieve filter file.
var sieveHeaderRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)^[ \t\r\n]*#[ \t]*sieve[ \t]+filter`)
})

// IsSieveFilter reports whether data starts with the "# Sieve filter"
// line.
func IsSieveFilter(data string) bool { return sieveHeaderRE().MatchString(data) }

// SieveError is an error in a Sieve filter, shown as Exim shows it:
// "MSG in line N".
type SieveError struct {
	Msg  string
	Line int
}

func (e *SieveError) Error() string { return fmt.Sprintf("%s in line %d", e.Msg, e.Line) }

// sieveTok is a token kind.
type sieveTok int

const (
	stEOF    sieveTok = iota
	stIdent           // identifier
	stTag             // :tag (text without the colon)
	stNumber          // number (value in num)
	stString          // quoted or text: string
	stPunct           // one of [ ] ( ) , ; { }
)

type sieveToken struct {
	kind sieveTok
	text string
	num  int64
	line int
}

// maxSieveNumber bounds numbers (Exim takes them as unsigned longs; a
// larger one is an error).
const maxSieveNumber = 1<<63 - 1

// sieveLexer splits a Sieve script into tokens (RFC 5228 section 2.4).
type sieveLexer struct {
	src  string
	pos  int
	line int
	peek *sieveToken
}

func (l *sieveLexer) errf(format string, a ...any) error {
	return &SieveError{Msg: fmt.Sprintf(format, a...), Line: l.line}
}

// skip skips white space and comments.
func (l *sieveLexer) skip() error {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == '\n':
			l.line++
			l.pos++
		case c == ' ' || c == '\t' || c == '\r':
			l.pos++
		case c == '#':
			for l.pos < len(l.src) && l.src[l.pos] != '\n' {
				l.pos++
			}
		case c == '/' && l.pos+1 < len(l.src) && l.src[l.pos+1] == '*':
			end := strings.Index(l.src[l.pos+2:], "*/")
			if end < 0 {
				return l.errf("missing end of comment")
			}
			l.line += strings.Count(l.src[l.pos:l.pos+2+end+2], "\n")
			l.pos += 2 + end + 2
		default:
			return nil
		}
	}
	return nil
}

// next returns the next token.
func (l *sieveLexer) next() (sieveToken, error) {
	if l.peek != nil {
		t := *l.peek
		l.peek = nil
		return t, nil
	}
	if err := l.skip(); err != nil {
		return sieveToken{}, err
	}
	t := sieveToken{line: l.line}
	if l.pos >= len(l.src) {
		return t, nil
	}
	c := l.src[l.pos]
	switch {
	case strings.IndexByte("[](),;{}", c) >= 0:
		l.pos++
		t.kind, t.text = stPunct, string(c)
	case c == '"':
		s, err := l.quoted()
		if err != nil {
			return t, err
		}
		t.kind, t.text = stString, s
	case c == ':':
		l.pos++
		start := l.pos
		for l.pos < len(l.src) && isIdentChar(l.src[l.pos]) {
			l.pos++
		}
		if start == l.pos {
			return t, l.errf("syntax error")
		}
		t.kind, t.text = stTag, strings.ToLower(l.src[start:l.pos])
	case c >= '0' && c <= '9':
		var n int64
		for l.pos < len(l.src) && l.src[l.pos] >= '0' && l.src[l.pos] <= '9' {
			if n > (maxSieveNumber-9)/10 {
				return t, l.errf("Numerical result out of range")
			}
			n = n*10 + int64(l.src[l.pos]-'0')
			l.pos++
		}
		if l.pos < len(l.src) {
			shift := map[byte]uint{'k': 10, 'K': 10, 'm': 20, 'M': 20, 'g': 30, 'G': 30}[l.src[l.pos]]
			if shift > 0 {
				if n > maxSieveNumber>>shift {
					return t, l.errf("Numerical result out of range")
				}
				n <<= shift
				l.pos++
			}
		}
		t.kind, t.num = stNumber, n
	case isIdentStart(c):
		start := l.pos
		for l.pos < len(l.src) && isIdentChar(l.src[l.pos]) {
			l.pos++
		}
		word := strings.ToLower(l.src[start:l.pos])
		if word == "text" && l.pos < len(l.src) && l.src[l.pos] == ':' {
			l.pos++
			s, err := l.multiline()
			if err != nil {
				return t, err
			}
			t.kind, t.text = stString, s
			return t, nil
		}
		t.kind, t.text = stIdent, word
	default:
		return t, l.errf("syntax error")
	}
	return t, nil
}

// unread pushes t back.
func (l *sieveLexer) unread(t sieveToken) { l.peek = &t }

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isIdentChar(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

// quoted reads a quoted string: backslash quotes the next character.
func (l *sieveLexer) quoted() (string, error) {
	l.pos++ // opening quote
	startLine := l.line
	var b strings.Builder
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch c {
		case '"':
			l.pos++
			return b.String(), nil
		case '\\':
			if l.pos+1 < len(l.src) {
				l.pos++
				c = l.src[l.pos]
			}
		case '\n':
			l.line++
			// A bare LF in a string is taken as CRLF (RFC 5228
			// section 2.4.2).
			b.WriteString("\r")
		}
		b.WriteByte(c)
		l.pos++
	}
	return "", &SieveError{Msg: "syntax error", Line: startLine}
}

// multiline reads a "text:" string: after optional white space and a
// comment, lines up to one holding only ".", dot-stuffing undone, each
// line ending in CRLF (RFC 5228 section 2.4.2).
func (l *sieveLexer) multiline() (string, error) {
	for l.pos < len(l.src) && (l.src[l.pos] == ' ' || l.src[l.pos] == '\t') {
		l.pos++
	}
	if l.pos < len(l.src) && l.src[l.pos] == '#' {
		for l.pos < len(l.src) && l.src[l.pos] != '\n' {
			l.pos++
		}
	}
	if l.pos < len(l.src) && l.src[l.pos] == '\r' {
		l.pos++
	}
	if l.pos >= len(l.src) || l.src[l.pos] != '\n' {
		return "", l.errf("syntax error")
	}
	l.pos++
	l.line++
	var b strings.Builder
	for l.pos < len(l.src) {
		end := strings.IndexByte(l.src[l.pos:], '\n')
		var line string
		if end < 0 {
			line, l.pos = l.src[l.pos:], len(l.src)
		} else {
			line, l.pos = l.src[l.pos:l.pos+end], l.pos+end+1
			l.line++
		}
		line = strings.TrimSuffix(line, "\r")
		if line == "." {
			return b.String(), nil
		}
		line = strings.TrimPrefix(line, ".")
		b.WriteString(line + "\r\n")
	}
	return "", l.errf("missing end of multi line string")
}
