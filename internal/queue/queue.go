package queue

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/exigo-mta/exigo/internal/mainlog"
	"github.com/exigo-mta/exigo/internal/message"
	"github.com/exigo-mta/exigo/internal/spool"
)

// Scheduler starts delivery of messages that have just been stored. The
// future deliver package (through the queue runner) implements it.
//
// Contract: Schedule is called once per stored message, after the message
// is durable and its "<=" line is written, and before the submitter is
// told the message was accepted (for -odi/-odf, Wait says whether the
// caller waits for the attempt). Schedule must not lose the message when
// it cannot deliver at once: the message is in the spool, and a later
// queue run finds it. It is safe for concurrent use.
type Scheduler interface {
	// Schedule starts an immediate delivery attempt of id. With wait set
	// (-odi, -odf) it returns only when the attempt is over; otherwise
	// (the daemon, -odb) it returns at once. msglog is the first line of
	// the message's log, not yet written: the attempt writes it with its
	// own lines when the message log is kept (empty: nothing to add).
	Schedule(ctx context.Context, id spool.ID, wait bool, msglog string)
}

// Logger writes main log lines; *mainlog.Logger implements it.
type Logger interface {
	Write(text string, to ...mainlog.Which) error
}

// DeliveryMode is what happens after a message is stored (option -od,
// spec chapter "The Exim command line").
type DeliveryMode int

// The delivery modes.
const (
	// Background is -odb, and the daemon's default: delivery starts at
	// once, the submitter does not wait.
	Background DeliveryMode = iota
	// Foreground is -odi / -odf: the submitter waits for the attempt.
	Foreground
	// QueueOnly is -odq, or queue_only: the message waits for a queue
	// runner.
	QueueOnly
)

// Queue stores arrivals in the spool and starts their delivery. It is
// safe for concurrent use.
type Queue struct {
	// Spool is the spool messages are written to.
	Spool *spool.Spool
	// IDs hands out message ids.
	IDs *spool.Generator
	// Log receives the "<=" lines; nil writes none.
	Log Logger
	// Selector is the log_selector in force.
	Selector mainlog.Selector
	// Scheduler starts delivery; nil leaves every message queued.
	Scheduler Scheduler
	// Mode is the delivery mode after storing (queue_only sets
	// QueueOnly).
	Mode DeliveryMode
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// NoMessageLogs is message_logs = false: no message log is
	// started on arrival.
	NoMessageLogs bool
}

// NewID returns a fresh message id.
func (q *Queue) NewID() spool.ID { return q.IDs.New() }

func (q *Queue) now() time.Time {
	if q.Now != nil {
		return q.Now()
	}
	return time.Now()
}

