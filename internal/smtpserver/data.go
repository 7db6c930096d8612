package smtpserver

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/exigo-mta/exigo/internal/acl"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/mainlog"
	"github.com/exigo-mta/exigo/internal/message"
	"github.com/exigo-mta/exigo/internal/mimeacl"
	"github.com/exigo-mta/exigo/internal/smtp"
)

// noRecipients answers DATA or BDAT when no RCPT was accepted. When
// every RCPT was rejected with the same text, the reply quotes it. The
// first DATA after rejected RCPTs is an "expected" error when PIPELINING
// was advertised: it is not counted as a protocol error, and its reply
// says "Valid" rather than "valid" (Exim specification chapter "Main
// configuration", option smtp_max_synprot_errors).
func (s *session) noRecipients(cmd string) error {
	expected := s.pipelining && s.rcptPending
	s.rcptPending = false
	text := "valid RCPT command must precede " + cmd
	if expected {
		text = "V" + text[1:]
	}
	if s.rcptFails > 0 && s.rcptSame {
		text = "All RCPT commands were rejected with this error:\n" + s.rcptReply + "\n" + text
	}
	if expected {
		s.reply(503, text)
		return nil
	}
	return s.synprotError(503, text)
}

// cmdDATA handles DATA: the predata ACL, the 354 go-ahead, the message
// read with the strict dot-reader (smtp.DotReader), then reception.
func (s *session) cmdDATA(arg string) error {
	if arg != "" {
		return s.synprotError(501, "unexpected argument data")
	}
	if len(s.recipients) == 0 && s.discarded == 0 {
		if s.srv.Batched && !s.senderSet {
			return s.synprotError(503, "MAIL FROM:<sender> command must precede DATA")
		}
		if s.srv.Batched {
			return s.synprotError(503, "RCPT TO:<recipient> must precede DATA")
		}
		return s.noRecipients("DATA")
	}
	code, text := smtp.C354StartData, `Enter message, ending with "." on a line by itself`
	if s.srv.Config.Main.String("acl_smtp_predata") != "" {
		if s.syncError(s.lastLine) {
			return errClose
		}
		res := s.runACL(acl.Predata)
		if res.Verdict != acl.Accept {
			s.aclReject(acl.Predata, res, s.hostEq()+" ", "DATA")
			if res.Verdict == acl.Drop {
				return errClose
			}
			return nil
		}
		code, text = s.acceptReply(res, code, text)
	}
	s.cutthroughStartData()
	s.reply(code, text)
	limit := s.sizeLimit()
	if !s.esmtp || true {
		s.hostOption("ignore_fromline_hosts")
	}
	if s.srv.Batched {
		s.notSMTPStart()
		return s.batchData(limit)
	}
	var buf bytes.Buffer
	dr := smtp.NewDotReader(s.r)
	var err error
	if limit > 0 {
		_, err = io.Copy(&buf, io.LimitReader(dr, limit+1))
		if err == nil && int64(buf.Len()) > limit {
			// Read and drop the rest, then refuse.
			n, derr := io.Copy(io.Discard, dr)
			if derr != nil {
				return s.lostData(derr, buf.Bytes())
			}
			return s.tooBig(int64(buf.Len()) + n)
		}
	} else {
		_, err = io.Copy(&buf, dr)
	}
	if err != nil {
		return s.lostData(err, buf.Bytes())
	}
	return s.receive(buf.Bytes(), "")
}

