package queue

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/exigo-mta/exigo/internal/mainlog"
	"github.com/exigo-mta/exigo/internal/message"
	"github.com/exigo-mta/exigo/internal/receive"
	"github.com/exigo-mta/exigo/internal/rewrite"
	"github.com/exigo-mta/exigo/internal/smtpserver"
	"github.com/exigo-mta/exigo/internal/spool"
)

// ArrivalLine is the "<=" line of the main log, without the time stamp:
//
//	ID <= sender [H=host] [I=iface] [U=user] P=proto [X=cipher CV=..]
//	  [A=auth:id] S=size [id=msgid] [T="subject"] [for rcpt ...]
//
// Spec chapter "Log files", sections "Logging message reception" and
// "Reducing or increasing what is logged" (fields under log_selector).
func ArrivalLine(a *Arrival, sel mainlog.Selector) string {
	var b strings.Builder
	b.WriteString(string(a.ID))
	b.WriteString(" <= ")
	if a.Sender == "" {
		b.WriteString("<>")
	} else {
		b.WriteString(a.Sender)
	}
	if a.BounceFor != "" {
		b.WriteString(" R=" + a.BounceFor)
	}
	if a.HostAddress != "" {
		b.WriteString(" H=")
		if a.HostName != "" {
			b.WriteString(a.HostName + " ")
		}
		if a.HeloName != "" && a.HeloName != a.HostName {
			b.WriteString("(" + a.HeloName + ") ")
		}
		b.WriteString("[" + a.HostAddress + "]")
		if sel.Has(mainlog.SelIncomingPort) {
			b.WriteString(":" + strconv.Itoa(a.HostPort))
		}
	}
	if sel.Has(mainlog.SelIncomingInterface) && a.InterfaceAddress != "" {
		b.WriteString(" I=[" + a.InterfaceAddress + "]:" + strconv.Itoa(a.InterfacePort))
	}
	if a.Ident != "" {
		b.WriteString(" U=" + a.Ident)
	}
	b.WriteString(" P=" + a.Protocol)
	if a.PRDR {
		b.WriteString(" PRDR")
	}
	if a.Pipelining != "" && sel.Has(mainlog.SelPipelining) {
		// Spec chapter "Log files", pipelining.
		b.WriteString(" " + a.Pipelining)
	}
	if a.TLSCipher != "" && sel.Has(mainlog.SelTLSCipher) {
		b.WriteString(" X=" + a.TLSCipher)
		if sel.Has(mainlog.SelTLSCertificateVerified) {
			if a.TLSVerified {
				b.WriteString(" CV=yes")
			} else {
				b.WriteString(" CV=no")
			}
		}
	}
	if a.AuthName != "" {
		b.WriteString(" A=" + a.AuthName)
		if a.AuthID != "" {
			b.WriteString(":" + a.AuthID)
		}
		if a.AuthSender != "" && sel.Has(mainlog.SelSMTPMailAuth) {
			// Spec chapter "Log files", smtp_mailauth.
			b.WriteString(":" + a.AuthSender)
		}
	}
	b.WriteString(" S=" + strconv.FormatInt(a.Size, 10))
	if a.DKIM != "" {
		// Spec chapter "Log files": DKIM= is under the dkim selector,
		// which the SMTP session applied.
		b.WriteString(" DKIM=" + a.DKIM)
	}
	if sel.Has(mainlog.Sel8BitMIME) {
		// M8S=0 without BODY=, 1 for 7BIT, 2 for 8BITMIME.
		m8s := "0"
		switch strings.ToUpper(a.BodyType) {
		case "7BIT":
			m8s = "1"
		case "8BITMIME":
			m8s = "2"
		}
		b.WriteString(" M8S=" + m8s)
	}
	if sel.Has(mainlog.SelReceiveTime) {
		b.WriteString(" RT=" + receiveTime(a.ReceiveTime, sel.Has(mainlog.SelMillisec)))
	}
	if a.MessageID != "" && sel.Has(mainlog.SelMsgID) {
		switch {
		case !a.MessageIDCreated:
			b.WriteString(" id=" + a.MessageID)
		case sel.Has(mainlog.SelMsgIDCreated):
			b.WriteString(" id*=" + a.MessageID)
		}
	}
	if sel.Has(mainlog.SelSubject) {
		if s, ok := a.Headers.Raw("Subject"); ok {
			b.WriteString(" T=" + strconv.Quote(strings.TrimSpace(s)))
		}
	}
	if sel.Has(mainlog.SelReceivedSender) {
		b.WriteString(" from <" + a.Sender + ">")
	}
	if sel.Has(mainlog.SelReceivedRecipients) {
		b.WriteString(" for " + strings.Join(a.Recipients, " "))
	}
	return b.String()
}

// receiveTime formats RT=: whole seconds, or with log_selector
// +millisec three decimals, as Exim writes QT= and DT=.
func receiveTime(d time.Duration, millisec bool) string {
	if millisec {
		return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) + "s"
	}
	return strconv.Itoa(int(d/time.Second)) + "s"
}

