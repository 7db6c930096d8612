package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/exigo-mta/exigo/internal/acl"
	"github.com/exigo-mta/exigo/internal/loadavg"
	"github.com/exigo-mta/exigo/internal/mainlog"
	"github.com/exigo-mta/exigo/internal/message"
	"github.com/exigo-mta/exigo/internal/queue"
	"github.com/exigo-mta/exigo/internal/receive"
	"github.com/exigo-mta/exigo/internal/smtpserver"
)

// submission is one message given on standard input (-bm, -t), or made
// by exigo itself (the error message about a rejected one), with what
// its submitter asked for.
type submission struct {
	input   io.Reader
	user    receive.User
	trusted bool
	// ident is the caller's login ($sender_ident, U=).
	ident    string
	fullName string
	protocol string
	sender   string
	// senderSet is a trusted -f (From: is then made from sender);
	// untrustedSender an untrusted one, ignored.
	senderSet, untrustedSender bool
	recipients                 []string
	extract, ignoreDot         bool
	noQualify, suppressFixups  bool
	// errorMode is the -oe letter: how a rejection is reported.
	errorMode string
	mode      queue.DeliveryMode
	// bounceFor is, for an error message, the rejected message's id.
	bounceFor string
	// authName, authID and authSender are $sender_host_authenticated
	// (-oMaa), $authenticated_id and $authenticated_sender: for a local
	// message the caller's login and login@qualify_domain unless a
	// trusted caller gave -oMai or -oMas (spec chapter "The Exim
	// command line"). tainted names the -H lines whose values came from
	// the command line.
	authName, authID, authSender string
	tainted                      []string
	// notSMTP gives the -H file -local: the message is the caller's
	// own (no -f).
	notSMTP bool
}

// submit receives one local message: acl_not_smtp_start, reading,
// fix-ups, the non-SMTP ACLs, then the spool. It returns the exit code.
func (r *receiving) submit(env *Env, sub *submission) int {
	opts := r.opts
	ns := r.newNotSMTP(sub.sender, sub.recipients, sub.ident, sub.protocol)
	ns.start()
	msg, err := receive.Read(sub.input, receive.ReadOptions{Format: receive.FormatLocal, DotEnds: !sub.ignoreDot, SizeLimit: opts.MessageSizeLimit})
	if err != nil {
		var se *receive.SizeError
		if errors.As(err, &se) {
			return failf(env, "%s", se.Local())
		}
		return failf(env, "%v", err)
	}
	defer msg.Body.Close()
	renv := &receive.Envelope{
		Sender:     sub.sender,
		Recipients: slices.Clone(sub.recipients),
		Protocol:   sub.protocol,
		Local:      true, Trusted: sub.trusted, User: sub.user, FullName: sub.fullName,
		SenderSet: sub.senderSet,
		Ident:     sub.ident, AuthID: sub.ident,
		// control = suppress_local_fixups works only from
		// acl_not_smtp_start (section "The non-SMTP ACLs").
		SuppressLocalFixups:  sub.suppressFixups || ns.sess.Controls.SuppressLocalFixups,
		UnqualifiedSender:    !sub.noQualify,
		UnqualifiedRecipient: !sub.noQualify,
	}
	id := r.queue.NewID()
	now := env.Now()
	original := queue.MessageIDOf(msg.Headers)
	in := &receive.Intake{Options: &opts, Envelope: renv, ID: string(id), Now: now, Expand: r.expander(env.Now), Extract: sub.extract, NoQualify: sub.noQualify, Rewrite: r.rewriteFor(string(id))}
	if err := in.FixUp(msg); err != nil {
		return failf(env, "%v", err)
	}
	body, err := msg.Body.Bytes()
	if err != nil {
		return failf(env, "%v", err)
	}
	if len(renv.Recipients) == 0 {
		if sub.extract {
			return r.noRecipients(env, sub, string(id), renv.Sender, msg.Headers, body)
		}
		return failf(env, "no recipients")
	}
	// The lines acl_not_smtp_start queued are in place before the other
	// ACLs look at the message (observed with Exim 4.96).
	hs := ns.takeHeaderChanges(msg.Headers)
	vars := in.Vars(msg)
	if msg.Size() == 0 {
		// An empty message is one empty line to the ACLs (observed
		// with Exim 4.96).
		vars["message_size"], vars["message_linecount"] = "1", "1"
	}
	ns.setMessage(string(id), hs, vars)
	setRecipientVars(ns.sess.Vars, renv.Recipients)
	if !ns.mime(string(id), hs, body, renv.Sender, renv.Recipients, now) {
		return 1
	}
	res := ns.check()
	switch res.Verdict {
	case acl.Accept, acl.Discard:
		hs = ns.takeHeaderChanges(hs)
	default:
		return r.rejectLocal(env, sub, string(id), renv, hs, body, res)
	}
	ctl := ns.sess.Controls
	a := &queue.Arrival{
		ID: id, Sender: renv.Sender, Recipients: renv.Recipients, Headers: hs, Body: body,
		Received: now, Login: sub.user.Login, UID: sub.user.UID, GID: sub.user.GID, Protocol: renv.Protocol,
		Local: true, Ident: sub.ident, MessageID: queue.MessageIDOf(hs), MessageIDCreated: original == "",
		SenderSetUntrusted: sub.untrustedSender, Frozen: ctl.Freeze,
		BounceFor: sub.bounceFor, LocalError: sub.bounceFor != "",
		ACLVars: ns.aclVars(),
		NotSMTP: sub.notSMTP, AuthName: sub.authName, AuthID: sub.authID, AuthSender: sub.authSender,
		Tainted: sub.tainted, MaxLineLength: msg.MaxLineLength, HasMaxLineLength: true,
	}
	if res.Verdict == acl.Discard {
		// A discarded message is logged as received and at once as
		// "delivered" to a blackhole (section "ACL return codes").
		a.Size = liveSize(hs) + int64(len(body)) + 1
		r.log.Write(queue.ArrivalLine(a, r.queue.Selector), mainlog.Main)
		line := string(id) + " => blackhole (non-SMTP ACL discarded recipients)"
		if res.LogMessage != "" {
			line += ": " + res.LogMessage
		}
		r.log.Write(line, mainlog.Main)
		r.log.Write(string(id)+" Completed", mainlog.Main)
		// Exim 4.96 exits 1 after a discard (observed).
		return 1
	}
	mode := sub.mode
	if ctl.Queue {
		mode = queue.QueueOnly
	}
	// queue_only_load (Exim specification chapter "Main
	// configuration"): above that load the message waits for a queue
	// run; said under log_selector delay_delivery, and only of a
	// message that would have been delivered at once (chapter "Log
	// files").
	loadReason := ""
	if limit, ok := r.cfg.Main.Int("queue_only_load"); ok && mode != queue.QueueOnly && r.queue.Mode != queue.QueueOnly {
		if above, load := loadavg.Above(loadavg.Read, int(limit)); above {
			mode, loadReason = queue.QueueOnly, "no immediate delivery: load average "+loadavg.Format(load)
		}
	}
	// What the controls say follows the "<=" line (Queue.Store).
	if ctl.Freeze {
		a.ControlLines = append(a.ControlLines, "frozen by ACL")
	}
	if ctl.Queue {
		where := ""
		if ctl.QueueName != "" {
			where = " in " + ctl.QueueName
		}
		a.ControlLines = append(a.ControlLines, "no immediate delivery: queued"+where+" by ACL")
	}
	if loadReason != "" && r.queue.Selector.Has(mainlog.SelDelayDelivery) {
		a.DelayLines = append(a.DelayLines, loadReason)
	}
	if err := r.queue.Store(context.Background(), a, mode); err != nil {
		fmt.Fprintf(env.Stderr, "exim: %v\n", err)
		return 1
	}
	return 0
}

