package smtpserver

import (
	"strings"

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
	if s.srv.ACL == nil {
		if stage == acl.RCPT {
			return acl.Result{Verdict: acl.Deny}
		}
		return acl.Result{Verdict: acl.Accept}
	}
	return s.srv.ACL.Run(stage, s.acls)
}

// failReply is the code and text of an ACL that did not accept, for the
// stage (deny and drop 550, defer 451; errors are 451 as well).
func failReply(stage acl.Stage, res acl.Result) (int, string) {
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
		text = splitLong(res.UserMessage)
	}
	return code, text
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

// aclReject answers a failed ACL and logs it. what is the log text after
// "rejected " (e.g. "MAIL <a@b>"), prefix the text before it (e.g.
// "H=... F=<a@b> ").
func (s *session) aclReject(stage acl.Stage, res acl.Result, prefix, what string) {
	code, text := failReply(stage, res)
	if res.Verdict == acl.Error && res.LogMessage == "" && res.Err != nil {
		res.LogMessage = res.Err.Error()
	}
	rej := "rejected "
	if code/100 == 4 {
		rej = "temporarily rejected "
	}
	var line string
	if stage == acl.Connect {
		line = "H=" + s.fullHost() + " " + rej + "connection in \"connect\" ACL"
	} else {
		line = prefix + rej + what
	}
	if m := logText(res); m != "" {
		line += ": " + m
	}
	s.log(line, mainlog.Main, mainlog.Reject)
	s.reply(code, text)
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
