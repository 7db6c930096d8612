package receive

import (
	"strings"

	"github.com/exigo-mta/exigo/internal/message"
	"github.com/exigo-mta/exigo/internal/rewrite"
)

// RewriteEnvelope applies the rewrite section's rules to the envelope
// recipients (T) and then the sender (F), as Exim does once a message's
// header lines have been received (specification chapter "Address
// rewriting", section "When does rewriting happen?"). It returns the
// lines Exim 4.96 records the original addresses in, marked deleted,
// in the -H file (observed: "X-rewrote-original-recipient: ADDR" for
// each rewritten recipient, then "X-rewrote-sender: ADDR"). A nil rs
// changes nothing.
func RewriteEnvelope(rs *rewrite.Rules, e *Envelope) message.Headers {
	if rs == nil {
		return nil
	}
	var marks message.Headers
	for i, r := range e.Recipients {
		if n, changed := rs.Address(r, rewrite.EnvTo); changed {
			marks = append(marks, newHeader("X-rewrote-original-recipient", r, '*'))
			e.Recipients[i] = n
		}
	}
	if e.Sender != "" {
		if n, changed := rs.Address(e.Sender, rewrite.EnvFrom); changed {
			marks = append(marks, newHeader("X-rewrote-sender", e.Sender, '*'))
			e.Sender = n
		}
	}
	return marks
}

// rewriteHeaders applies the rules to the address header lines of hs.
// A header that the qualification step made (replaced[i]) is replaced in
// place, so only the original stays behind marked deleted, as Exim
// qualifies and rewrites a header in one step; any other rewritten
// header is kept, marked deleted, before its new version.
func rewriteHeaders(rs *rewrite.Rules, hs message.Headers, replaced map[int]bool) message.Headers {
	out := make(message.Headers, 0, len(hs))
	for i, h := range hs {
		nh, ok := rs.Header(h, "")
		switch {
		case !ok:
			out = append(out, h)
		case replaced[i]:
			out = append(out, nh)
		default:
			h.Type = '*'
			out = append(out, h, nh)
		}
	}
	return out
}

// insertBeforeDate puts lines before the Date: header the fix-ups added
// at the end of tail, or at the end when there is none.
func insertBeforeDate(tail, lines message.Headers) message.Headers {
	if len(lines) == 0 {
		return tail
	}
	n := len(tail)
	if n > 0 && strings.EqualFold(tail[n-1].Name, "Date") {
		out := append(append(tail[:n-1:n-1], lines...), tail[n-1])
		return out
	}
	return append(tail, lines...)
}
