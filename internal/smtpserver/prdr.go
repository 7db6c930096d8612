package smtpserver

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/exigo-mta/exigo/internal/acl"
	"github.com/exigo-mta/exigo/internal/mainlog"
)

// PRDR (per-recipient data responses): when the client asked for it in
// MAIL and gave more than one recipient, acl_smtp_data_prdr runs for
// each recipient once the message is read, each gets its own reply after
// "353 PRDR content analysis beginning", and the refused ones are
// dropped before the DATA ACL. Exim specification chapter "Access
// control lists", section "The per-recipient data ACL" (and the main
// option prdr_enable); the texts were observed with Exim 4.96.

// prdrOutcome is what the per-recipient stage left.
type prdrOutcome struct {
	// accepted counts the recipients kept; refused those refused
	// permanently.
	accepted, refused int
}

// prdrActive reports whether the message is received with PRDR.
func (s *session) prdrActive() bool {
	return s.prdr && len(s.recipients) > 1
}

// prdrStage runs the per-recipient ACL for each recipient, answers each
// and keeps the accepted ones in s.recipients.
func (s *session) prdrStage(id string) prdrOutcome {
	s.reply(353, "PRDR content analysis beginning")
	all := append([]string(nil), s.recipients...)
	kept := append([]string(nil), s.recipients...)
	var out prdrOutcome
	for _, rcpt := range all {
		lp, dom := rcpt, ""
		if i := strings.LastIndexByte(rcpt, '@'); i >= 0 {
			lp, dom = rcpt[:i], rcpt[i+1:]
		}
		s.vars["local_part"], s.vars["domain"] = lp, dom
		s.vars["recipients"] = strings.Join(kept, ", ")
		s.vars["recipients_count"] = strconv.Itoa(len(kept))
		// The option's default is "accept", run as an inline ACL.
		res := s.runACL(acl.PRDR)
		code, what := 250, "acceptance"
		switch res.Verdict {
		case acl.Accept, acl.Discard:
		case acl.Defer, acl.Error:
			code, what = 450, "temporary refusal"
		default:
			code, what = 550, "refusal"
		}
		text := fmt.Sprintf("PRDR R=<%s> %s", rcpt, what)
		logLine := id + " " + text
		if res.UserMessage != "" && res.Verdict != acl.Error {
			r := s.userReply(code, res.UserMessage)
			code, text = r.code, s.oneLine(splitLong(r.text))
			logLine = fmt.Sprintf("%s PRDR %s %s", id, rcpt, logText(res))
		}
		s.log(logLine, mainlog.Main)
		s.reply(code, text)
		if code/100 == 2 {
			out.accepted++
			continue
		}
		if code/100 == 5 {
			out.refused++
		}
		for i, k := range kept {
			if k == rcpt {
				kept = append(kept[:i], kept[i+1:]...)
				break
			}
		}
	}
	s.recipients = kept
	s.vars["recipients"] = strings.Join(kept, ", ")
	s.vars["recipients_count"] = strconv.Itoa(len(kept))
	delete(s.vars, "local_part")
	delete(s.vars, "domain")
	return out
}
