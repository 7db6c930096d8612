package smtpserver

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/exigo-mta/exigo/internal/mainlog"
)

// synprotError answers a syntax or protocol error and counts it; more
// than smtp_max_synprot_errors drop the connection. Exim specification
// chapter "SMTP processing", section "Syntax and protocol errors in SMTP
// commands".
func (s *session) synprotError(code int, text string) error {
	s.logSynprot(code, text)
	return s.countSynprot(code, text, true)
}

// countSynprot is synprotError without its log line (for errors that
// have a log line of their own, such as an invalid HELO argument, whose
// reply also goes without the "Too many" line when the connection is
// dropped: tooManyLine false, as observed with Exim 4.96).
func (s *session) countSynprot(code int, text string, tooManyLine bool) error {
	s.synprot++
	max, _ := s.srv.Config.Main.Int("smtp_max_synprot_errors")
	if max > 0 && int64(s.synprot) > max {
		s.markAborted()
		if tooManyLine {
			text += "\nToo many syntax or protocol errors"
		}
		s.log(fmt.Sprintf("SMTP call from %s dropped: too many syntax or protocol errors (last command was \"%s\",  C=%s)",
			s.logHost(), s.lastLine, strings.Join(s.cmdList, ",")), mainlog.Main, mainlog.Reject)
		s.logNoMail()
		// Logged before the reply (observed with Exim 4.96).
		s.reply(code, text)
		return errClose
	}
	s.reply(code, text)
	return nil
}

// unrecognized answers an unknown command; more than
// smtp_max_unknown_commands drop the connection. An unrecognized command
// is a syntax error as well, and counts towards smtp_max_synprot_errors
// (Exim specification chapter "SMTP processing", sections "Unrecognized
// SMTP commands" and "Syntax and protocol errors in SMTP commands").
func (s *session) unrecognized(line string) error {
	if s.srv.Batched {
		return s.synprotError(500, "Command unrecognized")
	}
	s.unknown++
	max, _ := s.srv.Config.Main.Int("smtp_max_unknown_commands")
	if int64(s.unknown) > max {
		s.dropReply(500, "Too many unrecognized commands")
		s.log(fmt.Sprintf("SMTP call from %s dropped: too many unrecognized commands (last was \"%s\")", s.logHost(), line), mainlog.Main, mainlog.Reject)
		s.logNoMail()
		return errClose
	}
	return s.synprotError(500, "unrecognized command")
}

// countNonmail counts a non-mail command against smtp_accept_max_nonmail
// (for hosts in smtp_accept_max_nonmail_hosts). One RSET while no
// transaction is open is free.
func (s *session) countNonmail(c *command, arg string) error {
	if (c.name == "HELO" || c.name == "EHLO") && !s.freeRSETUsed {
		// The first greeting is not counted.
		s.freeRSETUsed = true
		return nil
	}
	if c.name == "RSET" && !s.freeRSET {
		// Nor is the first RSET (observed with Exim 4.96).
		s.freeRSET = true
		return nil
	}
	if !s.nonmailChecked {
		s.nonmailChecked = true
		s.nonmailHost = s.hostOption("smtp_accept_max_nonmail_hosts")
	}
	if !s.nonmailHost {
		return nil
	}
	s.nonmail++
	max, _ := s.srv.Config.Main.Int("smtp_accept_max_nonmail")
	if max <= 0 || int64(s.nonmail) <= max {
		return nil
	}
	s.closingReply(554, "Too many nonmail commands")
	s.log(fmt.Sprintf("SMTP call from %s dropped: too many nonmail commands (last was \"%s\")", s.logHost(), s.lastLine), mainlog.Main, mainlog.Reject)
	// The refused command is not in the C= list of "no MAIL"
	// (observed with Exim 4.96).
	s.cmdList = s.cmdList[:len(s.cmdList)-1]
	s.logNoMail()
	return errClose
}

// sizeLimit is message_size_limit, expanded (it is an expanded string
// option); 0 means no limit.
func (s *session) sizeLimit() int64 {
	v, err := s.expand(s.srv.Config.Main.String("message_size_limit"))
	if err != nil {
		return 0
	}
	return parseSize(strings.TrimSpace(v))
}

// parseSize reads an integer with an optional K, M or G suffix.
func parseSize(v string) int64 {
	mult := int64(1)
	if v != "" {
		switch v[len(v)-1] {
		case 'k', 'K':
			mult = 1024
		case 'm', 'M':
			mult = 1024 * 1024
		case 'g', 'G':
			mult = 1024 * 1024 * 1024
		}
		if mult != 1 {
			v = v[:len(v)-1]
		}
	}
	n, err := strconv.ParseInt(v, 0, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n * mult
}