// Arrival is a message ready to be stored: envelope, final headers
// (fix-ups done, Received: first) and body.
type Arrival struct {
	// ID is the id from NewID.
	ID spool.ID
	// Sender is the envelope sender, "" for <>.
	Sender string
	// Recipients are the envelope recipients.
	Recipients []string
	// Headers are the header lines with their spool flags; deleted ones
	// have type '*'.
	Headers message.Headers
	// Body is the body with LF line endings.
	Body []byte
	// Size is S= ($message_size); 0 computes it from headers and body.
	Size int64
	// BodyType is the BODY= parameter of MAIL ("7BIT", "8BITMIME" or
	// ""): M8S= with log_selector +8bitmime.
	BodyType string
	// ReceiveTime is how long receiving the message took (RT= with
	// log_selector +receive_time).
	ReceiveTime time.Duration
	// TaintedHost marks the host and interface values as tainted in the
	// -H file: they came from the command line (-bs with -oMa).
	TaintedHost bool
	// DKIM is the DKIM= field: the domain of the last DKIM signature
	// that passed verification ("" for no field).
	DKIM string
	// Received is the arrival time; zero means now.
	Received time.Time

	// Login, UID and GID go on line 2 of the -H file: the caller for a
	// local message, the daemon's user for SMTP.
	Login    string
	UID, GID int
	// Protocol is $received_protocol ("esmtp", "local-smtp", "local" ...).
	Protocol string
	// PRDR is set for a message received with PRDR: the "<=" line says
	// so after P=.
	PRDR bool
	// Pipelining is the L field of log_selector +pipelining (see
	// smtpserver.Envelope).
	Pipelining string
	// Local is a message from a local process: U= is logged, Ident is
	// the caller, unqualified addresses were allowed.
	Local bool
	// Ident is -ident (the login for local messages).
	Ident string
	// NotSMTP is a local message that did not come over SMTP (-bm, -t)
	// and whose sender the caller did not set: its -H file has -local.
	NotSMTP bool
	// Tainted names -H option lines whose values came from outside
	// (the command line, e.g. -oMr gives --received_protocol), without
	// hyphens.
	Tainted []string
	// HeloName, HostAddress, HostPort, HostName describe the SMTP client.
	HeloName, HostAddress, HostName string
	HostPort                        int
	// InterfaceAddress and InterfacePort are the local end (I=).
	InterfaceAddress string
	InterfacePort    int
	// AuthName is the authenticator's driver name, AuthID the
	// $authenticated_id (A=name:id), AuthSender $authenticated_sender;
	// AuthID and AuthSender are written to the -H file even without
	// AuthName (a local message's defaults, or -oMai).
	AuthName, AuthID, AuthSender string
	// AuthPubname is the authenticator's public name
	// (-host_auth_pubname).
	AuthPubname string
	// TLSCipher is $tls_in_cipher (X=); TLSVerified gives CV=yes.
	TLSCipher   string
	TLSVerified bool
	// TLSVer ($tls_in_ver), TLSPeerDN ($tls_in_peerdn), TLSSNI
	// ($tls_in_sni) and TLSResumption ($tls_in_resumption, the bits of
	// -tls_resumption) describe the TLS session; TLSOurCert and
	// TLSPeerCert are the certificates in PEM form ("" for none).
	TLSVer, TLSPeerDN, TLSSNI string
	TLSOurCert, TLSPeerCert   string
	TLSResumption             int
	// TLSOCSP is $tls_in_ocsp (-tls_ocsp when not 0).
	TLSOCSP int
	// MaxLineLength is $max_received_linelength, the longest line as
	// received, when HasMaxLineLength; otherwise the -H file gets an
	// approximation from the stored text.
	MaxLineLength    int
	HasMaxLineLength bool
	// MessageID is the Message-ID: header's value as received, logged as
	// id=; Created says exigo added it (logged only with
	// +msg_id_created).
	MessageID        string
	MessageIDCreated bool
	// SenderSetUntrusted is -sender_set_untrusted (an untrusted -f).
	SenderSetUntrusted bool
	// Frozen freezes the message on arrival (control = freeze).
	Frozen bool
	// SMTPUTF8 is MAIL with SMTPUTF8 (the -smtputf8 flag).
	SMTPUTF8 bool
	// AttemptFrozen starts the delivery attempt of a Frozen arrival
	// all the same (it logs "Message is frozen"): Exim's daemon does,
	// -bs does not (observed with Exim 4.96).
	AttemptFrozen bool
	// BounceFor is, for a bounce or warning message, the id of the
	// message it reports on (R= in the "<=" line).
	BounceFor string
	// LocalError marks a bounce generated locally (-localerror).
	LocalError bool
	// ACLVars are the ACL variables saved with the message (-aclc,
	// -aclm lines).
	ACLVars []spool.ACLVar
	// ControlLines are main log lines that follow the "<=" line, before
	// any delivery starts: what an ACL's freeze and queue controls say.
	// Exim 4.96 writes them to the message log of a message that waits
	// too, after the "Received from" line (observed).
	ControlLines []string
	// DelayLines follow them in the main log only: why a message waits
	// for a queue run when nothing in an ACL said so (queue_only_load).
	DelayLines []string
}

// Store writes the message durably to the spool (returning only once it
// is on disk: the caller may then answer 250), logs its "<=" line and
// hands it to the Scheduler according to Mode. On error nothing of the
// message remains in the spool.
func (q *Queue) Store(ctx context.Context, a *Arrival, mode DeliveryMode) error {
	if a.Received.IsZero() {
		a.Received = q.now()
	}
	if a.Size == 0 {
		a.Size = messageSize(a.Headers, a.Body)
	}
	h := q.header(a)
	if err := q.Spool.Write(h, a.Body); err != nil {
		return fmt.Errorf("storing message: %w", err)
	}
	if q.Log != nil {
		q.Log.Write(ArrivalLine(a, q.Selector), mainlog.Main)
		for _, l := range append(a.ControlLines, a.DelayLines...) {
			q.Log.Write(string(a.ID)+" "+l, mainlog.Main)
		}
	}
	msglog := ""
	if !q.NoMessageLogs {
		// The message log starts with the arrival (observed with
		// Exim 4.96; spec chapter "How Exim organizes the spool").
		// The line is the "<=" line without the sender and
		// recipients that received_sender and received_recipients
		// add.
		sel := q.Selector &^ (mainlog.SelReceivedSender | mainlog.SelReceivedRecipients)
		arrival := strings.TrimPrefix(ArrivalLine(a, sel), string(a.ID)+" <= ")
		msglog = q.now().Format("2006-01-02 15:04:05 ") + "Received from " + arrival
	}
	if q.Mode == QueueOnly {
		mode = QueueOnly
	}
	attempt := q.Scheduler != nil && mode != QueueOnly && (!a.Frozen || a.AttemptFrozen)
	if msglog != "" && (!attempt || a.Frozen) {
		// A message that stays gets its log now. It is an aid: a
		// failure to write it is ignored.
		// What the ACL controls said follows (observed with Exim
		// 4.96: "frozen by ACL", "no immediate delivery: queued by
		// ACL").
		text := msglog + "\n"
		now := q.now().Format("2006-01-02 15:04:05 ")
		for _, l := range a.ControlLines {
			text += now + l + "\n"
		}
		_ = q.Spool.AppendMsglog(a.ID, text)
		msglog = ""
	}
	if attempt {
		// The immediate attempt writes the line if the message log
		// outlives it: a message delivered at once has none to write
		// and remove.
		q.Scheduler.Schedule(ctx, a.ID, mode == Foreground, msglog)
	}
	return nil
}