// lostData handles input ending inside the message, read is what came.
// The log line says "(header)" before the first complete header line,
// "(after header)" within the header section, and nothing more once the
// body began.
func (s *session) lostData(err error, read []byte) error {
	if isTimeout(err) {
		// The message has its id once its header section is complete.
		id := ""
		if bytes.HasPrefix(read, []byte("\n")) || bytes.Contains(read, []byte("\n\n")) {
			id = s.newMessageID() + " "
		}
		s.reply(421, s.hostname()+" SMTP incoming data timeout - closing connection.")
		if s.sel().Has(mainlog.SelLostIncomingConnection) {
			s.log(fmt.Sprintf("%sSMTP data timeout (message abandoned) on connection from %s F=<%s>", id, s.logHost(), s.sender), mainlog.Main)
		}
		return errClose
	}
	if errors.Is(err, smtp.ErrIncompleteData) {
		s.markAborted()
		s.closingReply(421, "Lost incoming connection")
		where := " (header)"
		switch {
		case bytes.HasPrefix(read, []byte("\n")) || bytes.Contains(read, []byte("\n\n")):
			where = ""
		case bytes.Contains(read, []byte("\n")):
			where = " (after header)"
		}
		// Under lost_incoming_connection or smtp_connection (observed
		// with Exim 4.96).
		if s.sel().Has(mainlog.SelLostIncomingConnection | mainlog.SelSMTPConnection) {
			s.log(fmt.Sprintf("SMTP connection from %s lost while reading message data%s", s.logHost(), where), mainlog.Main)
		}
		return errClose
	}
	return fmt.Errorf("reading message data: %w", err)
}

// tooBig refuses a message over message_size_limit.
func (s *session) tooBig(read int64) error {
	limit := s.sizeLimit()
	id := s.newMessageID()
	if s.sel().Has(mainlog.SelSizeReject) {
		// Spec chapter "Log files", size_reject.
		s.log(fmt.Sprintf(id+" rejected from <%s> %s: message too big: read=%d max=%d", s.sender, s.hostEq(), read, limit), mainlog.Main, mainlog.Reject)
	}
	s.reply(552, "Message size exceeds maximum permitted")
	s.resetTransaction()
	return nil
}

// cmdBDAT handles BDAT (RFC 3030): chunks of exactly the stated size,
// with no dot processing; the last one completes the message.
func (s *session) cmdBDAT(arg string) error {
	if !s.chunking {
		return s.synprotError(503, "BDAT command used when CHUNKING not advertised")
	}
	// Cutthrough is not done for CHUNKING (specification chapter
	// "Access control lists", control = cutthrough_delivery).
	s.cutthroughCancel()
	fields := strings.Fields(arg)
	var size int64 = -1
	last := false
	if len(fields) >= 1 {
		if n, err := strconv.ParseInt(fields[0], 10, 64); err == nil && n >= 0 {
			size = n
		}
	}
	if len(fields) == 2 && strings.EqualFold(fields[1], "LAST") {
		last = true
	}
	if size < 0 || len(fields) > 2 || (len(fields) == 2 && !last) {
		return s.synprotError(501, "missing size for BDAT command")
	}
	if len(s.recipients) == 0 && s.discarded == 0 {
		return s.noRecipients("BDAT")
	}
	chunk := make([]byte, 0, min(size, 1<<20))
	b := bytes.NewBuffer(chunk)
	if _, err := io.CopyN(b, s.r, size); err != nil {
		s.markAborted()
		s.closingReply(421, s.hostname()+" lost input connection")
		if s.sel().Has(mainlog.SelLostIncomingConnection | mainlog.SelSMTPConnection) {
			s.log(fmt.Sprintf("SMTP connection from %s lost while reading message data", s.logHost()), mainlog.Main)
		}
		return errClose
	}
	s.bdat = append(s.bdat, b.Bytes()...)
	if !last {
		s.reply(250, fmt.Sprintf("%d byte chunk received", size))
		return nil
	}
	data := bytes.ReplaceAll(s.bdat, []byte("\r\n"), []byte("\n"))
	s.bdat = nil
	return s.receive(data, fmt.Sprintf(" %d byte chunk, total %d\n", size, len(data)))
}

