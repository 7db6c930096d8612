package receive

import "strings"

// maxFold is the line length past which a rewritten address is moved to a
// new (folded) line.
const maxFold = 78

// maxCommentDepth caps nested comments in header addresses.
const maxCommentDepth = 100

// item is one address of an address list header value.
type item struct {
	start, end int // the item's text, from its first non-space character
	fold       int // where a fold goes: the start, or the group name's
	addr       string
	addrEnd    int // where "@domain" goes when the address is unqualified
}

// splitAddressList finds the addresses in an address list header value
// (RFC 5322 §3.4): items separated by top-level commas, groups
// ("name: a, b;"), quoted strings, comments and <route-addr>s.
func splitAddressList(v string) []item {
	var items []item
	i := 0
	n := len(v)
	for i < n {
		// Skip white space and separators.
		for i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == '\n' || v[i] == '\r' || v[i] == ',' || v[i] == ';') {
			i++
		}
		if i >= n {
			break
		}
		it := item{start: i, fold: i, addrEnd: -1}
		lastEnd := -1 // end of the last bare token
		angleStart, angleEnd := -1, -1
		var bare strings.Builder
	scan:
		for i < n {
			c := v[i]
			switch c {
			case '"':
				j := skipQuoted(v, i)
				bare.WriteString(v[i:j])
				i = j
				lastEnd = i
			case '(':
				i = skipComment(v, i)
			case '<':
				angleStart = i + 1
				j := strings.IndexByte(v[i:], '>')
				if j < 0 {
					angleEnd = n
					i = n
				} else {
					angleEnd = i + j
					i += j + 1
				}
			case ':':
				if angleStart < 0 {
					// A group name: the items follow.
					i++
					it.start = i
					for it.start < n && (v[it.start] == ' ' || v[it.start] == '\t' || v[it.start] == '\n') {
						it.start++
					}
					bare.Reset()
					lastEnd = -1
					continue
				}
				i++
			case ',', ';':
				break scan
			case ' ', '\t', '\n', '\r':
				i++
				bare.WriteByte(' ')
			default:
				bare.WriteByte(c)
				i++
				lastEnd = i
			}
		}
		it.end = i
		if angleStart >= 0 {
			a := strings.TrimSpace(v[angleStart:angleEnd])
			it.addr = a
			// Insert before trailing space inside the brackets.
			e := angleEnd
			for e > angleStart && (v[e-1] == ' ' || v[e-1] == '\t') {
				e--
			}
			it.addrEnd = e
		} else {
			it.addr = strings.TrimSpace(bare.String())
			it.addrEnd = lastEnd
		}
		if it.start < it.end {
			items = append(items, it)
		}
	}
	return items
}

func skipQuoted(v string, i int) int {
	i++
	for i < len(v) {
		switch v[i] {
		case '\\':
			i += 2
			continue
		case '"':
			return i + 1
		}
		i++
	}
	return len(v)
}

func skipComment(v string, i int) int {
	depth := 0
	for i < len(v) {
		switch v[i] {
		case '\\':
			i += 2
			continue
		case '(':
			depth++
			if depth > maxCommentDepth {
				return len(v)
			}
		case ')':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
		i++
	}
	return len(v)
}

// unqualified reports whether addr is a local part without a domain that
// qualification should complete.
func unqualified(addr string) bool {
	if addr == "" || strings.ContainsAny(addr, "@ ") {
		return false
	}
	return true
}

// qualifyHeader adds "@domain" to every unqualified address in a header's
// text ("Name: value\n"). It returns the new text and whether it changed.
// When a rewritten address would make its line longer than 78
// characters, the item is moved to a new line starting with a tab, as
// Exim does when it rewrites header addresses (spec chapter "Address
// rewriting", and "Message processing" section "Unqualified addresses").
func qualifyHeader(text, domain string) (string, bool) {
	colon := strings.IndexByte(text, ':')
	if colon < 0 {
		return text, false
	}
	v := text[colon+1:]
	items := splitAddressList(v)
	var b strings.Builder
	b.WriteString(text[:colon+1])
	last := 0
	changed := false
	for k, it := range items {
		if !unqualified(it.addr) || it.addrEnd < 0 {
			continue
		}
		changed = true
		pre := v[last:it.fold]
		newItem := v[it.fold:it.addrEnd] + "@" + domain + v[it.addrEnd:it.end]
		b.WriteString(pre)
		cur := b.String()
		col := len(cur) - (strings.LastIndexByte(cur, '\n') + 1)
		firstLine := newItem
		if j := strings.IndexByte(firstLine, '\n'); j >= 0 {
			firstLine = firstLine[:j]
		}
		if k > 0 && col+len(firstLine) > maxFold && !strings.HasSuffix(cur, "\n\t") {
			b.WriteString("\n\t")
		}
		b.WriteString(newItem)
		last = it.end
	}
	if !changed {
		return text, false
	}
	b.WriteString(v[last:])
	return b.String(), true
}

// headerAddresses returns the addresses of an address list header value,
// qualifying unqualified ones with domain ("" leaves them alone).
func headerAddresses(text, domain string) []string {
	colon := strings.IndexByte(text, ':')
	if colon < 0 {
		return nil
	}
	var out []string
	for _, it := range splitAddressList(text[colon+1:]) {
		a := it.addr
		if a == "" {
			continue
		}
		if unqualified(a) && domain != "" {
			a += "@" + domain
		}
		out = append(out, a)
	}
	return out
}
