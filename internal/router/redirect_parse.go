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
	// domainLiterals is allow_domain_literals.
	domainLiterals bool
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
		addr, err := parseMailboxWith(item, p.domainLiterals)
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
		// A backslash before an unqualified local part marks it as one
		// to qualify with the incoming domain; before a qualified
		// address it is part of the local part (observed with Exim
		// 4.96).
		local := false
		if strings.HasPrefix(addr, "\\") && !containsAt(addr) {
			local, addr = true, addr[1:]
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
