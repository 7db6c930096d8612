package router

// The address parser of redirection lists and filter commands: one RFC
// 2822 mailbox (an addr-spec, or a phrase and a route-addr in angle
// brackets), with comments and white space allowed between its tokens,
// and Exim's error texts (observed with Exim 4.96; spec chapter "The
// redirect router", section "Redirection data").

import (
	"errors"
	"fmt"
	"strings"
)

// errLocalPart is Exim's text for a word where "@" should be.
var errLocalPart = errors.New(`missing or malformed local part (expected word or "<")`)

// mailboxParser walks one mailbox.
type mailboxParser struct {
	s string
	i int
	// literals is allow_domain_literals: without it a domain literal
	// in angle brackets is an error (an addr-spec's is not; observed
	// with Exim 4.96).
	literals bool
}

// parseMailbox extracts the address from one mailbox, as
// parseMailboxWith without allow_domain_literals.
func parseMailbox(s string) (string, error) { return parseMailboxWith(s, false) }

// parseMailboxWith extracts the address from one mailbox; literals is
// allow_domain_literals. An item that is only comments and white space
// yields "".
func parseMailboxWith(s string, literals bool) (string, error) {
	p := &mailboxParser{s: s, literals: literals}
	p.skip()
	if p.end() {
		return "", nil
	}
	if a := angleStart(s); a >= 0 {
		p.i = a + 1
		return p.routeAddr()
	}
	lp, err := p.localPart()
	if err != nil {
		return "", err
	}
	if lp == "" {
		if p.peek() == '@' {
			return "", errors.New("no local part")
		}
		return "", errLocalPart
	}
	p.skip()
	if p.end() {
		return lp, nil
	}
	if p.peek() != '@' {
		return "", errLocalPart
	}
	p.i++
	dom, err := p.domain()
	if err != nil {
		return "", err
	}
	if err := p.nothingMore(); err != nil {
		return "", err
	}
	return lp + "@" + dom, nil
}

// routeAddr parses what follows "<": an optional source route (dropped),
// the address, ">" and nothing more.
func (p *mailboxParser) routeAddr() (string, error) {
	p.skip()
	if p.peek() == '@' {
		if k := strings.IndexByte(p.s[p.i:], ':'); k >= 0 {
			p.i += k + 1
		}
	}
	lp, err := p.localPart()
	if err != nil {
		return "", err
	}
	if lp == "" {
		return "", errors.New("missing or malformed local part")
	}
	p.skip()
	addr := lp
	switch p.peek() {
	case '@':
		p.i++
		dom, err := p.domain()
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(dom, "[") && !p.literals {
			return "", errors.New("domain literals not allowed")
		}
		addr += "@" + dom
	case '>':
	default:
		return "", fmt.Errorf(`"@" or "." expected after "%s"`, lp)
	}
	p.skip()
	if p.end() {
		return "", errors.New("'>' missing at end of address")
	}
	if p.peek() != '>' {
		return "", p.junk()
	}
	p.i++
	if err := p.nothingMore(); err != nil {
		return "", err
	}
	return addr, nil
}

// localPart reads words (atoms and quoted strings) and dots (any number,
// anywhere); white space and comments may stand around the dots.
func (p *mailboxParser) localPart() (string, error) {
	var b strings.Builder
	for {
		p.skip()
		if p.peek() == '.' {
			b.WriteByte('.')
			p.i++
			continue
		}
		w, err := p.word()
		if err != nil {
			return "", err
		}
		if w == "" {
			return b.String(), nil
		}
		b.WriteString(w)
		p.skip()
		if p.peek() != '.' {
			return b.String(), nil
		}
	}
}

// word reads an atom or a quoted string (quotes kept).
func (p *mailboxParser) word() (string, error) {
	if p.peek() == '"' {
		j := closingQuote(p.s[p.i:])
		if j < 0 {
			return "", errors.New("unmatched doublequote in local part")
		}
		w := p.s[p.i : p.i+j+1]
		p.i += j + 1
		return w, nil
	}
	start := p.i
	for !p.end() {
		c := p.s[p.i]
		if c == '\\' {
			// A backslash takes the next character into the word.
			p.i = min(p.i+2, len(p.s))
			continue
		}
		if !isAtext(c) || c == '.' {
			break
		}
		p.i++
	}
	return p.s[start:p.i], nil
}

// domain reads a domain literal or dot-separated atoms (white space and
// comments may stand around the dots).
func (p *mailboxParser) domain() (string, error) {
	p.skip()
	var dom string
	if p.peek() == '[' {
		k := strings.IndexByte(p.s[p.i:], ']')
		if k < 0 {
			return "", errors.New("malformed domain literal")
		}
		dom = p.s[p.i : p.i+k+1]
		p.i += k + 1
	} else {
		var b strings.Builder
		for {
			p.skip()
			// A label starts with a letter or digit and goes on with
			// those and "-".
			start := p.i
			if p.end() || !isAlnum(p.s[p.i]) {
				break
			}
			for !p.end() && (isAlnum(p.s[p.i]) || p.s[p.i] == '-') {
				p.i++
			}
			b.WriteString(p.s[start:p.i])
			p.skip()
			if p.peek() != '.' {
				break
			}
			b.WriteByte('.')
			p.i++
		}
		dom = b.String()
	}
	if dom == "" || strings.HasPrefix(dom, ".") || strings.HasSuffix(dom, ".") || strings.Contains(dom, "..") {
		return "", errors.New("domain missing or malformed")
	}
	return dom, nil
}

// nothingMore fails when anything but white space and comments follows.
func (p *mailboxParser) nothingMore() error {
	p.skip()
	if p.end() {
		return nil
	}
	return p.junk()
}

// junk is the error for text where the address should have ended: the
// text from there, and what came before it as written.
func (p *mailboxParser) junk() error {
	return fmt.Errorf("malformed address: %s may not follow %s", strings.TrimSpace(p.s[p.i:]), p.s[:p.i])
}

func (p *mailboxParser) end() bool { return p.i >= len(p.s) }

func (p *mailboxParser) peek() byte {
	if p.end() {
		return 0
	}
	return p.s[p.i]
}

// skip passes white space and (comments), which nest; an unterminated
// comment runs to the end.
func (p *mailboxParser) skip() {
	depth := 0
	for !p.end() {
		c := p.s[p.i]
		switch {
		case depth > 0 && c == '\\':
			p.i++
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth == 0 && !isSpaceByte(c):
			return
		}
		p.i++
	}
	p.i = min(p.i, len(p.s))
}

// angleStart finds a "<" outside quotes and comments, or -1.
func angleStart(s string) int {
	in, depth := false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			i++
		case in:
			if c == '"' {
				in = false
			}
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth > 0:
		case c == '"':
			in = true
		case c == '<':
			return i
		}
	}
	return -1
}

func isAtext(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte("!#$%&'*+-/=?^_`{|}~.", c) >= 0 || c >= 0x80
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
