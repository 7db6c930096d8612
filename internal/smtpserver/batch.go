package smtpserver

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/exigo-mta/exigo/internal/acl"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/message"
	"github.com/exigo-mta/exigo/internal/smtp"
)

// Batched SMTP input (-bS): the session reads SMTP commands and messages
// from standard input but answers nothing. HELO and EHLO act as RSET;
// VRFY, EXPN, ETRN and HELP as NOOP; QUIT or the end of input ends the
// batch; no SMTP ACL runs. The first error ends the batch with a
// *BatchError. Exim specification chapter "SMTP processing", section
// "Incoming batched SMTP", and chapter "The Exim command line", -bS.

// BatchError is the error that ended batched SMTP input early, with
// what Exim reports about it.
type BatchError struct {
	// Code and Text are the SMTP error that would have been sent.
	Code int
	Text string
	// Start is the line the transaction started in (the line before
	// the last command read outside a transaction), Line the line where
	// the error was detected.
	Start, Line int
	// Command is the command at fault; "" when the error came while
	// reading a message.
	Command string
	// Accepted is the number of messages accepted before the error.
	Accepted int
}

// Error implements error.
func (e *BatchError) Error() string {
	return fmt.Sprintf("batched SMTP error in line %d: %d %s", e.Line, e.Code, e.Text)
}

// Stdout is the report for the calling program, written to standard
// output (observed with Exim 4.96).
func (e *BatchError) Stdout() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s\nTransaction started in line %d\nError detected in line %d\n", e.Code, e.Text, e.Start, e.Line)
	if e.Command != "" {
		b.WriteString(e.Command + "\n")
	}
	return b.String()
}

// Stderr is the report for people, written to standard error.
func (e *BatchError) Stderr() string {
	var b strings.Builder
	b.WriteString("An error was detected while processing a file of BSMTP input.\nThe error message was:\n\n")
	fmt.Fprintf(&b, "  %d %s\n\n", e.Code, e.Text)
	fmt.Fprintf(&b, "The SMTP transaction started in line %d.\nThe error was detected in line %d.\n", e.Start, e.Line)
	if e.Command != "" {
		fmt.Fprintf(&b, "The SMTP command at fault was:\n\n   %s\n\n", e.Command)
	}
	if e.Accepted == 1 {
		b.WriteString("1 previous message was successfully processed.\n")
	} else {
		fmt.Fprintf(&b, "%d previous messages were successfully processed.\n", e.Accepted)
	}
	b.WriteString("The rest of the batch was abandoned.\n")
	return b.String()
}

// ExitCode is Exim's exit code after the error: 1 when messages were
// accepted before it, else 2.
func (e *BatchError) ExitCode() int {
	if e.Accepted > 0 {
		return 1
	}
	return 2
}

// batchState is the session's batched SMTP bookkeeping.
type batchState struct {
	line, start, accepted int
	err                   *BatchError
	// inData is set while a message is read: an error then names no
	// command.
	inData bool
}

// batchReply records the first error reply of a batch; other replies
// are not sent.
func (s *session) batchReply(code int, text string) {
	if code < 400 || s.batch.err != nil {
		if code == 250 && strings.Contains(text, "OK id=") {
			s.batch.accepted++
		}
		return
	}
	e := &BatchError{Code: code, Text: strings.ReplaceAll(text, "\n", "\n"), Start: s.batch.start, Line: s.batch.line, Accepted: s.batch.accepted}
	if s.batch.inData {
		e.Line++
	} else {
		e.Command = s.lastLine
	}
	s.batch.err = e
}

// batchCommand handles the commands that mean something else in a
// batch; it returns false for the others.
func (s *session) batchCommand(line string) (bool, error) {
	if !s.senderSet {
		s.batch.start = s.batch.line - 1
	}
	c, arg, ok := lookupCommand(line)
	if !ok {
		return false, nil
	}
	switch c.name {
	case "HELO", "EHLO":
		s.resetTransaction()
		s.helo, s.heloDone = arg, true
		s.vars["sender_helo_name"] = arg
		return true, nil
	case "VRFY", "EXPN", "ETRN", "HELP":
		return true, nil
	case "BDAT", "STARTTLS", "AUTH":
		s.lastLine = line
		s.reply(500, "Command unrecognized")
		return true, nil
	}
	return false, nil
}

