package expand

import (
	"strconv"
	"strings"
)

// maxDepth caps nesting of ${...} so that input cannot overflow the stack.
const maxDepth = 200

// parser reads an expansion string the way Exim reads it: left to right,
// one character at a time, with text ending at the first unescaped "}"
// inside an argument (braces do not nest in plain text).
type parser struct {
	src   string
	pos   int
	depth int
	// headerAtEnd is set when a header variable's name ran to the end of
	// the string, which Exim mentions when a "}" is then missing.
	headerAtEnd bool
	// headerBrace is set when a header name (in a variable or after
	// "def:") took in a brace, which Exim mentions when the yes/no part
	// of an item then runs off the end of the string.
	headerBrace bool
}

func (p *parser) eof() bool  { return p.pos >= len(p.src) }
func (p *parser) peek() byte { return p.src[p.pos] }
func (p *parser) rest() string {
	return p.src[p.pos:]
}

func (p *parser) skipSpace() {
	for p.pos < len(p.src) && isSpace(p.src[p.pos]) {
		p.pos++
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// parseTop parses a whole string; a "}" at the top level is plain text.
func (p *parser) parseTop() (node, error) {
	n, err := p.parseText(false)
	if err != nil {
		return nil, err
	}
	return n, nil
}

// parseText parses text with embedded expansions. With inBraces it stops
// before the first unescaped "}" and reports "missing } at end of string"
// when the string ends first (the caller consumes the "}").
func (p *parser) parseText(inBraces bool) (node, error) {
	var parts seq
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			parts = append(parts, text(lit.String()))
			lit.Reset()
		}
	}
	for !p.eof() {
		c := p.peek()
		switch {
		case c == '}' && inBraces:
			flush()
			return parts.simplify(), nil
		case c == '\\':
			if err := p.escape(&lit); err != nil {
				return nil, err
			}
		case c == '$':
			n, err := p.parseDollar()
			if err != nil {
				return nil, err
			}
			if t, ok := n.(text); ok {
				lit.WriteString(string(t))
				continue
			}
			flush()
			parts = append(parts, n)
		default:
			lit.WriteByte(c)
			p.pos++
		}
	}
	if inBraces {
		if p.headerAtEnd {
			return nil, errorf("missing } at end of string - could be header name not terminated by colon")
		}
		return nil, errorf("missing } at end of string")
	}
	flush()
	return parts.simplify(), nil
}

// escape handles a backslash: \N...\N protects text; \n \r \t \b \f \v,
// octal \ddd and hex \xhh are interpreted; any other character stands for
// itself.
func (p *parser) escape(lit *strings.Builder) error {
	p.pos++ // the backslash
	if p.eof() {
		return errorf("\\ at end of string")
	}
	c := p.peek()
	if c == 'N' {
		p.pos++
		end := strings.Index(p.rest(), "\\N")
		if end < 0 {
			lit.WriteString(p.rest())
			p.pos = len(p.src)
			return nil
		}
		lit.WriteString(p.src[p.pos : p.pos+end])
		p.pos += end + 2
		return nil
	}
	r, n := interpretEscape(p.rest())
	lit.WriteString(r)
	p.pos += n
	return nil
}

// interpretEscape interprets the escape sequence at the start of s (after
// the backslash) and returns the text it stands for and its length.
func interpretEscape(s string) (string, int) {
	c := s[0]
	switch c {
	case 'n':
		return "\n", 1
	case 'r':
		return "\r", 1
	case 't':
		return "\t", 1
	case 'b':
		return "\b", 1
	case 'f':
		return "\f", 1
	case 'v':
		return "\v", 1
	case 'x':
		v, i := 0, 1
		for i < 3 && i < len(s) && isHex(s[i]) {
			v = v*16 + hexVal(s[i])
			i++
		}
		return string([]byte{byte(v)}), i
	}
	if c >= '0' && c <= '7' {
		v, i := 0, 0
		for i < 3 && i < len(s) && s[i] >= '0' && s[i] <= '7' {
			v = v*8 + int(s[i]-'0')
			i++
		}
		return string([]byte{byte(v)}), i
	}
	return s[:1], 1
}

