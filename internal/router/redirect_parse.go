package router

// The parser for non-filter redirection data: a list of addresses, file
// names, pipe commands and the special items :fail:, :defer:, :blackhole:,
// :unknown: and :include:. Exim specification chapter "The redirect
// router", sections "Items in a non-filter redirection list" and "Special
// items in redirection lists".

import (
	"fmt"
	"strings"
)

// rdKind is the kind of one parsed redirection item.
type rdKind int

const (
	rdAddress rdKind = iota
	rdPipe
	rdFile
	rdDirectory
	rdReply // an autoreply from a filter's mail or vacation command
)

// rdItem is one generated item.
type rdItem struct {
	kind rdKind
	text string // address (unqualified as written), command or path
	// local is set for "\local" items: qualify with the incoming domain.
	local bool
	// reply holds an autoreply's values (rdReply).
	reply map[string]string
}

// rdList is the parsed redirection data.
type rdList struct {
	items []rdItem
	// special is "", ":fail:", ":defer:", ":blackhole:" or ":unknown:".
	special string
	// message is the text after :fail: or :defer:.
	message string
	// includes counts :include: items (for forbid_include).
	includes int
	// syntaxErrors are the items skipped under skip_syntax_errors.
	syntaxErrors []string
}

// rdParser holds the parsing options.
type rdParser struct {
	// include reads an :include: file.
	include func(path string) (string, error)
	// skipErrors is skip_syntax_errors.
	skipErrors bool
}

// maxIncludeDepth caps nested :include: files.
const maxIncludeDepth = 10

// parse parses redirection data.
func (p *rdParser) parse(data string) (*rdList, error) {
	l := &rdList{}
	err := p.parseInto(l, data, 0)
	return l, err
}

func (p *rdParser) parseInto(l *rdList, data string, depth int) error {
	if depth > maxIncludeDepth {
		return fmt.Errorf("too many nested :include: files")
	}
	s := data
	for {
		// Skip separators and white space before an item.
		for len(s) > 0 && (s[0] == ',' || isSpaceByte(s[0])) {
			s = s[1:]
		}
		if s == "" {
			return nil
		}
		if s[0] == '#' { // a comment runs to the end of the line
			if i := strings.IndexByte(s, '\n'); i >= 0 {
				s = s[i+1:]
				continue
			}
			return nil
		}
		for _, sp := range [...]string{":fail:", ":defer:"} {
			if hasPrefixFold(s, sp) {
				msg := s[len(sp):]
				if i := strings.IndexByte(msg, '\n'); i >= 0 {
					msg = msg[:i]
				}
				l.special = sp
				l.message = strings.TrimSpace(msg)
				return nil
			}
		}
		item, rest := nextItem(s)
		s = rest
		item = strings.TrimSpace(item)
		if len(item) >= 2 && item[0] == '"' && item[len(item)-1] == '"' && closingQuote(item) == len(item)-1 {
			item = item[1 : len(item)-1]
		}
		if item == "" {
			continue
		}
		switch {
		case hasPrefixFold(item, ":blackhole:"):
			if l.special == "" {
				l.special = ":blackhole:"
			}
			continue
		case hasPrefixFold(item, ":unknown:"):
			if l.special == "" {
				l.special = ":unknown:"
			}
			continue
		case hasPrefixFold(item, ":include:"):
			path := strings.TrimSpace(item[len(":include:"):])
			if path == "" {
				//lint:ignore ST1005 the text is Exim's
				return fmt.Errorf("file name missing after :include:")
			}
			l.includes++
			if p.include == nil {
				return fmt.Errorf(":include: is not available here")
			}
			text, err := p.include(path)
			if err != nil {
				return err
			}
			if err := p.parseInto(l, text, depth+1); err != nil {
				return err
			}
			continue
		}
		if item[0] == '|' || item[0] == '/' {
			if _, err := parseMailbox(item); err != nil || !strings.Contains(item, "@") {
				k := rdPipe
				if item[0] == '/' {
					k = rdFile
					if strings.HasSuffix(item, "/") {
						k = rdDirectory
					}
				}
				l.items = append(l.items, rdItem{kind: k, text: item})
				continue
			}
		}
		local := false
		text := item
		if text[0] == '\\' {
			local = true
			text = text[1:]
		}
		addr, err := parseMailbox(text)
		if err != nil {
			msg := fmt.Sprintf("%s in \"%s\"", err, item)
			if p.skipErrors {
				l.syntaxErrors = append(l.syntaxErrors, msg)
				continue
			}
			return fmt.Errorf("%s", msg)
		}
		if addr == "" {
			continue
		}
		if local && strings.Contains(addr, "@") {
			local = false
		}
		l.items = append(l.items, rdItem{kind: rdAddress, text: addr, local: local})
	}
}

