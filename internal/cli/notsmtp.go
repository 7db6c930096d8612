package cli

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/exigo-mta/exigo/internal/acl"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/mainlog"
	"github.com/exigo-mta/exigo/internal/message"
	"github.com/exigo-mta/exigo/internal/mimeacl"
	"github.com/exigo-mta/exigo/internal/queue"
	"github.com/exigo-mta/exigo/internal/smtpserver"
	"github.com/exigo-mta/exigo/internal/spool"
)

// The non-SMTP ACLs of local submission (Exim specification chapter
// "Access control lists", section "The non-SMTP ACLs", and chapter
// "Content scanning at ACL time", section "The MIME ACL"):
//
//  1. acl_not_smtp_start runs before the message is read; its verdict
//     is ignored, its controls (suppress_local_fixups) and the header
//     lines it adds or removes apply to the message.
//  2. acl_not_smtp_mime runs for each MIME part of a message with a
//     Content-Type: header; anything but accept ends the submission
//     with exit code 1 and nothing said (observed with Exim 4.96).
//  3. acl_not_smtp runs on the message with its fix-ups done; defer,
//     drop and error count as deny (section "ACL return codes"),
//     discard blackholes the message, and the header lines it queued
//     are applied only to a message that is accepted.

// notSMTP is the ACL state of one locally submitted message.
type notSMTP struct {
	r    *receiving
	sess *acl.Session
}

// newNotSMTP returns the ACL state for a message from sender to rcpts,
// with the process variables, the caller's ident and the protocol.
func (r *receiving) newNotSMTP(sender string, rcpts []string, ident, protocol string) *notSMTP {
	vars := expand.VarMap{}
	for k, v := range r.vars {
		vars[k] = v
	}
	vars["sender_address"] = sender
	vars["sender_ident"] = ident
	vars["authenticated_id"] = ident
	vars["received_protocol"] = protocol
	vars["message_size"] = "0"
	vars["message_exim_id"] = ""
	setRecipientVars(vars, rcpts)
	sess := &acl.Session{Vars: vars, Log: r.log}
	if p := r.smtp; p != nil {
		sess.Verifier = p.ver
		sess.Checker = p.chk.Session()
	}
	return &notSMTP{r: r, sess: sess}
}

// setRecipientVars sets $recipients and $recipients_count.
func setRecipientVars(vars expand.VarMap, rcpts []string) {
	vars["recipients"] = strings.Join(rcpts, ", ")
	vars["recipients_count"] = strconv.Itoa(len(rcpts))
}

// configured reports whether the stage's ACL option is set.
func (n *notSMTP) configured(stage acl.Stage) bool {
	return n.r.cfg.Main.String(stage.OptionName()) != ""
}

// start runs acl_not_smtp_start, whose verdict Exim ignores.
func (n *notSMTP) start() {
	if !n.configured(acl.NotSMTPStart) {
		return
	}
	n.r.smtp.acl.Run(acl.NotSMTPStart, n.sess)
}

// setMessage makes the message in flight visible to the ACLs: its id,
// header lines ($h_...) and the message variables vars (from
// receive.Intake.Vars).
func (n *notSMTP) setMessage(id string, hs message.Headers, vars map[string]string) {
	for k, v := range vars {
		n.sess.Vars[k] = v
	}
	n.sess.Vars["message_exim_id"] = id
	n.sess.Vars["message_id"] = id
	charset := n.r.cfg.Main.String("headers_charset")
	if charset == "" {
		charset = "UTF-8"
	}
	n.sess.Message = &expand.HeaderBlock{Block: hs, Charset: charset}
}

// takeHeaderChanges applies the header lines queued so far to hs and
// forgets them.
func (n *notSMTP) takeHeaderChanges(hs message.Headers) message.Headers {
	if len(n.sess.AddedHeaders) == 0 && len(n.sess.RemovedHeaders) == 0 {
		return hs
	}
	hs = smtpserver.ApplyHeaderChanges(hs, n.sess.RemovedHeaders, n.sess.AddedHeaders)
	n.sess.AddedHeaders, n.sess.RemovedHeaders = nil, nil
	return hs
}

// mime runs acl_not_smtp_mime over the MIME parts of the message and
// reports whether every run accepted (true when it did not run).
func (n *notSMTP) mime(id string, hs message.Headers, body []byte, sender string, rcpts []string, now time.Time) bool {
	if !n.configured(acl.NotSMTPMIME) {
		return true
	}
	header := liveHeaderBytes(hs)
	if !mimeacl.HasContentType(header) {
		return true
	}
	cfg := n.r.cfg
	dir := cfg.Main.String("spool_directory")
	sc := mimeacl.NewScan(dir, id, func() []byte {
		return mimeacl.MBox(now, sender, rcpts, header, body)
	})
	sc.Decoder = &mimeacl.Decoder{}
	sc.Log = func(text string) { n.r.log.Write(id+" "+text, mainlog.Main) }
	defer sc.Unspool()
	saved := n.sess.Checker
	n.sess.Checker = scanChecker{next: saved, scan: sc}
	defer func() { n.sess.Checker = saved }()
	if err := sc.Spool(); err != nil {
		return false
	}
	ok := true
	count := mimeacl.Walk(sc.Decoder, header, body, func(p *mimeacl.Part) bool {
		sc.SetPart(p, n.sess.Vars)
		res := n.r.smtp.acl.Run(acl.NotSMTPMIME, n.sess)
		if res.Verdict != acl.Accept {
			ok = false
			return false
		}
		return true
	})
	sc.EndParts(n.sess.Vars, count)
	return ok
}

// check runs acl_not_smtp; an unset option accepts.
func (n *notSMTP) check() acl.Result {
	if !n.configured(acl.NotSMTP) {
		return acl.Result{Verdict: acl.Accept}
	}
	return n.r.smtp.acl.Run(acl.NotSMTP, n.sess)
}

// liveHeaderBytes is the header section without deleted lines.
func liveHeaderBytes(hs message.Headers) []byte {
	var b strings.Builder
	for _, h := range hs {
		if h.Type != '*' {
			b.WriteString(h.Text)
		}
	}
	return []byte(b.String())
}

// scanChecker answers the content-scanning conditions (regex,
// mime_regex, decode) from the message's scan state and passes the
// others on.
type scanChecker struct {
	next acl.Checker
	scan *mimeacl.Scan
}

// Check implements acl.Checker.
func (c scanChecker) Check(s *acl.Session, cond, arg string) (bool, string, error) {
	if handled, ok, err := c.scan.Check(s.Vars, cond, arg); handled {
		return ok, "", err
	}
	if c.next == nil {
		return false, "", fmt.Errorf("the \"%s\" condition is not available (no checker configured)", cond)
	}
	return c.next.Check(s, cond, arg)
}

// aclVars are the ACL variables the ACLs set, as the -H file saves
// them.
func (n *notSMTP) aclVars() []spool.ACLVar {
	return queue.ACLVarsOf(n.sess.Vars)
}
