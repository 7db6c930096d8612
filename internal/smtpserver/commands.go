package smtpserver

import (
	"fmt"
	"strings"

	"github.com/exigo-mta/exigo/internal/acl"
	"github.com/exigo-mta/exigo/internal/mainlog"
	"github.com/exigo-mta/exigo/internal/smtp"
)

// A command is one entry of the command table.
type command struct {
	name string // as matched (caselessly) at the start of the line
	// word is true when the name must be followed by a space or the end
	// of the line; false for "MAIL FROM:" and "RCPT TO:".
	word    bool
	nonmail bool // counts towards smtp_accept_max_nonmail
	fn      func(s *session, arg string) error
	tag     string // the name in the C= list of the too-many-errors log line
}

// commands is the table of SMTP commands, in Exim's matching order.
var commands = []command{
	{"HELO", true, true, (*session).cmdHELO, "HELO"},
	{"EHLO", true, true, (*session).cmdEHLO, "EHLO"},
	{"MAIL FROM:", false, false, (*session).cmdMAIL, "MAIL"},
	{"RCPT TO:", false, false, (*session).cmdRCPT, "RCPT"},
	{"DATA", true, false, (*session).cmdDATA, "DATA"},
	{"BDAT", true, false, (*session).cmdBDAT, "BDAT"},
	{"RSET", true, true, (*session).cmdRSET, "RSET"},
	{"NOOP", true, true, (*session).cmdNOOP, "NOOP"},
	{"QUIT", true, false, (*session).cmdQUIT, "QUIT"},
	{"HELP", true, true, (*session).cmdHELP, "HELP"},
	{"VRFY", true, true, (*session).cmdVRFY, "VRFY"},
	{"EXPN", true, true, (*session).cmdEXPN, "EXPN"},
	{"ETRN", true, true, (*session).cmdETRN, "ETRN"},
	{"STARTTLS", true, true, (*session).cmdSTARTTLS, "STARTTLS"},
	{"AUTH", true, false, (*session).cmdAUTH, "AUTH"},
}

// ParseCommand finds the command of an SMTP command line and returns its
// canonical name and argument (leading white space removed), or ok=false
// for an unrecognized command.
func ParseCommand(line string) (name, arg string, ok bool) {
	c, arg, ok := lookupCommand(line)
	if !ok {
		return "", "", false
	}
	return c.name, arg, true
}

func lookupCommand(line string) (*command, string, bool) {
	for i := range commands {
		c := &commands[i]
		n := len(c.name)
		if len(line) < n || !strings.EqualFold(line[:n], c.name) {
			continue
		}
		rest := line[n:]
		if c.word && rest != "" && rest[0] != ' ' && rest[0] != '\t' {
			continue
		}
		return c, strings.TrimLeft(rest, " \t"), true
	}
	return nil, "", false
}

// command runs one command line.
func (s *session) command(line string) error {
	s.lastLine = line
	c, arg, ok := lookupCommand(line)
	if !ok {
		return s.unrecognized(line)
	}
	s.cmdList = append(s.cmdList, c.tag)
	if s.pipelining && s.r.Buffered() > 0 {
		s.pipeUsed = true
	}
	if c.tag == "MAIL" {
		s.mailCommands++
	}
	s.vars["smtp_command"] = line
	s.vars["smtp_command_argument"] = arg
	if c.nonmail {
		if err := s.countNonmail(c, arg); err != nil {
			return err
		}
	}
	return c.fn(s, arg)
}

func (s *session) cmdRSET(arg string) error {
	if arg != "" {
		return s.synprotError(501, "unexpected argument data")
	}
	if !s.srv.Batched {
		s.logIncomplete("RSET")
	}
	s.resetTransaction()
	s.reply(250, "Reset OK")
	return nil
}

func (s *session) cmdNOOP(arg string) error {
	s.reply(250, "OK")
	return nil
}

