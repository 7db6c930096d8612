package rewrite

import (
	"strings"

	"github.com/exigo-mta/exigo/internal/message"
)

// HeaderType returns the rewrite type of a header name (caseless, the
// Resent- versions included), or 0 for headers that are not rewritten.
// Specification section "Flags specifying which headers and envelope
// addresses to rewrite".
func HeaderType(name string) Type {
	n := strings.ToLower(name)
	n = strings.TrimPrefix(n, "resent-")
	switch n {
	case "sender":
		return Sender
	case "from":
		return From
	case "to":
		return To
	case "cc":
		return Cc
	case "bcc":
		return Bcc
	case "reply-to":
		return ReplyTo
	}
	return 0
}

// Item rewrites one address item as found in a header of type t ("Name
// <addr> (comment)"): only the working part is replaced, unless the rule
// has the w flag, when the whole item is. unqualified items are
// qualified with qualify first when qualify is not empty, else left
// alone. It returns the new text and whether a rule or qualification
// changed the address; when nothing changed, the text is still rebuilt
// around the working address (as Exim's -brw shows it), and callers that
// keep unchanged headers should use their original text.
func (rs *Rules) Item(text string, t Type, qualify string) (string, bool) {
	out, _, changed := rs.item(text, t, qualify)
	return out, changed
}

// item is Item that also reports whether a w rule replaced the whole item.
func (rs *Rules) item(text string, t Type, qualify string) (string, bool, bool) {
	it, err := parseItem(text)
	if err != nil {
		return text, false, false
	}
	addr := it.Addr
	if !strings.Contains(addr, "@") {
		if qualify == "" {
			return text, false, false
		}
		addr += "@" + qualify
	}
	out, whole, changed := rs.address(addr, t, "")
	if !changed && addr == it.Addr {
		// Unchanged; the text is still rebuilt around the working
		// address, as -brw shows it (comments inside the address and
		// source routes dropped).
		return text[:it.Start] + out + text[it.End:], false, false
	}
	if whole != "" {
		return whole, true, true
	}
	return text[:it.Start] + out + text[it.End:], false, true
}

// Value rewrites every address item of an address-list header value of
// type t, keeping separators, phrases and comments.
func (rs *Rules) Value(value string, t Type, qualify string) (string, bool) {
	var b strings.Builder
	last := 0
	changed := false
	for _, sp := range splitList(value) {
		seg := value[sp[0]:sp[1]]
		lead := len(seg) - len(strings.TrimLeft(seg, " \t\r\n"))
		trail := len(strings.TrimRight(seg, " \t\r\n"))
		if trail <= lead {
			continue
		}
		core := seg[lead:trail]
		n, whole, ok := rs.item(core, t, qualify)
		if !ok {
			continue
		}
		changed = true
		b.WriteString(value[last : sp[0]+lead])
		b.WriteString(n)
		last = sp[0] + trail
		if whole && sp[1] < len(value) && value[sp[1]] == ';' {
			// Exim's quirk: a w rule's replacement of the last item of
			// a group also replaces the group's closing ";".
			last = sp[1] + 1
		}
	}
	if !changed {
		return value, false
	}
	b.WriteString(value[last:])
	return b.String(), true
}

// Headers rewrites the address headers of hs (those HeaderType knows).
// A rewritten header is kept, marked deleted ('*'), and followed by its
// new version, as Exim records it in the spool -H file. Headers already
// marked deleted are skipped. qualify qualifies unqualified addresses
// ("" leaves them alone and unrewritten).
func (rs *Rules) Headers(hs message.Headers, qualify string) (message.Headers, bool) {
	var out message.Headers
	changed := false
	for _, h := range hs {
		nh, ok := rs.Header(h, qualify)
		if !ok {
			out = append(out, h)
			continue
		}
		changed = true
		old := h
		old.Type = '*'
		out = append(out, old, nh)
	}
	return out, changed
}

// Header returns the rewritten version of one header line and whether
// it changed; a deleted or non-address header never changes. The new
// header has the spool flag of its rewrite type (so a rewritten
// Resent-From: is flagged F, as Exim writes it). qualify is as for
// Headers.
func (rs *Rules) Header(h message.Header, qualify string) (message.Header, bool) {
	t := HeaderType(h.Name)
	if h.Type == '*' || t == 0 || (!rs.Applies(t) && qualify == "") {
		return h, false
	}
	v := h.Value()
	nv, ok := rs.Value(strings.TrimSuffix(v, "\n"), t, qualify)
	if !ok {
		return h, false
	}
	nh := h
	nh.Type = typeFlag[t]
	nh.Text = h.Text[:len(h.Text)-len(v)] + nv + "\n"
	return nh, true
}

// typeFlag is the spool header flag of each header rewrite type.
var typeFlag = map[Type]byte{Sender: 'S', From: 'F', To: 'T', Cc: 'C', Bcc: 'B', ReplyTo: 'R'}