// receive finishes a message: headers, Received:, the DATA ACL, the
// Receiver, the "<=" log line and the 250. prefix goes before "OK id=".
func (s *session) receive(data []byte, prefix string) error {
	br := bufio.NewReader(bytes.NewReader(data))
	headers, first, err := message.ReadHeaders(br)
	if err != nil {
		s.reply(552, "header block too large")
		s.resetTransaction()
		return nil
	}
	flagMessageID(headers)
	rest, _ := io.ReadAll(br)
	body := append([]byte(first), rest...)
	id := s.newMessageID()
	// Log lines about this message name it themselves (-bh prefixes
	// later lines with the last message's id).
	s.msgID = ""
	s.vars["message_exim_id"] = id
	s.vars["message_id"] = id
	// DKIM verifies the message as it came, before rewriting.
	asReceived := headers
	headers, marks := s.rewriteArrival(id, headers)
	if !s.srv.Local && !s.srv.Batched {
		// Without local fix-ups, the lines recording rewritten envelope
		// addresses follow the message's own, before those ACLs add
		// (observed with Exim 4.96).
		headers = append(headers, marks...)
		marks = nil
	}
	if len(s.recipients) == 1 {
		s.vars["received_for"] = s.recipients[0]
	} else {
		delete(s.vars, "received_for")
	}
	s.vars["received_protocol"] = s.protocol()
	received := s.receivedHeader()
	// The header lines the MAIL, RCPT and predata ACLs queued are applied
	// before the DATA ACL runs; those the DATA ACL queues, after it.
	hs := make(message.Headers, 0, len(headers)+len(s.acls.AddedHeaders)+1)
	hs = append(hs, message.Header{Name: "Received", Text: received, Type: 'P'})
	hs = append(hs, headers...)
	// In a batch the lines the non-SMTP ACLs add go after the local
	// fix-ups, which the Receiver makes (observed with Exim 4.96).
	var batchAdded []string
	if s.srv.Batched {
		batchAdded = s.acls.AddedHeaders
		hs = applyHeaderChanges(hs, s.acls.RemovedHeaders, nil)
	} else {
		hs = applyHeaderChanges(hs, s.acls.RemovedHeaders, s.acls.AddedHeaders)
	}
	s.acls.AddedHeaders, s.acls.RemovedHeaders = nil, nil
	charset := s.srv.Config.Main.String("headers_charset")
	if charset == "" {
		charset = "UTF-8"
	}
	s.acls.Message = &expand.HeaderBlock{Block: hs, Charset: charset}
	// During the DATA ACL, $message_size is the message as received
	// (without the Received: header exigo adds), as in Exim.
	s.vars["message_size"] = strconv.Itoa(len(data))
	s.setBodyVars(data, body)
	s.vars["mime_part_count"] = "-1"
	// A message whose recipients were all discarded is not given to the
	// DATA ACL; it is "delivered" to a blackhole.
	discard := ""
	if len(s.recipients) == 0 {
		discard = s.discard
	}
	okCode, okText := 250, prefix+"OK id="+id
	dkimField := ""
	if discard == "" {
		var res *acl.Result
		dkimField, res = s.dkimStage(id, asReceived, body)
		if res != nil {
			code, text := s.failReply(acl.DKIM, res)
			s.dkimRejectLog(id, *res)
			s.reply(code, text)
			s.resetTransaction()
			if res.Verdict == acl.Drop {
				return errClose
			}
			return nil
		}
	}
	main := s.srv.Config.Main
	var scan *mimeacl.Scan
	if discard == "" && !s.srv.Batched && (main.String("acl_smtp_mime") != "" || main.String("acl_smtp_data") != "") {
		scan = s.newScan(id, hs, body)
		defer scan.Unspool()
		saved := s.acls.Checker
		s.acls.Checker = scanChecker{next: saved, scan: scan}
		defer func() { s.acls.Checker = saved }()
		if m, ok := saved.(interface{ SetMessage([]byte) }); ok {
			m.SetMessage(scanData(received, headers, body))
		}
		if res := s.mimeStage(scan, hs, body); res != nil {
			if res.Verdict == acl.Discard {
				// The reply stays "OK id=" (observed with Exim 4.96).
				discard = "MIME"
			} else {
				scan.Unspool()
				code, text := s.failReply(acl.MIME, res)
				s.logRejectionHeaders(*res, rejectLine(*res, fmt.Sprintf("%s %s F=<%s> ", id, s.hostEq(), s.sender), "during MIME ACL checks"), hs)
				s.reply(code, text)
				s.resetTransaction()
				if res.Verdict == acl.Drop {
					return errClose
				}
				return nil
			}
		}
	}
	prdr := discard == "" && s.prdrActive()
	if prdr {
		total := len(s.recipients)
		out := s.prdrStage(id)
		switch {
		case out.accepted == 0:
			scan.Unspool()
			if out.refused == total {
				s.reply(550, "id="+id+" message rejected for all recipients")
			} else {
				s.reply(250, "id="+id+" message accepted for some recipients")
			}
			s.resetTransaction()
			return nil
		case out.accepted == total:
			okText = "id=" + id + " message accepted"
		default:
			okText = "id=" + id + " message accepted for some recipients"
		}
	}
	discardLog := ""
	if s.srv.Batched && discard == "" {
		res, ok := s.notSMTPCheck(id, applyHeaderChanges(append(message.Headers(nil), hs...), nil, batchAdded))
		if !ok {
			return nil
		}
		if res.Verdict == acl.Discard {
			discard, discardLog = "non-SMTP", res.LogMessage
		}
	}
	if main.String("acl_smtp_data") != "" && discard == "" {
		res := s.runACL(acl.Data)
		scan.Unspool()
		switch res.Verdict {
		case acl.Accept:
			okCode, okText = s.acceptReply(res, okCode, okText)
		case acl.Discard:
			discard = "DATA"
			okCode, okText = s.acceptReply(res, okCode, okText)
		default:
			code, text := s.failReply(acl.Data, &res)
			s.logRejectionHeaders(res, rejectLine(res, fmt.Sprintf("%s %s F=<%s> ", id, s.hostEq(), s.sender), "after DATA"), hs)
			s.reply(code, text)
			s.resetTransaction()
			if res.Verdict == acl.Drop {
				return errClose
			}
			return nil
		}
	}
	scan.Unspool()
	if s.srv.Batched {
		batchAdded = append(batchAdded, s.acls.AddedHeaders...)
		s.acls.AddedHeaders = nil
	}
	hs = applyHeaderChanges(hs, s.acls.RemovedHeaders, s.acls.AddedHeaders)
	cutQueue := false
	if s.cut.conn != nil && discard == "" && !prdr {
		var done bool
		if done, cutQueue = s.cutthroughData(id, hs, body); done {
			s.resetTransaction()
			return nil
		}
	}
	size := liveSize(hs) + int64(len(body)) + 1
	s.vars["message_size"] = strconv.FormatInt(size, 10)
	// The Receiver adds the Received: header itself: hand it the other
	// lines.
	headers = make(message.Headers, 0, len(hs))
	receivedText := ""
	for i := range hs {
		if receivedText == "" && hs[i].Type == 'P' && hs[i].Text == received {
			receivedText = received
			continue
		}
		headers = append(headers, hs[i])
	}
	env := &Envelope{
		ID: id, Sender: s.sender, Recipients: s.recipients, HeloName: s.helo,
		HostAddress: s.hostAddr(), HostPort: s.peer.Port, Protocol: s.protocol(),
		BodyType: s.bodyType, SMTPUTF8: s.utf8, Size: size,
		Received: receivedText, Vars: s.vars, DKIM: dkimField, RewriteMarks: marks, SenderAsGiven: s.senderAsGiven,
		Freeze: s.acls.Controls.Freeze, Queue: s.acls.Controls.Queue || cutQueue, QueueName: s.acls.Controls.QueueName,
		Controls: s.acls.Controls, PRDR: prdr, Pipelining: s.pipeliningField(),
		TLS: s.tls, AuthPublicName: s.authPublicName(),
	}
	// queue_only_load, then smtp_accept_queue_per_connection (Exim
	// specification chapter "Main configuration"): above that load, or
	// past that many messages in one session, messages wait for a queue
	// run. The load is the reason given when both apply (observed with
	// Exim 4.96).
	if reason := s.loadQueueReason(); reason != "" {
		env.QueueReason = reason
	} else if q, _ := s.srv.Config.Main.Int("smtp_accept_queue_per_connection"); q > 0 && s.received >= int(q) {
		env.QueueReason = fmt.Sprintf("more than %d messages received in one connection", q)
	}
	for _, t := range batchAdded {
		for _, p := range []string{":at_start:", ":after_received:", ":at_start_rfc:"} {
			t = strings.TrimPrefix(t, p)
		}
		env.AddedHeaders = append(env.AddedHeaders, t)
	}
	logged := false
	if discard == "" && s.srv.Receiver != nil {
		if al, ok := s.srv.Receiver.(ArrivalLogger); ok {
			logged = al.LogsArrival()
		}
		if _, err := s.srv.Receiver.Receive(s.ctx, env, headers, body); err != nil {
			s.log(fmt.Sprintf("%s %s F=<%s> temporarily rejected after DATA: %v", id, s.hostEq(), s.sender, err), mainlog.Main, mainlog.Panic)
			s.reply(451, textTempFail)
			s.resetTransaction()
			return nil
		}
		size = env.Size
		s.received++
	}
	s.msgID = ""
	ctl := s.acls.Controls
	if !logged {
		// control = fakereject logs "(=" instead of "<=" (Exim
		// specification chapter "Access control lists", section "Use of
		// the control modifier"); queue = adds Q=.
		arrow := "<="
		if ctl.FakeReject {
			arrow = "(="
		}
		proto := s.protocol()
		if prdr {
			proto += " PRDR"
		}
		line := fmt.Sprintf("%s %s %s H=%s P=%s S=%d", id, arrow, senderLog(s.sender), s.logHost(), proto, size)
		if dkimField != "" {
			line += " DKIM=" + dkimField
		}
		if ctl.QueueName != "" {
			line += " Q=" + ctl.QueueName
		}
		if mid := messageIDOf(headers); mid != "" {
			line += " id=" + mid
		}
		s.log(line, mainlog.Main)
		if discard == "" {
			if ctl.Freeze {
				s.log(id+" frozen by ACL", mainlog.Main)
			}
			if ctl.Queue {
				where := ""
				if ctl.QueueName != "" {
					where = " in " + ctl.QueueName
				}
				s.log(id+" no immediate delivery: queued"+where+" by ACL", mainlog.Main)
			}
		}
	}
	if ctl.FakeReject || ctl.FakeDefer {
		okCode, okText = 550, s.oneLine(ctl.FakeText)
		if ctl.FakeDefer {
			okCode = 450
		}
	}
	if discard != "" {
		line := fmt.Sprintf("%s => blackhole (%s ACL discarded recipients)", id, discard)
		if discardLog != "" {
			line += ": " + discardLog
		}
		s.log(line, mainlog.Main)
		s.log(fmt.Sprintf("%s Completed", id), mainlog.Main)
	} else if s.srv.HostChecking {
		s.msgID = id
	}
	s.reply(okCode, okText)
	if s.srv.HostChecking && !prdr {
		// Part of the reply stream: it waits in the buffer with them.
		s.w.WriteString("\n**** SMTP testing: that is not a real message id!\n\n")
	}
	s.resetTransaction()
	return nil
}