// messageSize is $message_size: the stored headers, the blank line and
// the body.
func messageSize(hs message.Headers, body []byte) int64 {
	n := int64(len(body)) + 1
	for _, h := range hs {
		if h.Type != '*' {
			n += int64(len(h.Text))
		}
	}
	return n
}

// header builds the -H file of an arrival (spec chapter "Format of spool
// files"), with the option lines Exim 4.96 writes for a new message.
func (q *Queue) header(a *Arrival) *spool.Header {
	h := spool.NewHeader(a.ID)
	h.User, h.UID, h.GID = a.Login, a.UID, a.GID
	h.Sender = a.Sender
	h.Received = a.Received
	h.ReceivedComplete = q.now()
	if a.HeloName != "" {
		h.HeloName = a.HeloName
		h.Tainted["helo_name"] = true
	}
	if a.HostAddress != "" {
		h.HostAddress = "[" + a.HostAddress + "]:" + strconv.Itoa(a.HostPort)
	}
	if a.TaintedHost {
		for _, n := range []string{"host_address", "host_name", "interface_address"} {
			h.Tainted[n] = true
		}
	}
	if a.HostName != "" {
		h.HostName = a.HostName
	}
	if a.InterfaceAddress != "" {
		h.InterfaceAddress = "[" + a.InterfaceAddress + "]:" + strconv.Itoa(a.InterfacePort)
	}
	h.Ident = a.Ident
	h.ReceivedProtocol = a.Protocol
	h.HostAuth = a.AuthName
	if a.AuthName != "" {
		h.HostAuthPubname = a.AuthPubname
	}
	h.AuthID = a.AuthID
	h.AuthSender = a.AuthSender
	for _, name := range a.Tainted {
		h.Tainted[name] = true
	}
	h.BodyLinecount, h.MaxReceivedLinelength = lineCounts(a.Headers, a.Body)
	if a.HasMaxLineLength {
		h.MaxReceivedLinelength = a.MaxLineLength
	}
	if a.Local {
		h.AllowUnqualifiedRecipient = true
		h.AllowUnqualifiedSender = true
	}
	h.SenderSetUntrusted = a.SenderSetUntrusted
	if a.Frozen {
		h.Frozen = a.Received
	}
	h.SMTPUTF8 = a.SMTPUTF8
	h.LocalError = a.LocalError
	h.Local = a.NotSMTP
	h.ACLVars = a.ACLVars
	tlsHeader(h, a)
	for _, r := range a.Recipients {
		h.Recipients = append(h.Recipients, spool.NewRecipient(r))
	}
	h.Headers = a.Headers
	return h
}

// lineCounts returns $body_linecount and the longest line of the stored
// message: an approximation of $max_received_linelength for arrivals
// that do not know it (Arrival.HasMaxLineLength).
func lineCounts(hs message.Headers, body []byte) (int, int) {
	longest := 0
	for i, h := range hs {
		// The first Received: is exigo's own, not received text.
		if h.Type == '*' || i == 0 && h.Type == 'P' {
			continue
		}
		for _, l := range strings.Split(strings.TrimSuffix(h.Text, "\n"), "\n") {
			longest = max(longest, len(l))
		}
	}
	lines, cur := 0, 0
	for _, c := range body {
		if c == '\n' {
			lines++
			longest = max(longest, cur)
			cur = 0
			continue
		}
		cur++
	}
	if cur > 0 {
		lines++
		longest = max(longest, cur)
	}
	return lines, longest
}

// MessageIDOf returns the value of the first Message-ID: header as Exim
// logs it in id=: trimmed, without the angle brackets.
func MessageIDOf(hs message.Headers) string {
	for _, h := range hs {
		if h.Type == '*' || !strings.EqualFold(h.Name, "message-id") {
			continue
		}
		v := strings.TrimSpace(h.Value())
		v = strings.TrimPrefix(v, "<")
		if i := strings.IndexByte(v, '>'); i >= 0 {
			v = v[:i]
		}
		return v
	}
	return ""
}
