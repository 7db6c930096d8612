package smtpserver

import (
	"github.com/exigo-mta/exigo/internal/mainlog"
	"github.com/exigo-mta/exigo/internal/message"
	"github.com/exigo-mta/exigo/internal/receive"
	"github.com/exigo-mta/exigo/internal/rewrite"
)

// rewriteArrival applies the rewrite rules once the header lines of
// message id are in: the envelope recipients, the sender, then the
// address header lines, before the Received: header is built and before
// the lines the MAIL and RCPT ACLs queued are added (Exim specification
// chapter "Address rewriting", section "When does rewriting happen?").
// Unqualified header addresses are qualified (and so rewritten) only
// when the session may send them. It returns the new headers and the
// lines recording rewritten envelope addresses.
func (s *session) rewriteArrival(id string, hs message.Headers) (message.Headers, message.Headers) {
	if s.srv.Rewrite == nil {
		return hs, nil
	}
	logf := func(line string) { s.log(id+" "+line, mainlog.Main) }
	var rewritten func(string)
	if s.sel().Has(mainlog.SelAddressRewrite) {
		rewritten = logf
	}
	rs := s.srv.Rewrite.WithLog(logf, rewritten)
	env := &receive.Envelope{Sender: s.sender, Recipients: s.recipients}
	marks := receive.RewriteEnvelope(rs, env)
	if env.Sender != s.sender {
		s.sender = env.Sender
		s.vars["sender_address"] = env.Sender
	}
	main := s.srv.Config.Main
	qd := main.String("qualify_domain")
	qr := main.String("qualify_recipient")
	if qr == "" {
		qr = qd
	}
	out := make(message.Headers, 0, len(hs))
	for _, h := range hs {
		q := ""
		switch t := rewrite.HeaderType(h.Name); {
		case t&(rewrite.To|rewrite.Cc|rewrite.Bcc) != 0:
			if s.srv.Local || s.srv.Batched || s.hostOptionQuiet("recipient_unqualified_hosts") {
				q = qr
			}
		case t != 0:
			if s.srv.Local || s.srv.Batched || s.hostOptionQuiet("sender_unqualified_hosts") {
				q = qd
			}
		}
		nh, ok := rs.Header(h, q)
		if !ok {
			out = append(out, h)
			continue
		}
		h.Type = '*'
		out = append(out, h, nh)
	}
	return out, marks
}
