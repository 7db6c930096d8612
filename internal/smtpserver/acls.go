package smtpserver

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/exigo-mta/exigo/internal/message"

	"github.com/exigo-mta/exigo/internal/acl"
	"github.com/exigo-mta/exigo/internal/mainlog"
)

// Default reply texts (Exim specification chapter "Access control
// lists", section "ACL return codes" and the SMTP replies Exim sends).
const (
	textProhibited = "Administrative prohibition"
	textTempFail   = "Temporary local problem - please try later"
)

// runACL sets the command variables and runs the ACL of a stage.
func (s *session) runACL(stage acl.Stage) acl.Result {
	s.acls.Vars = s.vars
	if s.srv.Batched {
		// Batched SMTP runs no SMTP ACL.
		return acl.Result{Verdict: acl.Accept}
	}
	if s.srv.ACL == nil {
		if stage == acl.RCPT {
			return acl.Result{Verdict: acl.Deny}
		}
		return acl.Result{Verdict: acl.Accept}
	}
	res := s.srv.ACL.Run(stage, s.acls)
	s.adoptVerifiedSender()
	return res
}

// failReply is the code and text of an ACL that did not accept, for the
// stage (deny and drop 550, defer 451; errors are 451 as well), with the
// ACL's message (its own code checked, see userReply).
func (s *session) failReply(stage acl.Stage, res *acl.Result) (int, string) {
	code := 550
	text := textProhibited
	switch res.Verdict {
	case acl.Defer, acl.Error:
		code, text = 451, textTempFail
	}
	if stage == acl.ETRN && code == 550 {
		code = 458
	}
	if stage == acl.VRFY && code == 550 {
		code = 252
	}
	if res.UserMessage != "" && res.Verdict != acl.Error {
		r := s.userReply(code, res.UserMessage)
		res.UserMessage = r.msg
		return r.code, s.oneLine(splitLong(r.text))
	}
	return code, text
}

// oneLine keeps only the first line of an ACL's reply text after
// control = no_multiline_responses (Exim specification chapter "Access
// control lists", section "Use of the control modifier").
func (s *session) oneLine(text string) string {
	if s.acls.Controls.NoMultilineResponses {
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			return text[:i]
		}
	}
	return text
}

// acceptReply is the reply to a command whose ACL accepted (or
// discarded): the ACL's message with its codes when it set one, else
// def and text.
func (s *session) acceptReply(res acl.Result, def int, text string) (int, string) {
	if res.UserMessage == "" || res.Verdict == acl.Error {
		return def, text
	}
	r := s.userReply(def, res.UserMessage)
	return r.code, s.oneLine(r.text)
}

// aclReply is an SMTP reply built from an ACL's message.
type aclReply struct {
	code  int
	text  string // the lines, each with the extended code when one was given
	plain string // the lines without codes
	msg   string // the message, its code corrected
}

// userReply builds the reply for an ACL message. The message may start
// with a response code ("550 ") and then an extended code ("5.7.1 "),
// which is repeated on every line; leading white space of continuation
// lines is dropped. A code whose first digit is not that of the default
// code def is logged and replaced by def. Exim specification chapter
// "Access control lists", section "ACL modifiers", message.
func (s *session) userReply(def int, msg string) aclReply {
	if c, ok := replyCode(msg); ok && c/100 != def/100 {
		s.log(fmt.Sprintf("configured error code starts with incorrect digit (expected %d) in \"%s\"", def/100, msg), mainlog.Main, mainlog.Panic)
		msg = strconv.Itoa(def) + msg[3:]
	}
	r := splitACLMessage(def, msg)
	r.msg = msg
	return r
}

// replyCode reads a leading three-digit code followed by a space.
func replyCode(msg string) (int, bool) {
	if len(msg) < 4 || msg[3] != ' ' {
		return 0, false
	}
	n, err := strconv.Atoi(msg[:3])
	if err != nil || msg[0] < '1' || msg[0] > '9' {
		return 0, false
	}
	return n, true
}

// extendedCode returns the length of a leading "d.ddd.ddd " extended
// response code, 0 for none.
func extendedCode(s string) int {
	i := 0
	for part := 0; part < 3; part++ {
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' && i-start < 3 {
			i++
		}
		if i == start || (part == 0 && i-start != 1) {
			return 0
		}
		sep := byte('.')
		if part == 2 {
			sep = ' '
		}
		if i >= len(s) || s[i] != sep {
			return 0
		}
		i++
	}
	return i
}