// cmdQUIT runs the QUIT ACL (whose verdict cannot change the reply) and
// says goodbye. Exim specification chapter "Access control lists",
// section "The QUIT ACL".
func (s *session) cmdQUIT(arg string) error {
	if arg != "" {
		return s.synprotError(501, "unexpected argument data")
	}
	if s.srv.Config.Main.String("acl_smtp_quit") != "" {
		res := s.runACL(acl.Quit)
		switch res.Verdict {
		case acl.Accept:
		case acl.Error:
			s.log("ACL for QUIT returned ERROR: "+logText(res), mainlog.Main, mainlog.Panic)
		default:
			s.log(fmt.Sprintf("ACL for QUIT returned ERROR: QUIT or not-QUIT toplevel ACL may not fail ('%s' verb used incorrectly)", strings.ToLower(res.Verdict.String())), mainlog.Main, mainlog.Panic)
		}
	}
	if !s.srv.Batched {
		// Batched SMTP logs only "no MAIL", at its end (see runBatch).
		// The lines come before the reply (observed with Exim 4.96).
		s.logIncomplete("QUIT")
		s.logClosed()
		s.logNoMail()
	}
	s.reply(smtp.C221Closing, s.hostname()+" closing connection")
	return errClose
}

// cmdHELP lists the commands. AUTH appears when authenticators are
// configured... Exim 4.96 lists it always, as does exigo.
func (s *session) cmdHELP(arg string) error {
	main := s.srv.Config.Main
	list := "AUTH "
	if s.hostOption("tls_advertise_hosts") {
		list += "STARTTLS "
	}
	list += "HELO EHLO MAIL RCPT DATA BDAT NOOP QUIT RSET HELP"
	for _, o := range []struct{ opt, name string }{{"acl_smtp_etrn", "ETRN"}, {"acl_smtp_expn", "EXPN"}, {"acl_smtp_vrfy", "VRFY"}} {
		if main.String(o.opt) != "" {
			list += " " + o.name
		}
	}
	s.reply(smtp.C214Help, "Commands supported:\n"+list)
	return nil
}

// cmdVRFY runs the VRFY ACL (unset: 252 Administrative prohibition).
func (s *session) cmdVRFY(arg string) error {
	return s.verifyCommand(acl.VRFY, "VRFY", arg)
}

// cmdEXPN runs the EXPN ACL (unset: 550 Administrative prohibition).
func (s *session) cmdEXPN(arg string) error {
	return s.verifyCommand(acl.EXPN, "EXPN", arg)
}

func (s *session) verifyCommand(stage acl.Stage, name, arg string) error {
	if stage == acl.VRFY {
		addr, err := smtp.ParseAddress(arg, false)
		if err != nil {
			return s.uncountedError(501, err.Error(), "")
		}
		if !strings.Contains(addr, "@") {
			return s.uncountedError(501, arg+": recipient address must contain a domain",
				fmt.Sprintf("unqualified verify rejected: <%s> %s", addr, s.hostEq()))
		}
	}
	s.vars["smtp_command_argument"] = arg
	res := s.runACL(stage)
	if res.Verdict == acl.Accept {
		if stage == acl.VRFY {
			s.reply(252, "Cannot VRFY user; try RCPT to attempt delivery (or try finger)")
		} else {
			s.reply(550, "EXPN not available")
		}
		return nil
	}
	code, text := s.failReply(stage, &res)
	if stage == acl.EXPN && code == 252 {
		code = 550
	}
	s.logReject(res, s.hostEq()+" ", name+" "+arg, code)
	s.reply(code, text)
	if res.Verdict == acl.Drop {
		return errClose
	}
	return nil
}

// logReject logs an ACL rejection: "PREFIXrejected WHAT[: text]".
func (s *session) logReject(res acl.Result, prefix, what string, code int) {
	s.logRejection(res, rejectLine(res, prefix, what))
}

// rejectLine is the log line of an ACL rejection.
func rejectLine(res acl.Result, prefix, what string) string {
	rej := "rejected "
	if res.Verdict == acl.Defer || res.Verdict == acl.Error {
		rej = "temporarily rejected "
	}
	line := prefix + rej + what
	if m := logText(res); m != "" {
		line += ": " + m
	}
	return line
}