// SpoolReceiver implements smtpserver.Receiver (for the daemon and -bs)
// over a Queue: it applies the fix-ups of receive.Intake (with the
// session's own Received: header), stores the message and logs "<=".
type SpoolReceiver struct {
	Queue *Queue
	// Options are the intake options of the configuration.
	Options *receive.Options
	// Expand expands message_id_header_text and _domain.
	Expand receive.Expander
	// Login, UID and GID are the -H file's owner line: the daemon's user,
	// or the caller of -bs.
	Login    string
	UID, GID int
	// Local marks -bs: the local fix-ups apply and U= is logged.
	Local bool
	// Trusted is a trusted -bs caller (no Sender: header for them).
	Trusted bool
	// TaintedHost marks a session whose host came from the command line
	// (-bs with -oMa): its values are tainted in the -H file.
	TaintedHost bool
	// TaintedProtocol marks a protocol a trusted caller set with -oMr
	// (-bS): --received_protocol in the -H file.
	TaintedProtocol bool
	// User is the -bs caller.
	User receive.User
	// Mode is the delivery mode after storing.
	Mode DeliveryMode
	// AttemptFrozen starts a delivery attempt for a message an ACL
	// froze, which logs "Message is frozen": the daemon does, -bs does
	// not (observed with Exim 4.96).
	AttemptFrozen bool
	// Rewrite, when set, returns the rewrite rules for a message id,
	// for the header lines the fix-ups add (the session rewrote the
	// rest); nil when there are none.
	Rewrite func(id string) *rewrite.Rules
}

// NewID implements smtpserver.IDSource.
func (r *SpoolReceiver) NewID() string { return string(r.Queue.NewID()) }

// LogsArrival implements smtpserver.ArrivalLogger: the "<=" line is
// written here, with the fields the session does not know.
func (r *SpoolReceiver) LogsArrival() bool { return true }

// Receive implements smtpserver.Receiver.
func (r *SpoolReceiver) Receive(ctx context.Context, env *smtpserver.Envelope, headers message.Headers, body []byte) (string, error) {
	id, err := spool.ParseID(env.ID)
	if err != nil {
		id = r.Queue.NewID()
	}
	renv := &receive.Envelope{
		Sender: env.Sender, Recipients: env.Recipients, Protocol: env.Protocol,
		Local: r.Local, LocalSMTP: r.Local, Trusted: r.Trusted, User: r.User,
		HostAddress: env.HostAddress, HostPort: strconv.Itoa(env.HostPort), Helo: env.HeloName,
	}
	// control = submission (Exim specification chapter "Access control
	// lists", section "Use of the control modifier"; suppress_local_fixups
	// only concerns local, non-TCP/IP, messages).
	if c := env.Controls; c.Submission {
		renv.Submission = &receive.Submission{Domain: c.SubmissionDomain, DomainSet: c.SubmissionDomain != "", Name: c.SubmissionName}
	}
	renv.SuppressLocalFixups = env.Controls.SuppressLocalFixups && r.Local
	if v := env.Vars; v != nil {
		renv.AuthID, renv.AuthSender = v["authenticated_id"], v["authenticated_sender"]
	}
	if !r.Local && env.Vars != nil {
		// $sender_ident from an RFC 1413 call: U= and -ident.
		renv.Ident = env.Vars["sender_ident"]
	}
	if r.Local {
		renv.Ident = r.User.Login
		renv.UnqualifiedSender, renv.UnqualifiedRecipient = true, true
	}
	opts := *r.Options
	opts.ReceivedHeaderText = "" // the session built Received: already
	msg := &receive.Message{Headers: headers}
	original := MessageIDOf(headers)
	in := &receive.Intake{Options: &opts, Envelope: renv, ID: string(id), Now: r.Queue.now(), Expand: r.Expand, RewriteMarks: env.RewriteMarks, RewriteFixupsOnly: true, SenderAsGiven: env.SenderAsGiven}
	if r.Rewrite != nil {
		in.Rewrite = r.Rewrite(string(id))
	}
	if err := in.FixUp(msg); err != nil {
		return "", err
	}
	hs := make(message.Headers, 0, len(msg.Headers)+len(env.AddedHeaders)+1)
	if env.Received != "" {
		hs = append(hs, message.Header{Name: "Received", Text: env.Received, Type: 'P'})
	}
	hs = append(hs, msg.Headers...)
	for _, t := range env.AddedHeaders {
		if !strings.HasSuffix(t, "\n") {
			t += "\n"
		}
		name, _, _ := strings.Cut(t, ":")
		hs = append(hs, message.Header{Name: name, Text: t, Type: message.TypeFlag(name)})
	}
	a := &Arrival{
		ID: id, Sender: env.Sender, Recipients: renv.Recipients, Headers: hs, Body: body,
		Login: r.Login, UID: r.UID, GID: r.GID, Protocol: env.Protocol, PRDR: env.PRDR, Pipelining: env.Pipelining,
		Local: r.Local, Ident: renv.Ident, HeloName: env.HeloName,
		HostAddress: env.HostAddress, HostPort: env.HostPort,
		MessageID: MessageIDOf(hs), MessageIDCreated: original == "",
		DKIM: env.DKIM, BodyType: env.BodyType, TaintedHost: r.TaintedHost,
		Frozen: env.Freeze, SMTPUTF8: env.SMTPUTF8, AttemptFrozen: env.Freeze && r.AttemptFrozen,
	}
	if v := env.Vars; v != nil {
		a.InterfaceAddress = v["received_ip_address"]
		a.InterfacePort, _ = strconv.Atoi(v["received_port"])
		a.HostName = v["sender_host_name"]
		a.TLSCipher = v["tls_in_cipher"]
		a.TLSVerified = v["tls_in_certificate_verified"] == "1"
		a.TLSVer, a.TLSPeerDN, a.TLSSNI = v["tls_in_ver"], v["tls_in_peerdn"], v["tls_in_sni"]
		a.TLSResumption, _ = strconv.Atoi(v["tls_in_resumption"])
		a.TLSOCSP, _ = strconv.Atoi(v["tls_in_ocsp"])
		a.MaxLineLength, err = strconv.Atoi(v["max_received_linelength"])
		a.HasMaxLineLength = err == nil
		a.ACLVars = ACLVarsOf(v)
		if id := v["authenticated_id"]; id != "" || v["sender_host_authenticated"] != "" {
			a.AuthName, a.AuthID = v["sender_host_authenticated"], id
			a.AuthSender = v["authenticated_sender"]
			a.AuthPubname = env.AuthPublicName
			// Exim 4.96 marks the authenticated id and sender tainted
			// whatever server_set_id expanded from (observed with a
			// constant), and so an -oMai value in -bs.
			a.Tainted = append(a.Tainted, "auth_id", "auth_sender")
			if r.TaintedHost && a.AuthName != "" {
				// -bs with -oMa and -oMaa: the name came from the
				// command line (observed: --host_auth).
				a.Tainted = append(a.Tainted, "host_auth")
			}
		}
	}
	if r.TaintedProtocol {
		a.Tainted = append(a.Tainted, "received_protocol")
	}
	if env.TLS != nil {
		a.TLSOurCert, a.TLSPeerCert = CertPEM(env.TLS.OurCert), CertPEM(env.TLS.PeerCert)
	}
	mode := r.Mode
	if env.Queue || env.QueueReason != "" {
		// control = queue, or a cutthrough delivery deferred with
		// defer=spool: the message waits for a queue run.
		mode = QueueOnly
	}
	a.ControlLines, a.DelayLines = r.controlLines(env)
	if err := r.Queue.Store(ctx, a, mode); err != nil {
		return "", err
	}
	env.Size = a.Size
	return string(id), nil
}

