package smtpserver

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/mainlog"
)

// The log lines about the connection itself, each under its
// log_selector item. Exim specification chapter "Log files", section
// "Reducing or increasing what is logged": smtp_connection,
// smtp_incomplete_transaction, smtp_no_mail, smtp_syntax_error,
// smtp_protocol_error, lost_incoming_connection and incoming_interface.

// sel is the session's log_selector (parsed once).
func (s *session) sel() mainlog.Selector {
	if !s.selDone {
		s.selDone = true
		s.selector = mainlog.DefaultSelector
		if s.srv.Config != nil {
			if v, err := mainlog.ParseSelector(s.srv.Config.Main.String("log_selector")); err == nil {
				s.selector = v
			}
		}
	}
	return s.selector
}

// logConnect writes "SMTP connection from [ip]" (smtp_connection), with
// the daemon's connection count when there is one; hosts matching
// hosts_connection_nolog are left out of this line and of the line that
// ends the connection. Exim specification chapter "Log files",
// smtp_connection, and chapter "Main configuration",
// hosts_connection_nolog.
func (s *session) logConnect(nolog bool) {
	s.connNolog = nolog
	if nolog || !s.sel().Has(mainlog.SelSMTPConnection) {
		return
	}
	line := "SMTP connection from " + s.connHost()
	if s.peer.ConnectionCount > 0 {
		line += fmt.Sprintf(" (TCP/IP connection count = %d)", s.peer.ConnectionCount)
	}
	s.log(line, mainlog.Main)
}

// connHost names the client on the smtp_connection lines: the host, or
// Server.ConnectionName (for -bs the calling user, even with -oMa, as
// observed with Exim 4.96).
func (s *session) connHost() string {
	if s.srv.ConnectionName != "" {
		return s.srv.ConnectionName
	}
	if s.srv.HostChecking {
		// -bh leaves the -oMi interface out of these lines.
		return s.logHostBase()
	}
	return s.logHost()
}

// logClosed writes "SMTP connection from HOST closed by QUIT"
// (smtp_connection).
func (s *session) logClosed() {
	if !s.connNolog && s.sel().Has(mainlog.SelSMTPConnection) {
		s.log("SMTP connection from "+s.connHost()+" closed by QUIT", mainlog.Main)
	}
}

// logLost writes what Exim writes when the client goes away between
// commands: in a transaction, the incomplete transaction
// (smtp_incomplete_transaction) and "unexpected disconnection"
// (lost_incoming_connection); otherwise "SMTP connection from HOST lost
// D=..." (smtp_connection). Then "no MAIL" when there was none.
func (s *session) logLost() {
	sel := s.sel()
	if s.senderSet {
		s.logIncomplete("connection lost")
		if sel.Has(mainlog.SelLostIncomingConnection) {
			what := "unexpected disconnection"
			if !s.peer.Addr.IsValid() {
				// -bs without -oMa (observed with Exim 4.96).
				what = "unexpected EOF"
			}
			s.log(fmt.Sprintf("%s while reading SMTP command from %s D=%s", what, s.logHost(), s.duration()), mainlog.Main)
		}
	} else if !s.connNolog && sel.Has(mainlog.SelSMTPConnection) {
		s.log(fmt.Sprintf("SMTP connection from %s lost D=%s", s.connHost(), s.duration()), mainlog.Main)
	}
	s.logNoMail()
}

// logIncomplete writes "H=... incomplete transaction (WHY) from <sender>
// for rcpt ..." when a transaction is abandoned by RSET, QUIT or a lost
// connection (smtp_incomplete_transaction).
func (s *session) logIncomplete(why string) {
	if !s.senderSet || !s.sel().Has(mainlog.SelSMTPIncompleteTransaction) {
		return
	}
	line := fmt.Sprintf("%s incomplete transaction (%s) from <%s>", s.hostEq(), why, s.sender)
	if len(s.recipients) > 0 {
		line += " for " + strings.Join(s.recipients, " ")
	}
	s.log(line, mainlog.Main)
}

// logNoMail writes "no MAIL in SMTP connection from HOST D=... C=..."
// when the session ends without any MAIL command (smtp_no_mail), with
// the A= and TLS fields of an arrival line.
func (s *session) logNoMail() {
	if s.mailCommands > 0 || !s.sel().Has(mainlog.SelSMTPNoMail) {
		return
	}
	var b strings.Builder
	b.WriteString("no MAIL in SMTP connection from ")
	b.WriteString(s.logHost())
	// D= first, then the TLS and A= fields (observed with Exim 4.96).
	b.WriteString(" D=" + s.duration())
	if s.tls != nil {
		b.WriteString(s.tls.LogFields(s.sel()))
	}
	if s.auth.done {
		b.WriteString(" A=" + s.auth.name)
		if s.auth.id != "" {
			b.WriteString(":" + s.auth.id)
		}
	}
	if len(s.cmdList) > 0 && !s.srv.Batched {
		b.WriteString(" C=" + strings.Join(s.cmdList, ","))
	}
	s.log(b.String(), mainlog.Main)
}

