package smtpserver

import (
	"fmt"

	"github.com/exigo-mta/exigo/internal/acl"
	"github.com/exigo-mta/exigo/internal/cutthrough"
	"github.com/exigo-mta/exigo/internal/mainlog"
	"github.com/exigo-mta/exigo/internal/message"
)

// cutState is the session's cutthrough delivery for the message in
// flight (package cutthrough has the behaviour this follows).
type cutState struct {
	conn *cutthrough.Conn
	// pass is defer=pass; over is set once cutthrough was given up for
	// this message.
	pass, over bool
	// verified is the recipient a callout has just sent over the
	// connection (the RCPT ACL's verify = recipient/callout=use_sender).
	verified string
}

// cutthroughRcpt runs after the RCPT ACL accepted addr: it opens the
// cutthrough connection for the first recipient of a message whose
// ACL asked for it, or adds addr to an open one. It returns the
// verdict that stands (a refusal by the destination turns the accept
// into a rejection); handled is set when it has answered the client
// itself (defer=pass).
func (s *session) cutthroughRcpt(addr string, res acl.Result) (out acl.Result, handled bool) {
	ct := &s.cut
	requested := s.acls.Controls.CutthroughDelivery
	pass := s.acls.Controls.CutthroughDeferPass
	// The control counts only in the first recipient's ACL.
	s.acls.Controls.CutthroughDelivery, s.acls.Controls.CutthroughDeferPass = false, false
	if v := ct.verified; v != "" {
		ct.verified = ""
		if v == addr {
			// A callout has dealt with this recipient over the
			// connection.
			return res, false
		}
	}
	m := s.srv.Cutthrough
	if m == nil || m.Route == nil || s.srv.HostChecking || s.srv.Batched || ct.over {
		return res, false
	}
	var r cutthrough.Reply
	switch {
	case ct.conn == nil && len(s.recipients) == 0 && requested:
		ct.pass = pass
		conn, reply, err := m.Open(s.ctx, s.vars, s.sender, addr)
		if err != nil {
			ct.over = true
			return res, false
		}
		ct.conn, r = conn, reply
	case ct.conn != nil:
		t, ok := m.Route(s.vars, addr)
		if ok && ct.conn.Compatible(t) {
			reply, err := ct.conn.Add(addr)
			if err != nil {
				s.cutthroughCancel()
				return res, false
			}
			if reply.Class() != 4 {
				r = reply
				if r.Class() == 5 {
					// Refused: the message goes the normal way
					// (observed with Exim 4.96).
					s.cutthroughCancel()
				}
				break
			}
		}
		// Another destination, or a temporary refusal: the connection
		// is closed and the address checked once over a connection of
		// its own (observed with Exim 4.96); the message is then
		// delivered normally.
		s.cutthroughCancel()
		if !ok {
			return res, false
		}
		conn, reply, err := m.OpenTarget(s.ctx, t, s.sender, addr)
		conn.Close()
		if err != nil {
			return res, false
		}
		r = reply
	default:
		return res, false
	}
	switch r.Class() {
	case 2:
		return res, false
	case 5:
		// The accept becomes a plain rejection: "550 Administrative
		// prohibition", no reason in the log (observed with Exim 4.96).
		if ct.conn != nil && len(ct.conn.Recipients) == 0 {
			s.cutthroughCancel()
		}
		return acl.Result{Verdict: acl.Deny}, false
	}
	if !ct.pass {
		s.cutthroughCancel()
		return res, false
	}
	// defer=pass: the destination's temporary error is the client's.
	s.logRejection(acl.Result{Verdict: acl.Defer}, fmt.Sprintf("%s F=<%s> temporarily rejected RCPT <%s>", s.hostEq(), s.sender, addr))
	s.reply(r.Code, r.Message())
	s.noteRcptFail(r.Message())
	if ct.conn != nil && len(ct.conn.Recipients) == 0 {
		s.cutthroughCancel()
	}
	return acl.Result{Verdict: acl.Defer}, true
}

// cutthroughCancel closes the cutthrough connection of the message in
// flight (QUIT) and gives cutthrough up for it.
func (s *session) cutthroughCancel() {
	if s.cut.conn != nil {
		s.cut.conn.Close()
		s.cut.conn = nil
	}
	s.cut.over = true
}

