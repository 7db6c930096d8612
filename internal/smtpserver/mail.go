package smtpserver

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/exigo-mta/exigo/internal/acl"
	"github.com/exigo-mta/exigo/internal/mainlog"
	"github.com/exigo-mta/exigo/internal/smtp"
)

// mailParams are the MAIL parameters Exim knows (RFC 1870, 6152, 4954,
// 6531, 3461, and PRDR).
func (s *session) mailParam(name string, hasValue bool) bool {
	switch strings.ToUpper(name) {
	case "SIZE", "BODY", "AUTH", "RET", "ENVID":
		return true
	case "SMTPUTF8":
		return s.utf8Adv && !hasValue
	case "PRDR":
		// Known even when not advertised (observed with Exim 4.96).
		return true
	}
	return false
}

// cmdMAIL handles MAIL FROM:. Exim specification chapter "SMTP
// processing" and chapter "Access control lists" (acl_smtp_mail). A MAIL
// that fails makes the RCPTs that follow "expected" errors when
// PIPELINING was advertised (option smtp_max_synprot_errors).
func (s *session) cmdMAIL(arg string) error {
	err := s.mail(arg)
	if !s.senderSet {
		s.mailFailed = true
	}
	return err
}

func (s *session) mail(arg string) error {
	if !s.heloDone && !s.srv.Batched && s.hostOption("hosts_require_helo") {
		// Not counted as a protocol error (as Exim does).
		s.log(fmt.Sprintf("rejected MAIL from %s: no HELO/EHLO given", s.logHost()), mainlog.Main, mainlog.Reject)
		s.reply(503, "HELO or EHLO required")
		return nil
	}
	if s.tooManyMail() {
		return nil
	}
	if s.senderSet {
		if s.srv.Batched {
			return s.synprotError(503, "Sender already given")
		}
		return s.synprotError(503, "sender already given")
	}
	if arg == "" {
		return s.synprotError(501, "MAIL must have an address operand")
	}
	s.resetTransaction()
	s.resetAuthSender()
	// The last message's id no longer prefixes ACL log lines (observed
	// with Exim 4.96: a logwrite in the RCPT ACL of the next message).
	delete(s.vars, "message_exim_id")
	addrText := arg
	var params []smtp.Param
	if s.esmtp {
		addrText, params = smtp.ExtractMailParams(arg, s.mailParam)
	}
	addrText = s.smtpRewrite(addrText)
	var size int64 = -1
	// $authenticated_sender comes from this MAIL's AUTH= alone
	// (observed with Exim 4.96).
	delete(s.vars, "authenticated_sender")
	for _, p := range params {
		switch strings.ToUpper(p.Name) {
		case "SIZE":
			if n, err := strconv.ParseInt(p.Value, 10, 64); err == nil {
				size = n
			}
		case "BODY":
			switch strings.ToUpper(p.Value) {
			case "7BIT", "8BITMIME":
				s.bodyType = strings.ToUpper(p.Value)
			default:
				return s.synprotError(501, "invalid data for BODY")
			}
		case "AUTH":
			if err := s.mailAuth(p.Value); err != nil {
				return err
			}
		case "SMTPUTF8":
			s.utf8, s.utf8Proto = true, true
			s.vars["received_protocol"] = s.protocol()
		case "PRDR":
			s.prdr = s.srv.Config.Main.Bool("prdr_enable")
		}
	}
	if limit := s.sizeLimit(); limit > 0 && size > limit {
		addr, _ := smtp.ParseAddress(addrText, true)
		if s.sel().Has(mainlog.SelSizeReject) {
			// Spec chapter "Log files", size_reject.
			s.log(fmt.Sprintf("rejected MAIL FROM:<%s> %s: message too big: size=%d max=%d", addr, s.hostEq(), size, limit), mainlog.Main, mainlog.Reject)
		}
		s.reply(552, "Message size exceeds maximum permitted")
		return nil
	}
	addr, err := smtp.ParseAddress(addrText, true)
	if err != nil {
		return s.synprotErrorAs(501, s.addrError(addrText, err), s.synprotLog(err.Error()))
	}
	if addr != "" && !strings.Contains(addr, "@") {
		if !s.srv.Batched && !s.hostOptionQuiet("sender_unqualified_hosts") {
			return s.uncountedError(501, addrText+": sender address must contain a domain",
				fmt.Sprintf("unqualified sender rejected: <%s> %s", addr, s.hostEq()))
		}
		addr += "@" + s.srv.Config.Main.String("qualify_domain")
	}
	s.sender, s.senderSet = addr, true
	s.vars["sender_address"] = addr
	if at := strings.LastIndexByte(addr, '@'); at >= 0 {
		s.vars["sender_address_local_part"], s.vars["sender_address_domain"] = addr[:at], addr[at+1:]
	}
	if s.srv.Config.Main.String("acl_smtp_mail") != "" {
		if s.syncError(s.lastLine) {
			return errClose
		}
		res := s.runACL(acl.MAIL)
		switch res.Verdict {
		case acl.Accept:
		case acl.Discard:
			s.discard, s.discardLog = "MAIL", logText(res)
		default:
			s.sender, s.senderSet = "", false
			for _, v := range []string{"sender_address", "sender_address_local_part", "sender_address_domain"} {
				delete(s.vars, v)
			}
			s.aclReject(acl.MAIL, res, s.hostEq()+" ", "MAIL <"+addr+">")
			if res.Verdict == acl.Drop {
				return errClose
			}
			return nil
		}
		s.reply(s.acceptReply(res, 250, s.mailOK()))
		return nil
	}
	s.reply(250, s.mailOK())
	return nil
}