// logSynprot writes "SMTP syntax error in "LINE" H=... TEXT" for a 500
// or 501 reply (smtp_syntax_error) or "SMTP protocol error in ..." for
// the others (smtp_protocol_error). Only the first line of the reply's
// text is logged.
func (s *session) logSynprot(code int, text string) {
	kind, item := "protocol", mainlog.SelSMTPProtocolError
	if code == 500 || code == 501 {
		kind, item = "syntax", mainlog.SelSMTPSyntaxError
	}
	line, override := s.synprotLine, s.synprotOverride
	s.synprotLine, s.synprotOverride = "", false
	if !s.sel().Has(item) || s.srv.Batched {
		return
	}
	if override {
		if line != "" {
			s.log(line, mainlog.Main)
		}
		return
	}
	if i := strings.IndexByte(text, '\n'); i >= 0 {
		text = text[:i]
	}
	s.log(fmt.Sprintf("SMTP %s error in \"%s\" %s %s", kind, s.lastLine, s.hostEq(), text), mainlog.Main)
}

// synprotErrorAs is synprotError with the log line given: Exim logs
// some syntax errors in words of their own ("unqualified sender
// rejected: <x> H=..."), or with only the error of an address that does
// not parse, and some not at all (logLine "").
func (s *session) synprotErrorAs(code int, text, logLine string) error {
	s.synprotLine, s.synprotOverride = logLine, true
	return s.synprotError(code, text)
}

// uncountedError answers a syntax error that Exim neither counts
// towards smtp_max_synprot_errors nor logs in the usual words: an
// unqualified sender or recipient ("unqualified sender rejected: <x>
// H=...", under smtp_syntax_error), or a VRFY argument that does not
// parse (logLine "": not logged). Observed with Exim 4.96.
func (s *session) uncountedError(code int, text, logLine string) error {
	if logLine != "" && s.sel().Has(mainlog.SelSMTPSyntaxError) && !s.srv.Batched {
		s.log(logLine, mainlog.Main)
	}
	s.reply(code, text)
	return nil
}

// rcptErrorAs is rcptError with the log line given (see synprotErrorAs).
func (s *session) rcptErrorAs(code int, text, logLine string) error {
	s.synprotLine, s.synprotOverride = logLine, true
	err := s.rcptError(code, text)
	s.synprotLine, s.synprotOverride = "", false
	return err
}

// interfaceField is " I=[ip]:port", the local end of the connection, for
// log lines about an SMTP client when log_selector has
// incoming_interface.
func (s *session) interfaceField() string {
	if !s.peer.LocalAddr.IsValid() || !s.sel().Has(mainlog.SelIncomingInterface) {
		return ""
	}
	return " I=[" + s.peer.LocalAddr.String() + "]:" + strconv.Itoa(s.peer.LocalPort)
}

// duration is the session's length as Exim's D= shows it: "0s", "1m5s",
// or with millisec "0.200s" (under a minute).
func (s *session) duration() string {
	d := s.srv.now().Sub(s.began)
	if s.sel().Has(mainlog.SelMillisec) && d < time.Minute {
		ms := d.Milliseconds()
		return fmt.Sprintf("%d.%03ds", ms/1000, ms%1000)
	}
	return config.FormatTime(int64(d / time.Second))
}

// synprotLog is the smtp_syntax_error line for a command whose
// argument failed with text: Exim logs the error alone, without the
// argument that the reply repeats.
func (s *session) synprotLog(text string) string {
	return fmt.Sprintf("SMTP syntax error in \"%s\" %s %s", s.lastLine, s.hostEq(), text)
}

// pipeliningField is the L field of the "<=" line (log_selector
// +pipelining, spec chapter "Log files"): "L" when PIPELINING was
// advertised, then "." when PIPECONNECT was advertised too, then "-"
// when the client did not pipeline (observed with Exim 4.96: "L.-",
// "L.", "L-", "L"). exigo does not tell when the client used
// PIPECONNECT (Exim's "L*").
func (s *session) pipeliningField() string {
	if !s.esmtp || !s.pipelining {
		return ""
	}
	f := "L"
	if s.pipeConnect {
		f += "."
	}
	if !s.pipeUsed {
		f += "-"
	}
	return f
}