func isSpaceByte(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

func hasPrefixFold(s, p string) bool {
	return len(s) >= len(p) && strings.EqualFold(s[:len(p)], p)
}

// closingQuote returns the index of the quote that closes the one at s[0].
func closingQuote(s string) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

// nextItem splits off one item: up to a comma or newline that is not in
// quotes, a comment or angle brackets.
func nextItem(s string) (item, rest string) {
	inQuote, paren, angle := false, 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			i++
		case inQuote:
			if c == '"' {
				inQuote = false
			}
		case c == '"':
			inQuote = true
		case c == '(':
			paren++
		case c == ')' && paren > 0:
			paren--
		case paren > 0:
		case c == '<':
			angle++
		case c == '>' && angle > 0:
			angle--
		case c == '\n' || (c == ',' && angle == 0):
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

// parseMailbox extracts the address from one RFC 2822 mailbox (an
// addr-spec, or a phrase and a route-addr in angle brackets, with
// comments), with Exim's error texts. An item that is only comments
// yields "".
func parseMailbox(s string) (string, error) {
	t := stripComments(s)
	t = strings.TrimSpace(t)
	if t == "" {
		return "", nil
	}
	if i := angleStart(t); i >= 0 {
		inner := t[i+1:]
		j := strings.IndexByte(inner, '>')
		if j < 0 {
			return "", fmt.Errorf("'>' missing at end of address")
		}
		if rest := strings.TrimSpace(inner[j+1:]); rest != "" {
			return "", fmt.Errorf("malformed address: %s may not follow %s", rest, t[:i+1+j+1])
		}
		inner = strings.TrimSpace(inner[:j])
		// a source route "@a,@b:addr" is dropped
		if strings.HasPrefix(inner, "@") {
			if k := strings.IndexByte(inner, ':'); k >= 0 {
				inner = inner[k+1:]
			}
		}
		if inner == "" {
			return "", nil
		}
		addr, rest, err := addrSpec(inner)
		if err != nil {
			return "", err
		}
		if rest != "" {
			return "", fmt.Errorf("malformed address: %s may not follow %s", rest, addr)
		}
		return addr, nil
	}
	addr, rest, err := addrSpec(t)
	if err != nil {
		return "", err
	}
	if rest != "" {
		return "", fmt.Errorf("malformed address: %s may not follow %s", rest, addr)
	}
	return addr, nil
}

// angleStart finds a "<" outside quotes, or -1.
func angleStart(s string) int {
	in := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			in = !in
		case '<':
			if !in {
				return i
			}
		}
	}
	return -1
}

// stripComments removes (comments), which nest; an unterminated comment
// runs to the end.
func stripComments(s string) string {
	if !strings.Contains(s, "(") {
		return s
	}
	var b strings.Builder
	depth, in := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			if depth == 0 {
				b.WriteByte(c)
				b.WriteByte(s[i+1])
			}
			i++
			continue
		case in:
			if c == '"' {
				in = false
			}
		case depth == 0 && c == '"':
			in = true
		case c == '(':
			depth++
			continue
		case c == ')' && depth > 0:
			depth--
			continue
		}
		if depth == 0 {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isAtext(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte("!#$%&'*+-/=?^_`{|}~.", c) >= 0 || c >= 0x80
}

// addrSpec parses local-part["@"domain] at the start of s and returns the
// rest (after white space).
func addrSpec(s string) (addr, rest string, err error) {
	i := 0
	// local part: words (atoms with dots, quoted strings)
	for i < len(s) {
		c := s[i]
		if c == '"' {
			j := closingQuote(s[i:])
			if j < 0 {
				return "", "", fmt.Errorf("missing or malformed local part (expected word or \"<\")")
			}
			i += j + 1
			continue
		}
		if isAtext(c) {
			i++
			continue
		}
		break
	}
	lp := s[:i]
	r := strings.TrimLeft(s[i:], " \t")
	if lp == "" {
		if strings.HasPrefix(r, "@") {
			return "", "", fmt.Errorf("no local part")
		}
		return "", "", fmt.Errorf("missing or malformed local part (expected word or \"<\")")
	}
	if r == "" {
		return lp, "", nil
	}
	if r[0] != '@' {
		return "", "", fmt.Errorf("missing or malformed local part (expected word or \"<\")")
	}
	r = strings.TrimLeft(r[1:], " \t")
	j := 0
	if strings.HasPrefix(r, "[") {
		k := strings.IndexByte(r, ']')
		if k < 0 {
			return "", "", fmt.Errorf("domain missing or malformed")
		}
		j = k + 1
	} else {
		for j < len(r) && (isAtext(r[j]) && r[j] != '/' && r[j] != '|') {
			j++
		}
	}
	dom := r[:j]
	if dom == "" || strings.HasPrefix(dom, ".") || strings.HasSuffix(dom, ".") || strings.Contains(dom, "..") {
		return "", "", fmt.Errorf("domain missing or malformed")
	}
	return lp + "@" + dom, strings.TrimLeft(r[j:], " \t"), nil
}
