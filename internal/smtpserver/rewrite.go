package smtpserver

import (
	"strings"

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
	rs := s.rewriteRules(id + " ")
	env := &receive.Envelope{Sender: s.sender, Recipients: s.recipients}
	marks := receive.RewriteEnvelope(rs, env)
	if len(marks) > 0 {
		s.vars["recipients"] = strings.Join(s.recipients, ", ")
	}
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

// rewriteRules returns the rewrite rules with their failures logged to
// the main and panic logs and, under log_selector +address_rewrite,
// their rewrites to the main log, each line after prefix.
func (s *session) rewriteRules(prefix string) *rewrite.Rules {
	var rewritten func(string)
	if s.sel().Has(mainlog.SelAddressRewrite) {
		rewritten = func(line string) { s.log(prefix+line, mainlog.Main) }
	}
	return s.srv.Rewrite.WithLog(func(line string) { s.log(prefix+line, mainlog.Main, mainlog.Panic) }, rewritten)
}

// smtpRewrite applies the SMTP-time (S) rules to the data of a MAIL or
// RCPT command, the address with its angle brackets, before it is
// parsed and before the ACL runs (specification chapter "Address
// rewriting", section "SMTP-time rewriting").
func (s *session) smtpRewrite(data string) string {
	if s.srv.Rewrite == nil || !s.srv.Rewrite.Applies(rewrite.SMTP) {
		return data
	}
	out, _ := s.rewriteRules("").SMTPCommand(data)
	return out
}

// adoptVerifiedSender keeps the sender as a sender verification in an
// ACL rewrote it: "it is rewritten before verification, and remains
// rewritten thereafter" (spec chapter "Address rewriting", section
// "When does rewriting happen?").
func (s *session) adoptVerifiedSender() {
	if s.srv.Rewrite == nil || !s.senderSet {
		return
	}
	if v, ok := s.vars["sender_address"]; ok && v != s.sender && s.sender != "" {
		if s.senderAsGiven == "" {
			s.senderAsGiven = s.sender
		}
		s.sender = v
	}
}
