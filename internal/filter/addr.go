package filter

import "strings"

// splitAddresses extracts the addresses from an address-list header value
// (RFC 5322): items split at commas outside quotes, angle brackets and
// comments; the part in <> when there is one, else the item without
// comments. Empty items are dropped. Filter document, section "Testing a
// list of addresses".
func splitAddresses(v string) []string {
	var out []string
	var cur strings.Builder
	quote, angle, paren := false, false, 0
	flush := func() {
		if a := addressOf(cur.String()); a != "" {
			out = append(out, a)
		}
		cur.Reset()
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case quote:
			if c == '\\' && i+1 < len(v) {
				cur.WriteByte(c)
				i++
				c = v[i]
			} else if c == '"' {
				quote = false
			}
		case c == '"':
			quote = true
		case c == '(':
			paren++
		case c == ')' && paren > 0:
			paren--
		case paren > 0:
		case c == '<':
			angle = true
		case c == '>':
			angle = false
		case c == ',' && !angle:
			flush()
			continue
		}
		cur.WriteByte(c)
	}
	flush()
	return out
}

// addressOf returns the address in one item of an address list.
func addressOf(s string) string {
	if i := strings.LastIndexByte(s, '<'); i >= 0 {
		if j := strings.IndexByte(s[i:], '>'); j >= 0 {
			return strings.TrimSpace(s[i+1 : i+j])
		}
	}
	var b strings.Builder
	depth := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth == 0:
			b.WriteByte(c)
		}
	}
	return strings.TrimSpace(b.String())
}