// cutthroughReset forgets the cutthrough state when a message is done.
func (s *session) cutthroughReset() {
	if s.cut.conn != nil {
		s.cut.conn.Close()
	}
	s.cut = cutState{}
}

// cutthroughData sends the message (its header lines hs and body) over
// the cutthrough connection once the DATA ACL has accepted it. done is
// set when the client has had its answer and nothing is to be stored;
// otherwise the message is stored, and noDelivery says it must wait for
// a queue run (a temporary error with defer=spool).
func (s *session) cutthroughData(id string, hs message.Headers, body []byte) (done, noDelivery bool) {
	conn := s.cut.conn
	s.cut.conn = nil
	if len(conn.Recipients) != len(s.recipients) {
		conn.Close()
		return false, false
	}
	var msg []byte
	for _, h := range hs {
		if h.Type != '*' {
			msg = append(msg, h.Text...)
		}
	}
	msg = append(msg, '\n')
	msg = append(msg, body...)
	r, err := conn.Data(msg)
	if err != nil {
		return false, false
	}
	// One line per recipient, the last first (observed with Exim 4.96).
	lines := func(what string) []string {
		var out []string
		for i := len(s.recipients) - 1; i >= 0; i-- {
			out = append(out, fmt.Sprintf("%s %s %s F=<%s> %s: %s", id, s.hostEq(), s.recipients[i], s.sender, what, conn.Where(r)))
		}
		return out
	}
	switch r.Class() {
	case 2:
		for _, l := range conn.DeliveryLines(id, r) {
			s.log(l, mainlog.Main)
		}
		if mark := s.srv.Cutthrough.MarkDelivered; mark != nil {
			if err := mark(id, conn.Recipients); err != nil {
				s.log(fmt.Sprintf("%s %v", id, err), mainlog.Main, mainlog.Panic)
			}
		}
		return false, false
	case 5:
		for _, l := range lines("rejected after DATA") {
			s.logRejectionHeaders(acl.Result{Verdict: acl.Deny}, l, hs)
		}
		s.reply(r.Code, r.Message())
		return true, false
	}
	for _, l := range lines("tmp-reject from cutthrough after DATA") {
		s.log(l, mainlog.Main)
	}
	if s.cut.pass {
		s.reply(r.Code, r.Message())
		return true, false
	}
	return false, true
}

// cutthroughStartData sends DATA over the cutthrough connection when
// the client's DATA is accepted (observed with Exim 4.96: a message the
// DATA ACL refuses leaves the destination inside its data); a refusal
// gives cutthrough up.
func (s *session) cutthroughStartData() {
	if s.cut.conn == nil {
		return
	}
	if r, err := s.cut.conn.StartData(); err != nil || r.Class() != 3 {
		s.cutthroughCancel()
	}
}

// cutthroughCallout is acl.Session.CutthroughCallout: a recipient
// callout with use_sender opens the cutthrough connection the RCPT ACL
// asked for (control = cutthrough_delivery before the verify), or
// sends the recipient over the open one. A refusal ends the cutthrough;
// a recipient for another destination closes the connection and gets
// a callout of its own (observed with Exim 4.96).
func (s *session) cutthroughCallout(addr string, t cutthrough.Target) (r cutthrough.Reply, reused, ok bool) {
	m := s.srv.Cutthrough
	ct := &s.cut
	if m == nil || s.srv.HostChecking || s.srv.Batched || ct.over {
		return r, false, false
	}
	switch {
	case ct.conn == nil && len(s.recipients) == 0 && s.acls.Controls.CutthroughDelivery:
		conn, reply, err := m.OpenTarget(s.ctx, t, s.sender, addr)
		if err != nil {
			return r, false, false
		}
		ct.conn, ct.pass, r = conn, s.acls.Controls.CutthroughDeferPass, reply
	case ct.conn != nil:
		if !ct.conn.Compatible(t) {
			s.cutthroughCancel()
			return r, false, false
		}
		reply, err := ct.conn.Add(addr)
		if err != nil {
			s.cutthroughCancel()
			return r, false, false
		}
		r, reused = reply, true
		if r.Class() != 2 {
			s.cutthroughCancel()
		}
	default:
		return r, false, false
	}
	ct.verified = addr
	return r, reused, true
}