// liveSize is the size of the header lines not deleted.
func liveSize(hs message.Headers) int64 {
	var n int64
	for _, h := range hs {
		if h.Type != '*' {
			n += int64(len(h.Text))
		}
	}
	return n
}

// rejectLocal logs a message the non-SMTP ACL rejected and reports the
// rejection as -oe asks: on standard error (-oep, -oeq) or in an error
// message to the sender (-oem, -oew, the default; -oee then exits 0).
// A message from the null sender is only logged. Exim specification
// chapter "The Exim command line", option -oe, and chapter "Access
// control lists", section "The non-SMTP ACLs" (observed with Exim 4.96).
func (r *receiving) rejectLocal(env *Env, sub *submission, id string, renv *receive.Envelope, hs message.Headers, body []byte, res acl.Result) int {
	logText, userText := res.NotSMTPTexts()
	line := fmt.Sprintf("%s F=<%s> rejected by non-SMTP ACL: %s", id, renv.Sender, logText)
	to := []mainlog.Which{mainlog.Main, mainlog.Reject}
	if res.RejectLogsSet {
		to = res.RejectLogs
	}
	switch {
	case slices.Contains(to, mainlog.Main) && slices.Contains(to, mainlog.Reject):
		r.log.RejectWithHeaders(line, smtpserver.RejectLogHeaders(renv.Sender, renv.Recipients, hs))
	case len(to) > 0:
		r.log.Write(line, to...)
	}
	if renv.Sender == "" {
		where := ""
		if sub.bounceFor != "" {
			where = " (R=" + sub.bounceFor + ")"
		}
		r.log.Write(fmt.Sprintf("%s Error while reading message with no usable sender address%s: rejected by non-SMTP ACL: %s", id, where, userText), mainlog.Main)
		return 1
	}
	switch sub.errorMode {
	case "p", "q":
		fmt.Fprintf(env.Stderr, "exim: message rejected by non-SMTP ACL: %s\n", userText)
		return 1
	}
	if code := r.errorMessage(env, sub, id, renv.Sender, hs, body, userText); code != 0 {
		r.log.Write(fmt.Sprintf("%s Child mail process returned status %d", id, code), mainlog.Main)
	}
	if sub.errorMode == "e" {
		return 0
	}
	return 1
}