func isHex(c byte) bool {
	return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexVal(c byte) int {
	switch {
	case isDigit(c):
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	default:
		return int(c-'A') + 10
	}
}

// headerPrefixes are the variable-name prefixes that introduce a header
// variable, with the mode each gives.
var headerPrefixes = []struct {
	prefix string
	mode   HeaderMode
}{
	{"bheader_", HeaderBasic}, {"bh_", HeaderBasic},
	{"header_", HeaderDecoded}, {"h_", HeaderDecoded},
	{"lheader_", HeaderList}, {"lh_", HeaderList},
	{"rheader_", HeaderRaw}, {"rh_", HeaderRaw},
}

// parseDollar parses what follows a "$": a variable, a header variable, a
// numeric variable, or a braced ${...} construct.
func (p *parser) parseDollar() (node, error) {
	p.pos++ // $
	if p.eof() || !(isAlnum(p.peek()) || p.peek() == '_' || p.peek() == '{') {
		return nil, errorf("$ not followed by letter, digit, or {")
	}
	if p.peek() != '{' {
		start := p.pos
		if isDigit(p.peek()) {
			for !p.eof() && isDigit(p.peek()) {
				p.pos++
			}
			n, _ := strconv.Atoi(p.src[start:p.pos])
			return numVar(n), nil
		}
		for !p.eof() && (isAlnum(p.peek()) || p.peek() == '_') {
			p.pos++
		}
		name := p.src[start:p.pos]
		for _, hp := range headerPrefixes {
			if strings.HasPrefix(name, hp.prefix) {
				p.pos = start + len(hp.prefix)
				return p.parseHeaderVar(hp.mode)
			}
		}
		return newVar(name)
	}
	// ${ ...
	p.pos++
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, errorf("expansion nested too deeply")
	}
	start := p.pos
	for !p.eof() && (isAlnum(p.peek()) || p.peek() == '_' ||
		// A "-" right after "_" belongs to the name: ${substr_-1:...}.
		p.peek() == '-' && p.pos > start && p.src[p.pos-1] == '_') {
		p.pos++
	}
	name := p.src[start:p.pos]
	if name == "" {
		return nil, errorf("letter or digit expected after ${")
	}
	if it, ok := items[name]; ok {
		return it.parse(p, name)
	}
	if p.eof() {
		return nil, errorf("\"${%s\" is not a known operator (or a } is missing in a variable reference)", name)
	}
	if p.peek() == '}' {
		p.pos++
		if isDigit(name[0]) {
			n, err := strconv.Atoi(name)
			if err != nil {
				return nil, errorf("unknown variable in \"${%s}\"", name)
			}
			return numVar(n), nil
		}
		if _, ok := lookupVariable(name); !ok {
			return nil, errorf("unknown variable in \"${%s}\"", name)
		}
		return newVar(name)
	}
	if p.peek() == ':' {
		p.pos++
		return p.parseOperator(name)
	}
	return nil, errorf("\"${%s\" is not a known operator (or a } is missing in a variable reference)", name)
}

// parseHeaderVar parses the header name after $h_ and friends: it ends at
// a colon (consumed), white space or the end of the string.
func (p *parser) parseHeaderVar(mode HeaderMode) (node, error) {
	start := p.pos
	for !p.eof() && p.peek() != ':' && !isSpace(p.peek()) {
		p.pos++
	}
	name := p.src[start:p.pos]
	if !p.eof() && p.peek() == ':' {
		p.pos++
	} else if p.eof() {
		p.headerAtEnd = true
	}
	if strings.ContainsAny(name, "{}") {
		p.headerBrace = true
	}
	return headerVar{name: name, mode: mode}, nil
}

// parseArg parses one "{...}" argument: it expects "{" (after optional
// white space) and returns the text up to the matching "}". ok is false
// (and nothing consumed but white space) when the next character is not
// "{".
func (p *parser) parseArg() (n node, ok bool, err error) {
	p.skipSpace()
	if p.eof() || p.peek() != '{' {
		return nil, false, nil
	}
	p.pos++
	n, err = p.parseText(true)
	if err != nil {
		return nil, true, err
	}
	p.pos++ // }
	return n, true, nil
}

// parseOperator parses the argument of ${name:...} (the colon has been
// read) and the closing brace.
func (p *parser) parseOperator(name string) (node, error) {
	op, params, err := findOperator(name)
	if err != nil {
		return nil, err
	}
	arg, err := p.parseText(true)
	if err != nil {
		return nil, err
	}
	p.pos++ // }
	return &opNode{name: name, op: op, params: params, arg: arg}, nil
}