// cmdETRN runs the ETRN ACL. Exim specification chapter "SMTP
// processing", section "The ETRN command".
func (s *session) cmdETRN(arg string) error {
	if s.senderSet {
		return s.synprotError(503, "ETRN is not permitted inside a transaction")
	}
	if s.sel().Has(mainlog.SelETRN) {
		// Spec chapter "Log files", etrn.
		s.log(fmt.Sprintf("ETRN %s received from %s", arg, s.logHost()), mainlog.Main)
	}
	res := s.runACL(acl.ETRN)
	if res.Verdict == acl.Accept {
		if s.srv.Config.Main.String("smtp_etrn_command") == "" && !strings.HasPrefix(arg, "#") {
			return s.synprotError(501, "argument must begin with #")
		}
		s.reply(250, "OK")
		return nil
	}
	code, text := s.failReply(acl.ETRN, &res)
	s.logReject(res, s.hostEq()+" ", "ETRN "+arg, code)
	s.reply(code, text)
	if res.Verdict == acl.Drop {
		return errClose
	}
	return nil
}

// resetTransaction forgets the envelope (RSET, HELO/EHLO, after DATA).
func (s *session) resetTransaction() {
	s.sender, s.senderSet, s.senderAsGiven = "", false, ""
	s.recipients = nil
	s.cutthroughReset()
	s.rcptFails = 0
	s.rcptReply, s.rcptSame, s.rcptPending = "", false, false
	s.mailFailed = false
	s.discard, s.discardLog, s.discarded = "", "", 0
	s.bodyType, s.utf8, s.prdr = "", false, false
	delete(s.vars, "sender_address")
	delete(s.vars, "sender_address_local_part")
	delete(s.vars, "sender_address_domain")
	delete(s.vars, "recipients")
	delete(s.vars, "local_part")
	delete(s.vars, "domain")
	s.vars["rcpt_count"] = "0"
	s.acls.AddedHeaders, s.acls.RemovedHeaders, s.acls.Message = nil, nil, nil
	c := &s.acls.Controls
	c.Freeze, c.FreezeNoTell, c.Queue, c.QueueFirstPass, c.QueueName = false, false, false, false, ""
	c.FakeReject, c.FakeDefer, c.FakeText = false, false, ""
	c.Submission, c.SubmissionDomain, c.SubmissionName, c.SuppressLocalFixups = false, "", "", false
	s.acls.ResetMessage()
}

// syncError enforces smtp_enforce_sync as Exim does when an ACL is about
// to run for MAIL, RCPT or DATA: a command followed by more input
// before its reply, where that is not allowed, is refused with 554 and
// the connection closed. MAIL and RCPT may be pipelined when PIPELINING
// was advertised; DATA never. Only network sessions are checked. Exim
// specification chapter "Main configuration", option smtp_enforce_sync,
// and chapter "SMTP processing", section "SMTP synchronization".
func (s *session) syncError(line string) bool {
	if s.conn == nil || !s.srv.Config.Main.Bool("smtp_enforce_sync") {
		return false
	}
	if s.pipelining && !strings.HasPrefix(strings.ToUpper(line), "DATA") {
		return false
	}
	n := s.r.Buffered()
	if n == 0 {
		return false
	}
	next, _ := s.r.Peek(n)
	was := "was not"
	if s.pipelining {
		was = "was"
	}
	s.reply(554, "SMTP synchronization error")
	s.log(fmt.Sprintf("SMTP protocol synchronization error (next input sent too soon: pipelining %s advertised): rejected \"%s\" %s next input=\"%s\"",
		was, printable([]byte(line)), s.hostEq(), printable(next)), mainlog.Main, mainlog.Reject)
	return true
}

// printable escapes input for a log line as Exim does: \r, \n, \t and
// other control characters as a backslash and three octal digits.
func printable(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		switch {
		case c == '\r':
			sb.WriteString(`\r`)
		case c == '\n':
			sb.WriteString(`\n`)
		case c == '\t':
			sb.WriteString(`\t`)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&sb, "\\%03o", c)
		default:
			sb.WriteByte(c)
		}
	}
	return sb.String()
}