// errorMessage mails Exim's "Mail failure - rejected by local scanning
// code" message about the rejected message id to its sender (see
// mailError). It returns the submission's exit code.
func (r *receiving) errorMessage(env *Env, sub *submission, id, to string, hs message.Headers, body []byte, text string) int {
	return r.mailError(env, sub, id, to, hs, body, "rejected by local scanning code",
		"A message that you sent was rejected by the local scanning code that\n"+
			"checks incoming messages on this system. The following error was given:\n\n"+
			"  "+text+"\n")
}

// noRecipients handles a -t message whose header lines named no
// recipient, or only ones the command line took away (spec chapter
// "The Exim command line", option -t). Exim 4.96 logs "<id> <id> no
// recipients found in headers" in the main and panic logs and on
// standard error, then reports it as -oe asks: "exim: no recipients in
// message" on standard error (-oep, -oeq), or an error message to the
// sender (exit code 1, 0 with -oee, 2 when that message fails). A
// message from the null sender is only logged, exit code 2 (observed).
func (r *receiving) noRecipients(env *Env, sub *submission, id, sender string, hs message.Headers, body []byte) int {
	line := id + " " + id + " no recipients found in headers"
	r.log.Write(line, mainlog.Main, mainlog.Panic)
	fmt.Fprintf(env.Stderr, "%s %s\n", r.log.Stamp(env.Now()), line)
	if sender == "" {
		r.log.Write(id+" Error while reading message with no usable sender address: no recipient addresses", mainlog.Main)
		return 2
	}
	switch sub.errorMode {
	case "p", "q":
		fmt.Fprintln(env.Stderr, "exim: no recipients in message")
		return 1
	}
	// The copy is of the message as read and fixed up, before its
	// Received: line (observed).
	if len(hs) > 0 && hs[0].Type == 'P' {
		hs = hs[1:]
	}
	intro := "A message that you sent contained no recipient addresses, and therefore no\n" +
		"delivery could be attempted.\n"
	if len(sub.recipients) > 0 {
		intro = "A message that you sent using the -t command line option contained no\n" +
			"addresses that were not also on the command line, and were therefore\n" +
			"suppressed. This left no recipient addresses, and so no delivery could\n" +
			"be attempted.\n"
	}
	if code := r.mailError(env, sub, id, sender, hs, body, "no recipient addresses", intro); code != 0 {
		r.log.Write(fmt.Sprintf("%s Child mail process returned status %d", id, code), mainlog.Main)
		return 2
	}
	if sub.errorMode == "e" {
		return 0
	}
	return 1
}

// mailError mails Exim's "Mail failure - <subject>" message about the
// message id to its sender: the intro text, then a copy of the message
// (the body cut after bounce_return_size_limit, in whole 8K blocks as
// for bounces). The message is submitted like any other local message
// from the Exim user, so the non-SMTP ACLs see it too. It returns the
// submission's exit code.
func (r *receiving) mailError(env *Env, sub *submission, id, to string, hs message.Headers, body []byte, subject, intro string) int {
	limit := int64(100 * 1024)
	if r.cfg.Main.IsSet("bounce_return_size_limit") {
		limit, _ = r.cfg.Main.Int("bounce_return_size_limit")
	} else if r.cfg.Main.IsSet("return_size_limit") {
		limit, _ = r.cfg.Main.Int("return_size_limit")
	}
	var b []byte
	add := func(s string) { b = append(b, s...) }
	add("Auto-Submitted: auto-replied\n")
	add("From: Mail Delivery System <Mailer-Daemon@" + r.opts.QualifyDomain + ">\n")
	add("To: " + to + "\n")
	if mid := queue.MessageIDOf(hs); mid != "" {
		add("References: <" + mid + ">\n")
	}
	add("Subject: Mail failure - " + subject + "\n\n")
	add(intro + "\n")
	add("------ This is a copy of your message, including all the headers.")
	copyBody := body
	if limit > 0 && int64(len(body)) > limit {
		add("\n------ No more than " + strconv.FormatInt(limit, 10) + " characters of the body are included.\n\n")
		const chunk = 8192
		if n := (limit/chunk + 1) * chunk; int64(len(body)) > n {
			copyBody = body[:n]
		}
	} else {
		add(" ------\n\n")
	}
	// The copy has every header line, deleted ones too (observed).
	for _, h := range hs {
		add(h.Text)
	}
	add("\n")
	b = append(b, copyBody...)
	u := r.eximUser()
	child := &submission{
		input: bytesReader(b), user: u, trusted: true, ident: u.Login,
		protocol: "local", sender: "", senderSet: true,
		extract: true, ignoreDot: true, errorMode: "m", mode: sub.mode, bounceFor: id,
	}
	return r.submit(env, child)
}

// eximUser is the user Exim's own messages come from.
func (r *receiving) eximUser() receive.User {
	u := r.dl.EximUser
	return receive.User{Login: u.Login, UID: u.UID, GID: u.GID}
}

// bytesReader reads b.
func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