// readBatchData reads a message of batched SMTP input: lines ending in
// LF (a CR before it is dropped) up to a line holding only ".", with a
// leading dot removed from the others. The end of input before that
// line is smtp.ErrIncompleteData; what was read comes back with it.
// limit, when positive, bounds what is kept (the rest is read and
// counted in n, the number of bytes of data read).
func readBatchData(r *bufio.Reader, limit int64) (data []byte, n int64, err error) {
	var buf bytes.Buffer
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A long line: keep reading it.
			n += int64(len(line))
			if limit <= 0 || int64(buf.Len()) <= limit {
				buf.Write(line)
			}
			continue
		}
		if err != nil {
			if len(line) > 0 {
				n += int64(len(line))
				buf.Write(line)
			}
			if errors.Is(err, io.EOF) {
				return buf.Bytes(), n, smtp.ErrIncompleteData
			}
			return buf.Bytes(), n, err
		}
		// Only a whole line can be the end; a long line's tail was
		// written above and ends here.
		text := bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		if string(text) == "." && (buf.Len() == 0 || buf.Bytes()[buf.Len()-1] == '\n') {
			return buf.Bytes(), n, nil
		}
		if len(text) > 0 && text[0] == '.' && (buf.Len() == 0 || buf.Bytes()[buf.Len()-1] == '\n') {
			text = text[1:]
		}
		n += int64(len(text)) + 1
		if limit <= 0 || int64(buf.Len()) <= limit {
			buf.Write(text)
			buf.WriteByte('\n')
		}
	}
}

// batchData reads the message after DATA in batched SMTP input and
// receives it. Errors are reported by line: the message's lines and
// the line with the dot are counted.
func (s *session) batchData(limit int64) error {
	s.batch.inData = true
	defer func() { s.batch.inData = false }()
	data, n, err := readBatchData(s.r, limit)
	s.batch.line += bytes.Count(data, []byte("\n"))
	if err != nil {
		return s.lostData(err, data)
	}
	s.batch.line++
	if limit > 0 && n > limit {
		return s.tooBig(n)
	}
	s.batch.inData = false
	return s.receive(data, "")
}

// notSMTPStart runs acl_not_smtp_start when a batch reaches DATA; its
// verdict is ignored, its controls and header lines apply to the
// message. Exim specification chapter "Access control lists", section
// "The non-SMTP ACLs": batched SMTP is not SMTP for the ACLs.
func (s *session) notSMTPStart() {
	if s.srv.ACL == nil || s.srv.Config.Main.String(acl.NotSMTPStart.OptionName()) == "" {
		return
	}
	// $message_size is -1 until the message is read (observed).
	s.vars["message_size"] = "-1"
	delete(s.vars, "message_exim_id")
	delete(s.vars, "message_id")
	s.acls.Vars = s.vars
	s.srv.ACL.Run(acl.NotSMTPStart, s.acls)
}

// notSMTPCheck runs acl_not_smtp on a message of a batch, hs its header
// lines. Any rejection is permanent: it is logged ("rejected by
// non-SMTP ACL", with the envelope and headers in the reject log) and
// ends the batch with a 550 error; ok is then false.
func (s *session) notSMTPCheck(id string, hs message.Headers) (res acl.Result, ok bool) {
	if s.srv.ACL == nil || s.srv.Config.Main.String(acl.NotSMTP.OptionName()) == "" {
		return acl.Result{Verdict: acl.Accept}, true
	}
	s.acls.Vars = s.vars
	if hb, ok := s.acls.Message.(*expand.HeaderBlock); ok {
		// The ACL sees the lines acl_not_smtp_start added.
		s.acls.Message = &expand.HeaderBlock{Block: hs, Charset: hb.Charset}
	}
	res = s.srv.ACL.Run(acl.NotSMTP, s.acls)
	if res.Verdict == acl.Accept || res.Verdict == acl.Discard {
		return res, true
	}
	deny := res
	if deny.Verdict != acl.Error {
		deny.Verdict = acl.Deny
	}
	if deny.UserMessage == "" {
		deny.UserMessage = "local configuration problem"
	}
	code, text := s.failReply(acl.NotSMTP, &deny)
	logText := res.LogMessage
	if logText == "" {
		logText = res.UserMessage
	}
	if logText == "" {
		logText = "NULL"
	}
	s.logRejectionHeaders(res, fmt.Sprintf("%s F=<%s> rejected by non-SMTP ACL: %s", id, s.sender, logText), hs)
	s.reply(code, text)
	if s.batch.err != nil {
		// The error came after the message: no command is at fault.
		s.batch.err.Command = ""
	}
	s.resetTransaction()
	return res, false
}
