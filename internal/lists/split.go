package lists

import (
	"strings"
	"unicode"
)

// Separator returns the separator of list and the list text after any
// "<c" prefix that changes it. def is the default separator (':' for most
// lists). Exim specification: chapter "Domain, host, address, and local part
// lists", section "Changing list separators".
func Separator(list string, def byte) (byte, string) {
	s := strings.TrimLeft(list, " \t\n\r")
	if len(s) >= 2 && s[0] == '<' && isSepChar(s[1]) {
		return s[1], s[2:]
	}
	return def, list
}

func isSepChar(c byte) bool {
	return c < 0x80 && unicode.IsPunct(rune(c)) || c == '\n' || c == '|' || c == '+' || c == '=' || c == '^' || c == '$' || c == '<' || c == '>' || c == '`' || c == '~'
}

// Split splits an Exim list into its items: the separator is def unless the
// list starts with "<c"; white space around items is removed; a doubled
// separator stands for one literal separator inside an item; an empty last
// item is dropped (so "a:b:" has two items) but empty items elsewhere are
// kept. A list of only white space has no items.
func Split(list string, def byte) []string {
	sep, s := Separator(list, def)
	var items []string
	for {
		item, rest, ok := next(s, sep)
		if !ok {
			return items
		}
		items = append(items, item)
		s = rest
	}
}

// Next returns the first item of s (a list body after Separator), the rest
// of the list, and false when there are no more items.
func Next(s string, sep byte) (item, rest string, ok bool) {
	return next(s, sep)
}

func next(s string, sep byte) (string, string, bool) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	if i >= len(s) {
		return "", "", false
	}
	var b strings.Builder
	for i < len(s) {
		c := s[i]
		if c == sep {
			if i+1 < len(s) && s[i+1] == sep {
				b.WriteByte(sep)
				i += 2
				continue
			}
			i++
			return strings.TrimRight(b.String(), " \t\n\r"), s[i:], true
		}
		b.WriteByte(c)
		i++
	}
	return strings.TrimRight(b.String(), " \t\n\r"), "", true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// Quote returns item with every separator doubled, so that it survives as
// one item when joined into a list with that separator.
func Quote(item string, sep byte) string {
	if strings.IndexByte(item, sep) < 0 {
		return item
	}
	return strings.ReplaceAll(item, string(sep), string([]byte{sep, sep}))
}
