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
	return append(rewriteRecipients(rs, e), rewriteSender(rs, e)...)
}

// rewriteRecipients rewrites the envelope recipients (T rules) and
// returns their records.
func rewriteRecipients(rs *rewrite.Rules, e *Envelope) message.Headers {
	if rs == nil {
		return nil
	}
	var marks message.Headers
	for i, r := range e.Recipients {
		if n, changed := rs.Address(r, rewrite.EnvTo); changed {
			marks = append(marks, newHeader(markRecipient, r, '*'))
			e.Recipients[i] = n
		}
	}
	return marks
}

// rewriteSender rewrites the envelope sender (F rules) and returns its
// record.
func rewriteSender(rs *rewrite.Rules, e *Envelope) message.Headers {
	if rs == nil || e.Sender == "" {
		return nil
	}
	n, changed := rs.Address(e.Sender, rewrite.EnvFrom)
	if !changed {
		return nil
	}
	old := e.Sender
	e.Sender = n
	return message.Headers{newHeader(markSender, old, '*')}
}

// The names of the deleted lines that record rewritten envelope
// addresses.
const (
	markRecipient = "X-rewrote-original-recipient"
	markSender    = "X-rewrote-sender"
)

// splitMarks separates records made by the SMTP session into those of
// recipients and that of the sender.
func splitMarks(marks message.Headers) (rcpt, sender message.Headers) {
	for _, m := range marks {
		if m.Name == markSender {
			sender = append(sender, m)
		} else {
			rcpt = append(rcpt, m)
		}
	}
	return rcpt, sender
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

// placeMarks puts the records among the header lines the fix-ups add
// at the end (tail): the recipients' after a Message-Id: added there,
// the sender's before the Date: added there (observed with Exim 4.96:
// Message-Id:, recipient records, From: and its rewritten version,
// sender record, Date:).
func placeMarks(tail, rcpt, sender message.Headers) message.Headers {
	if len(rcpt) == 0 && len(sender) == 0 {
		return tail
	}
	out := make(message.Headers, 0, len(tail)+len(rcpt)+len(sender))
	i := 0
	if len(tail) > 0 && strings.EqualFold(tail[0].Name, "Message-Id") {
		out = append(out, tail[0])
		i = 1
	}
	out = append(out, rcpt...)
	rest := tail[i:]
	n := len(rest)
	if n > 0 && strings.EqualFold(rest[n-1].Name, "Date") {
		out = append(out, rest[:n-1]...)
		out = append(out, sender...)
		return append(out, rest[n-1])
	}
	out = append(out, rest...)
	return append(out, sender...)
}