// mailOK is the text of MAIL's 250.
func (s *session) mailOK() string {
	if s.prdr {
		return "OK, PRDR Requested"
	}
	return "OK"
}

// rcptParam reports whether a RCPT parameter is known (DSN's NOTIFY and
// ORCPT when DSN was advertised).
func (s *session) rcptParam(name string, _ bool) bool {
	switch strings.ToUpper(name) {
	case "NOTIFY", "ORCPT":
		return s.dsn
	}
	return false
}

// cmdRCPT handles RCPT TO:.
func (s *session) cmdRCPT(arg string) error {
	if !s.senderSet {
		if s.srv.Batched {
			return s.rcptError(503, "No sender yet given")
		}
		return s.rcptError(503, "sender not yet given")
	}
	if arg == "" {
		return s.rcptError(501, "RCPT must have an address operand")
	}
	addrText := arg
	if s.esmtp {
		addrText, _ = smtp.ExtractRcptParams(arg, s.rcptParam)
	}
	addrText = s.smtpRewrite(addrText)
	addr, err := smtp.ParseAddress(addrText, false)
	if err != nil {
		return s.rcptErrorAs(501, s.addrError(addrText, err), s.synprotLog(err.Error()))
	}
	if !strings.Contains(addr, "@") {
		switch {
		case strings.EqualFold(addr, "postmaster"):
			addr += "@" + s.qualifyRecipient()
		case s.srv.Batched, s.hostOptionQuiet("recipient_unqualified_hosts"):
			addr += "@" + s.qualifyRecipient()
		default:
			s.noteRcptFail("501 " + addrText + ": recipient address must contain a domain")
			return s.uncountedError(501, addrText+": recipient address must contain a domain",
				fmt.Sprintf("unqualified recipient rejected: <%s> %s", addr, s.hostEq()))
		}
	}
	at := strings.LastIndexByte(addr, '@')
	s.vars["local_part"] = addr[:at]
	s.vars["domain"] = addr[at+1:]
	for _, v := range []string{"domain_data", "local_part_data", "recipient_data"} {
		delete(s.vars, v)
	}
	s.acls.CasefulLocalPart = addr[:at]
	s.vars["rcpt_count"] = strconv.Itoa(len(s.recipients) + s.discarded + s.rcptFails + 1)
	// After a MAIL ACL discard, recipients are discarded without running
	// the RCPT ACL. Discarded recipients are not kept, but let DATA
	// proceed (Exim specification chapter "Access control lists",
	// section "ACL verbs", discard).
	if s.discard == "MAIL" {
		s.discardRcpt(addr, "MAIL", s.discardLog)
		s.reply(250, "Accepted")
		return nil
	}
	if s.syncError(s.lastLine) {
		return errClose
	}
	res := s.runACL(acl.RCPT)
	if res.Verdict == acl.Accept {
		var handled bool
		if res, handled = s.cutthroughRcpt(addr, res); handled {
			return nil
		}
	}
	switch res.Verdict {
	case acl.Accept:
	case acl.Discard:
		s.discard = "RCPT"
		s.discardRcpt(addr, "RCPT", logText(res))
		s.reply(s.acceptReply(res, 250, "Accepted"))
		return nil
	default:
		text := s.aclReject(acl.RCPT, res, fmt.Sprintf("%s F=<%s> ", s.hostEq(), s.sender), "RCPT <"+addr+">")
		s.noteRcptFail(text)
		if res.Verdict == acl.Drop {
			return errClose
		}
		return nil
	}
	s.recipients = append(s.recipients, addr)
	s.vars["recipients"] = strings.Join(s.recipients, ", ")
	s.vars["recipients_count"] = strconv.Itoa(len(s.recipients))
	s.reply(s.acceptReply(res, 250, "Accepted"))
	return nil
}

