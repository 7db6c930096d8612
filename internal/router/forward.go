package router

import (
	"fmt"

	"github.com/exigo-mta/exigo/internal/strerror"
)

// ForwardItems parses a conventional (non-filter) .forward file as -bf
// tests it: the generated items, unqualified addresses qualified with
// qualify, in the order Exim lists them (last first). Special items
// (:fail:, :defer:, :blackhole:) are errors. Spec: chapter "The redirect
// router", section "Items in a non-filter redirection list"; chapter "The
// Exim command line", option -bf.
func ForwardItems(data, qualify string) ([]string, error) {
	p := &rdParser{include: func(path string) (string, error) {
		b, err := readLimited(path)
		if err != nil {
			return "", fmt.Errorf("failed to open included file %s: %s", path, strerror.Text(err))
		}
		return string(b), nil
	}}
	l, err := p.parse(data)
	if err != nil {
		return nil, err
	}
	if l.special != "" {
		txt := l.special
		if l.message != "" {
			txt += " " + l.message
		}
		return nil, fmt.Errorf("\"%s\" is not permitted", txt)
	}
	var out []string
	for i := len(l.items) - 1; i >= 0; i-- {
		it := l.items[i]
		s := it.text
		if it.kind == rdAddress && !containsAt(s) {
			s += "@" + qualify
		}
		out = append(out, s)
	}
	return out, nil
}

// containsAt reports whether the parsed address s has a domain: an "@"
// outside quotes and not escaped with a backslash.
func containsAt(s string) bool {
	in := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			i++
		case c == '"':
			in = !in
		case c == '@' && !in:
			return true
		}
	}
	return false
}

// ParseMailbox extracts the address from one RFC 2822 mailbox with
// Exim's error texts, as the filter's deliver command needs it.
func ParseMailbox(s string) (string, error) { return parseMailbox(s) }