// scanData is the message as content scanners see it: the Received:
// header, the other headers, a blank line and the body.
func scanData(received string, headers message.Headers, body []byte) []byte {
	var b bytes.Buffer
	b.WriteString(received)
	for _, h := range headers {
		b.WriteString(h.Text)
	}
	b.WriteByte('\n')
	b.Write(body)
	return b.Bytes()
}

// senderLog is the sender as the "<=" line shows it.
func senderLog(sender string) string {
	if sender == "" {
		return "<>"
	}
	return sender
}

// receivedHeader builds the Received: header from received_header_text
// and adds the date, as Exim does (specification chapter "Main
// configuration", received_header_text). The default text is built
// directly; a configured one is expanded.
func (s *session) receivedHeader() string {
	date, _ := s.expand("$tod_full")
	if !s.srv.Config.Main.IsSet("received_header_text") {
		return s.defaultReceived() + ";\n\t" + date + "\n"
	}
	text, err := s.expand(s.srv.Config.Main.String("received_header_text"))
	if err != nil {
		text = s.defaultReceived()
	}
	return text + ";\n\t" + date + "\n"
}

// defaultReceived is Exim's default received_header_text, expanded.
func (s *session) defaultReceived() string {
	v := s.vars
	var b strings.Builder
	b.WriteString("Received: ")
	switch {
	case v["sender_rcvhost"] != "":
		b.WriteString("from " + v["sender_rcvhost"] + "\n\t")
	default:
		if v["sender_ident"] != "" {
			b.WriteString("from " + v["sender_ident"] + " ")
		}
		if v["sender_helo_name"] != "" {
			b.WriteString("(helo=" + v["sender_helo_name"] + ")\n\t")
		}
	}
	b.WriteString("by " + v["primary_hostname"] + " ")
	if p := v["received_protocol"]; p != "" {
		b.WriteString("with " + p + " ")
	}
	if t := v["tls_in_ver"]; t != "" {
		b.WriteString(" (" + t + ")")
	}
	if c := v["tls_in_cipher_std"]; c != "" {
		b.WriteString(" tls " + c + "\n\t")
	}
	b.WriteString("(Exim " + v["version_number"] + ")\n\t")
	if sa := v["sender_address"]; sa != "" {
		b.WriteString("(envelope-from <" + sa + ">)\n\t")
	}
	b.WriteString("id " + v["message_exim_id"])
	if f := v["received_for"]; f != "" {
		b.WriteString("\n\tfor " + f)
	}
	return b.String()
}