// discardRcpt logs a discarded recipient ("discarded by STAGE ACL", with
// the ACL's log text).
func (s *session) discardRcpt(addr, stage, text string) {
	line := fmt.Sprintf("%s F=<%s> RCPT <%s>: discarded by %s ACL", s.hostEq(), s.sender, addr, stage)
	if text != "" {
		line += ": " + text
	}
	s.log(line, mainlog.Main)
	s.discarded++
}

func (s *session) qualifyRecipient() string {
	q := s.srv.Config.Main.String("qualify_recipient")
	if q == "" {
		q = s.srv.Config.Main.String("qualify_domain")
	}
	if q == "" {
		q = s.vars["primary_hostname"]
	}
	return q
}

// noteRcptFail remembers a RCPT rejection for the 503 that a later DATA
// gets: when every rejection had the same text, DATA's reply quotes it.
func (s *session) noteRcptFail(text string) {
	if s.rcptFails == 0 {
		s.rcptReply, s.rcptSame = text, true
	} else if text != s.rcptReply {
		s.rcptSame = false
	}
	s.rcptFails++
	s.rcptPending = true
}

// rcptError answers a failed RCPT with a syntax or protocol error and
// remembers it (with its code) for the 503 that a later DATA gets. A RCPT
// without a sender after a failed MAIL is an "expected" error when
// PIPELINING was advertised, and is not counted (Exim specification
// chapter "Main configuration", option smtp_max_synprot_errors).
func (s *session) rcptError(code int, text string) error {
	s.noteRcptFail(fmt.Sprintf("%d %s", code, text))
	if code == 503 && s.pipelining && s.mailFailed {
		s.reply(code, text)
		return nil
	}
	if code == 503 && !s.senderSet {
		// A RCPT with no MAIL at all does not make the DATA that
		// follows an expected error: that is counted, and says
		// "valid" (observed with Exim 4.96).
		s.rcptPending = false
	}
	return s.synprotError(code, text)
}

// addrError is the reply text for an address that does not parse: the
// address and the error, or in batched SMTP only the error (observed
// with Exim 4.96).
func (s *session) addrError(addrText string, err error) string {
	if s.srv.Batched {
		return err.Error()
	}
	return addrText + ": " + err.Error()
}

// tooManyMail counts a MAIL command against smtp_accept_max_per_connection
// (Exim specification chapter "Main configuration": expanded, empty or
// zero for no limit) and, past the limit, refuses it with 421 without
// ending the session, as Exim 4.96 does.
func (s *session) tooManyMail() bool {
	s.mailCmds++
	raw := s.srv.Config.Main.String("smtp_accept_max_per_connection")
	if raw == "" {
		return false
	}
	v, err := s.expand(raw)
	if err != nil {
		return false
	}
	max, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || max <= 0 || s.mailCmds <= max {
		return false
	}
	s.log(fmt.Sprintf("rejected MAIL command %s: too many messages in one connection", s.hostEq()), mainlog.Main, mainlog.Reject)
	s.reply(421, "too many messages in this connection")
	return true
}