// controlLines are the lines that follow "<=" for a message an ACL froze
// (control = freeze) or queued (control = queue): "frozen by ACL" and
// "no immediate delivery: queued by ACL" (Exim specification chapter
// "Access control lists", section "Use of the control modifier"); delay
// is the line of a message that waits for another reason (Arrival's
// DelayLines). Queue.Store writes them before it starts the delivery
// attempt.
func (r *SpoolReceiver) controlLines(env *smtpserver.Envelope) (lines, delay []string) {
	if env.Freeze {
		lines = append(lines, "frozen by ACL")
	}
	if env.Controls.Queue {
		where := ""
		if env.QueueName != "" {
			where = " in " + env.QueueName
		}
		lines = append(lines, "no immediate delivery: queued"+where+" by ACL")
	} else if env.QueueReason != "" && r.Mode != QueueOnly && r.Queue.Mode != QueueOnly && r.Queue.Selector.Has(mainlog.SelDelayDelivery) {
		// Said only of a message that would otherwise have been
		// delivered at once (not with -odq or queue_only; observed),
		// under log_selector delay_delivery (spec chapter "Log files").
		delay = append(delay, "no immediate delivery: "+env.QueueReason)
	}
	return lines, delay
}

// ACLVarsOf returns the ACL variables (acl_c..., acl_m...) among vars as
// the -H file saves them: connection variables first, each kind in
// name order (spec chapter "Format of spool files", -aclc and -aclm).
func ACLVarsOf(vars map[string]string) []spool.ACLVar {
	var out []spool.ACLVar
	for _, kind := range []byte{'c', 'm'} {
		prefix := "acl_" + string(kind)
		var names []string
		for k := range vars {
			if strings.HasPrefix(k, prefix) && len(k) > len(prefix) {
				names = append(names, k)
			}
		}
		sort.Strings(names)
		for _, k := range names {
			out = append(out, spool.ACLVar{Kind: kind, Name: k[len(prefix):], Value: vars[k]})
		}
	}
	return out
}
