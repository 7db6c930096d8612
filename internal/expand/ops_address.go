package expand

import (
	"strings"
)

// addressOperators are the operators that take RFC 2822 addresses apart.
// Spec: "Expansion operators": address, addresses, domain, local_part.
var addressOperators = map[string]opFunc{
	"address": func(_ *state, s string, _ []int) (string, error) {
		a, ok := parseMailbox(s)
		if !ok {
			return "", nil
		}
		return a.String(), nil
	},
	"domain": func(_ *state, s string, _ []int) (string, error) {
		a, _ := parseMailbox(s)
		return a.domain, nil
	},
	"local_part": func(_ *state, s string, _ []int) (string, error) {
		a, _ := parseMailbox(s)
		return a.local, nil
	},
	"addresses": opAddresses,
}

// mailAddr is an address extracted from header-style text.
type mailAddr struct {
	local, domain string
}

func (a mailAddr) String() string {
	if a.domain == "" {
		return a.local
	}
	return a.local + "@" + a.domain
}

// isAtext reports whether c may appear in an RFC 2822 atom (bytes above
// 127 are allowed, for SMTPUTF8).
func isAtext(c byte) bool {
	return isAlnum(c) || c >= 0x80 || strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// addrScanner reads RFC 2822 syntax, skipping white space and comments
// between tokens.
type addrScanner struct {
	s   string
	pos int
}

func (p *addrScanner) skipCFWS() bool {
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch {
		case isSpace(c):
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
				if depth == 0 {
					break
				}
			}
			if depth != 0 {
				return false
			}
		default:
			return true
		}
	}
	return true
}

func (p *addrScanner) peek() byte {
	if p.pos < len(p.s) {
		return p.s[p.pos]
	}
	return 0
}

// word reads an atom or a quoted string, as written.
func (p *addrScanner) word() (string, bool) {
	start := p.pos
	if p.peek() == '"' {
		p.pos++
		for p.pos < len(p.s) && p.s[p.pos] != '"' {
			if p.s[p.pos] == '\\' {
				p.pos++
			}
			p.pos++
		}
		if p.pos >= len(p.s) {
			return "", false
		}
		p.pos++
		return p.s[start:p.pos], true
	}
	for p.pos < len(p.s) && isAtext(p.s[p.pos]) {
		p.pos++
	}
	return p.s[start:p.pos], p.pos > start
}

// addrSpec reads local-part ["@" domain]. Empty words in the local part
// are allowed (Exim accepts "a..b"); the domain must be a dot-atom.
func (p *addrScanner) addrSpec() (mailAddr, bool) {
	var a mailAddr
	var local strings.Builder
	for {
		if !p.skipCFWS() {
			return a, false
		}
		w, ok := p.word()
		if !ok && local.Len() == 0 {
			return a, false
		}
		local.WriteString(w)
		if !p.skipCFWS() {
			return a, false
		}
		if p.peek() != '.' {
			break
		}
		p.pos++
		local.WriteByte('.')
	}
	a.local = local.String()
	if p.peek() != '@' {
		return a, true
	}
	p.pos++
	var dom strings.Builder
	for {
		if !p.skipCFWS() {
			return a, false
		}
		start := p.pos
		for p.pos < len(p.s) && isAtext(p.s[p.pos]) {
			p.pos++
		}
		if p.pos == start {
			return a, false
		}
		dom.WriteString(p.s[start:p.pos])
		if !p.skipCFWS() {
			return a, false
		}
		if p.peek() != '.' {
			break
		}
		p.pos++
		dom.WriteByte('.')
	}
	a.domain = dom.String()
	return a, true
}

// topLevelIndex finds c outside quotes, comments and angle brackets.
func topLevelIndex(s string, c byte) int {
	depth, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch == '\\':
			i++
		case quoted:
			quoted = ch != '"'
		case ch == '"':
			quoted = true
		case ch == '(':
			depth++
		case ch == ')':
			if depth > 0 {
				depth--
			}
		case depth == 0 && ch == c:
			return i
		}
	}
	return -1
}

// parseMailbox extracts the working address from one RFC 2822 mailbox:
// "addr-spec", or "phrase <[@route:]addr-spec>". Domain literals are
// refused (allow_domain_literals is unset by default).
func parseMailbox(s string) (mailAddr, bool) {
	if lt := topLevelIndex(s, '<'); lt >= 0 {
		p := &addrScanner{s: s, pos: lt + 1}
		if !p.skipCFWS() {
			return mailAddr{}, false
		}
		if p.peek() == '>' {
			p.pos++
			return mailAddr{}, p.atEnd()
		}
		if p.peek() == '@' {
			colon := strings.IndexByte(s[p.pos:], ':')
			if colon < 0 {
				return mailAddr{}, false
			}
			p.pos += colon + 1
		}
		a, ok := p.addrSpec()
		if !ok || p.peek() != '>' {
			return mailAddr{}, false
		}
		p.pos++
		if !p.atEnd() {
			return mailAddr{}, false
		}
		return a, true
	}
	p := &addrScanner{s: s}
	a, ok := p.addrSpec()
	if !ok || !p.atEnd() {
		return mailAddr{}, false
	}
	return a, true
}

func (p *addrScanner) atEnd() bool {
	return p.skipCFWS() && p.pos == len(p.s)
}

// opAddresses is ${addresses:...}: the working addresses of a header-style
// list, separated by ":" (doubled inside addresses) or by the character
// after a leading ">". Invalid items are left out; group names ("name:")
// and group ends (";") are skipped.
func opAddresses(_ *state, s string, _ []int) (string, error) {
	sep := byte(':')
	if strings.HasPrefix(s, ">") {
		if len(s) < 2 {
			return "", errorf("output separator missing in expanding ${addresses:%s}", s)
		}
		sep, s = s[1], s[2:]
	}
	var out []string
	for s != "" {
		item := s
		end := topLevelIndex(s, ',')
		if semi := topLevelIndex(s, ';'); semi >= 0 && (end < 0 || semi < end) {
			end = semi
		}
		if end >= 0 {
			item, s = s[:end], s[end+1:]
		} else {
			s = ""
		}
		if colon := topLevelIndex(item, ':'); colon >= 0 {
			lt := topLevelIndex(item, '<')
			if lt < 0 || colon < lt {
				if !isPhrase(item[:colon]) {
					continue
				}
				item = item[colon+1:]
			}
		}
		if strings.TrimSpace(item) == "" {
			continue
		}
		a, ok := parseMailbox(item)
		if !ok || a.local == "" {
			continue
		}
		text := a.String()
		if sep == ':' {
			text = strings.ReplaceAll(text, ":", "::")
		} else {
			text = strings.ReplaceAll(text, string(sep), string([]byte{sep, sep}))
		}
		out = append(out, text)
	}
	return strings.Join(out, string(sep)), nil
}

// isPhrase reports whether s can be a group name: words of atext,
// quoted strings, dots and white space, no "@".
func isPhrase(s string) bool {
	if strings.TrimSpace(s) == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '@' || !(isAtext(c) || isSpace(c) || c == '.' || c == '"') {
			return false
		}
	}
	return true
}