// splitReply splits a message into code, extended code and lines.
func splitACLMessage(def int, msg string) aclReply {
	r := aclReply{code: def}
	ext := ""
	if c, ok := replyCode(msg); ok {
		r.code, msg = c, msg[4:]
		// An extended code is recognized only after a code.
		if n := extendedCode(msg); n > 0 {
			ext, msg = msg[:n], msg[n:]
		}
	}
	lines := strings.Split(msg, "\n")
	for i := range lines {
		if i > 0 {
			lines[i] = strings.TrimLeft(lines[i], " \t")
		}
	}
	r.plain = strings.Join(lines, "\n")
	if ext != "" {
		for i := range lines {
			lines[i] = ext + lines[i]
		}
	}
	r.text = strings.Join(lines, "\n")
	return r
}

// aclReject answers a failed ACL and logs it. what is the log text after
// "rejected " (e.g. "MAIL <a@b>"), prefix the text before it (e.g.
// "H=... F=<a@b> "). It returns the reply's text without codes (what
// DATA's 503 quotes when every RCPT was rejected alike).
func (s *session) aclReject(stage acl.Stage, res acl.Result, prefix, what string) string {
	code, text := s.failReply(stage, &res)
	if res.Verdict == acl.Error && res.LogMessage == "" && res.Err != nil {
		res.LogMessage = res.Err.Error()
	}
	rej := "rejected "
	if code/100 == 4 {
		rej = "temporarily rejected "
	}
	if sv := res.SenderVerify; sv != nil && res.Verdict != acl.Accept && res.Verdict != acl.Discard {
		// Specification chapter "Access control lists", section
		// "Sender verification": the failure is logged before the
		// rejection and explained to the client.
		how := "fail"
		if sv.Deferred {
			how = "defer"
		}
		line := fmt.Sprintf("%s sender verify %s for <%s>", s.hostEq(), how, sv.Address)
		if sv.Message != "" {
			line += ": " + sv.Message
		}
		if s.sel().Has(mainlog.SelSenderVerifyFail) {
			// Spec chapter "Log files", sender_verify_fail.
			s.log(line, mainlog.Main, mainlog.Reject)
		}
		if code/100 == 5 && !sv.Deferred {
			detail := sv.Message
			if sv.Detail != "" {
				detail = sv.Detail
			}
			text = s.oneLine("Verification failed for <" + sv.Address + ">\n" + detail + "\n" + text)
		}
	}
	var line string
	if stage == acl.Connect {
		line = s.hostEq() + " " + rej + "connection in \"connect\" ACL"
	} else {
		line = prefix + rej + what
	}
	if m := logText(res); m != "" {
		line += ": " + m
	}
	// A connection refused by the connect ACL is logged under
	// connection_reject (spec chapter "Log files").
	if stage != acl.Connect || s.sel().Has(mainlog.SelConnectionReject) {
		s.logRejection(res, line)
	}
	s.reply(code, text)
	if res.UserMessage != "" && res.Verdict != acl.Error {
		return splitACLMessage(code, res.UserMessage).plain
	}
	return text
}

// logRejection writes a rejection's log line to the logs the ACL's
// log_reject_target chose (main and reject by default; none when it was
// set empty). Exim specification chapter "Access control lists", section
// "ACL modifiers", log_reject_target.
func (s *session) logRejection(res acl.Result, line string) {
	to := []mainlog.Which{mainlog.Main, mainlog.Reject}
	if res.RejectLogsSet {
		to = res.RejectLogs
	}
	if len(to) > 0 {
		s.log(line, to...)
	}
}

// logRejectionHeaders logs a rejection made once the message was read:
// the reject log gets the envelope and the header lines after the line.
func (s *session) logRejectionHeaders(res acl.Result, line string, hs message.Headers) {
	hl, ok := s.srv.Log.(HeaderRejectLogger)
	if !ok || s.srv.HostChecking || res.RejectLogsSet {
		s.logRejection(res, line)
		return
	}
	hl.RejectWithHeaders(line, rejectLogHeaders(s.sender, s.recipients, hs))
}

// logText is what the log says after the rejection: log_message, or the
// first line of the user message.
func logText(res acl.Result) string {
	if res.LogMessage != "" {
		return res.LogMessage
	}
	m := res.UserMessage
	for i := 0; i < len(m); i++ {
		if m[i] == '\n' {
			return m[:i]
		}
	}
	return m
}

// splitLong breaks reply lines longer than 75 characters as Exim 4.96
// does (observed): at the last space between positions 36 and 75, or
// else at the first space after; the space itself is dropped.
func splitLong(text string) string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		for len(line) > 75 {
			cut := -1
			for i := 75; i >= 36; i-- {
				if line[i] == ' ' {
					cut = i
					break
				}
			}
			if cut < 0 {
				if j := strings.IndexByte(line[76:], ' '); j >= 0 {
					cut = 76 + j
				}
			}
			if cut < 0 || cut == len(line)-1 {
				break
			}
			out = append(out, line[:cut])
			line = line[cut+1:]
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}