// setBodyVars sets the variables that describe the received message:
// $message_body and $message_body_end (message_body_visible characters,
// newlines as spaces), $message_body_size and the line counts. Spec:
// chapter "String expansions", section "Expansion variables".
func (s *session) setBodyVars(data, body []byte) {
	visible := 500
	if n, ok := s.srv.Config.Main.Int("message_body_visible"); ok && n >= 0 {
		visible = int(n)
	}
	start, end := body, body
	if len(body) > visible {
		start, end = body[:visible], body[len(body)-visible:]
	}
	flat := func(b []byte) string {
		return strings.Map(func(r rune) rune {
			if r == '\n' {
				return ' '
			}
			return r
		}, string(b))
	}
	s.vars["message_body"] = flat(start)
	s.vars["message_body_end"] = flat(end)
	s.vars["message_body_size"] = strconv.Itoa(len(body))
	s.vars["message_linecount"] = strconv.Itoa(bytes.Count(data, []byte("\n")))
	s.vars["body_linecount"] = strconv.Itoa(bytes.Count(body, []byte("\n")))
	s.vars["body_zerocount"] = strconv.Itoa(bytes.Count(body, []byte{0}))
	s.vars["max_received_linelength"] = strconv.Itoa(maxReceivedLineLength(data))
}

// messageIDOf is the Message-ID: header's value without the angle
// brackets, as the "<=" line shows it (id=), or "".
func messageIDOf(hs message.Headers) string {
	for _, h := range hs {
		if h.Type == '*' || !strings.EqualFold(h.Name, "message-id") {
			continue
		}
		v := strings.TrimPrefix(strings.TrimSpace(h.Value()), "<")
		if i := strings.IndexByte(v, '>'); i >= 0 {
			v = v[:i]
		}
		return v
	}
	return ""
}
