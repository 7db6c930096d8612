package smtp

import (
	"fmt"
	"strings"
)

// AddressError is a syntax error in a MAIL or RCPT address, with Exim's
// text (without the "<address>: " prefix the SMTP reply adds).
type AddressError struct {
	Msg string
}

func (e *AddressError) Error() string { return e.Msg }

func addrErr(format string, args ...any) *AddressError {
	return &AddressError{Msg: fmt.Sprintf(format, args...)}
}

// maxCommentDepth caps the nesting of RFC 822 comments in an address.
const maxCommentDepth = 64

// addrParser walks an address in the RFC 822/5321 syntax Exim accepts
// for MAIL and RCPT: an optional phrase, an optional "<...>" with an
// optional source route, a local part of words (atoms or quoted strings)
// joined by dots, and a domain of letters, digits and hyphens.
type addrParser struct {
	s   string
	pos int
}

// skipSpace skips white space and RFC 822 comments.
func (p *addrParser) skipSpace() {
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			p.pos++
		case c == '(':
			depth := 0
			for p.pos < len(p.s) {
				switch p.s[p.pos] {
				case '\\':
					p.pos++
				case '(':
					depth++
				case ')':
					depth--
				}
				p.pos++
				if depth == 0 || depth > maxCommentDepth {
					break
				}
			}
			if p.pos > len(p.s) {
				// A backslash at the very end.
				p.pos = len(p.s)
			}
		default:
			return
		}
	}
}

func (p *addrParser) peek() byte {
	if p.pos < len(p.s) {
		return p.s[p.pos]
	}
	return 0
}

// isAtomChar reports whether c may appear in an RFC 822 atom (8-bit
// bytes are allowed, for SMTPUTF8).
func isAtomChar(c byte) bool {
	if c >= 0x80 {
		return true
	}
	if c <= ' ' || c == 0x7f {
		return false
	}
	return !strings.ContainsRune("()<>@,;:\\\".[]", rune(c))
}

// word reads an atom or a quoted string.
func (p *addrParser) word() (string, *AddressError) {
	start := p.pos
	if p.peek() == '"' {
		p.pos++
		for {
			if p.pos >= len(p.s) {
				return "", addrErr("unmatched doublequote in local part")
			}
			c := p.s[p.pos]
			p.pos++
			if c == '\\' {
				p.pos++
				continue
			}
			if c == '"' {
				return p.s[start:p.pos], nil
			}
		}
	}
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		if c == '\\' && p.pos+1 < len(p.s) {
			p.pos += 2
			continue
		}
		if !isAtomChar(c) {
			break
		}
		p.pos++
	}
	return p.s[start:p.pos], nil
}

// localPart reads words separated by dots.
func (p *addrParser) localPart() (string, *AddressError) {
	var b strings.Builder
	for {
		p.skipSpace()
		w, err := p.word()
		if err != nil {
			return "", err
		}
		b.WriteString(w)
		p.skipSpace()
		if p.peek() != '.' {
			return b.String(), nil
		}
		b.WriteByte('.')
		p.pos++
	}
}

// domain reads a domain: labels of letters, digits and hyphens.
func (p *addrParser) domain() (string, *AddressError) {
	p.skipSpace()
	if p.peek() == '[' {
		return "", addrErr("domain literals not allowed")
	}
	start := p.pos
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		if c == '.' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			p.pos++
			continue
		}
		break
	}
	d := p.s[start:p.pos]
	if !validDomain(d) {
		return "", addrErr("domain missing or malformed")
	}
	p.skipSpace()
	return d, nil
}

func validDomain(d string) bool {
	if d == "" {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || label[0] == '-' {
			return false
		}
	}
	return true
}

// route skips a source route ("@a,@b:"), which RFC 5321 says to ignore.
func (p *addrParser) route() (bool, *AddressError) {
	for p.peek() == '@' {
		p.pos++
		if _, err := p.domain(); err != nil {
			// A route's domain that does not parse gives its own error
			// ("<@>: domain missing or malformed", observed with Exim
			// 4.96).
			return false, err
		}
		switch p.peek() {
		case ',':
			p.pos++
			p.skipSpace()
		case ':':
			p.pos++
			p.skipSpace()
			return true, nil
		default:
			return false, nil
		}
	}
	return true, nil
}

// addrSpec reads local-part [@ domain].
func (p *addrParser) addrSpec() (string, *AddressError) {
	lp, err := p.localPart()
	if err != nil {
		return "", err
	}
	if p.peek() != '@' {
		if lp == "" {
			return "", addrErr("missing or malformed local part")
		}
		if c := p.peek(); c != 0 && c != '>' {
			return "", addrErr("\"@\" or \".\" expected after %q", lp)
		}
		return lp, nil
	}
	if lp == "" {
		return "", addrErr("no local part")
	}
	p.pos++
	d, err := p.domain()
	if err != nil {
		return "", err
	}
	return lp + "@" + d, nil
}

// ParseAddress extracts the address from the argument of MAIL FROM: or
// RCPT TO: (after any ESMTP parameters were removed), as Exim does:
// "<a@b>", "a@b", "Name <a@b>", with comments, quoted local parts and a
// source route. allowEmpty allows "<>" (MAIL). The result has no angle
// brackets; it may lack a domain (the caller checks that). Errors carry
// Exim's texts ("domain missing or malformed", `"@" or "." expected
// after "x"`, "malformed address: X may not follow Y", ...).
func ParseAddress(s string, allowEmpty bool) (string, error) {
	p := &addrParser{s: s}
	p.skipSpace()
	bracket := false
	if p.peek() != '<' {
		// A phrase before "<...>" is skipped.
		if i := strings.IndexByte(s[p.pos:], '<'); i >= 0 {
			p.pos += i
		}
	}
	if p.peek() == '<' {
		bracket = true
		p.pos++
		p.skipSpace()
		if p.peek() == '>' {
			p.pos++
			if !allowEmpty {
				return "", addrErr("missing or malformed local part")
			}
			p.skipSpace()
			if p.pos < len(p.s) {
				return "", addrErr("malformed address: %s may not follow %s", p.s[p.pos:], p.s[:p.pos])
			}
			return "", nil
		}
		if p.peek() == '@' {
			ok, err := p.route()
			if err != nil {
				return "", err
			}
			if !ok {
				return "", addrErr("no local part")
			}
		}
	} else if p.peek() == '@' {
		// Unbracketed, a leading domain that does not parse is
		// reported too ("@: domain missing or malformed").
		q := *p
		if _, err := q.route(); err != nil {
			return "", err
		}
	}
	a, err := p.addrSpec()
	if err != nil {
		return "", err
	}
	if bracket {
		if p.pos >= len(p.s) {
			return "", addrErr("'>' missing at end of address")
		}
		if p.peek() == '>' {
			p.pos++
			p.skipSpace()
		}
	}
	if p.pos < len(p.s) {
		return "", p.trailing()
	}
	return a, nil
}

// trailing is the error for text after a complete address.
func (p *addrParser) trailing() error {
	return addrErr("malformed address: %s may not follow %s", p.s[p.pos:], p.s[:p.pos])
}
