// Package smtpserver is exigo's inbound SMTP session: the state machine
// that reads commands, runs the ACL of each stage, and hands received
// messages to a Receiver. The same code serves the daemon (-bd), -bs
// (SMTP on stdin/stdout) and -bh (a fake session with ">>> " commentary).
//
// One file per concern: conn.go (the session loop, replies, logging),
// commands.go (dispatch and the simple commands), ehlo.go (HELO/EHLO),
// mail.go (MAIL and RCPT), data.go (DATA and BDAT), acls.go (turning ACL
// results into replies), hosts.go (host list options), limits.go (error
// counters and limits).
//
// Exim specification: chapter "SMTP processing" and, for the ACL stages,
// chapter "Access control lists".
package smtpserver

import (
	"context"
	"io"
	"net/netip"
	"time"

	"github.com/exigo-mta/exigo/internal/acl"
	"github.com/exigo-mta/exigo/internal/auth"
	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/cutthrough"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/instance"
	"github.com/exigo-mta/exigo/internal/loadavg"
	"github.com/exigo-mta/exigo/internal/mainlog"
	"github.com/exigo-mta/exigo/internal/message"
	"github.com/exigo-mta/exigo/internal/rewrite"
	"github.com/exigo-mta/exigo/internal/tlsserver"
)

// Envelope is the envelope of a received message.
type Envelope struct {
	// ID is the message id the session gave the message.
	ID string
	// Sender is the MAIL FROM address ("" for the null sender).
	Sender string
	// Recipients are the accepted RCPT TO addresses, in order.
	Recipients []string
	// RewriteMarks are the deleted lines recording envelope addresses
	// the rewrite rules changed (receive.RewriteEnvelope), for the
	// Receiver to store with the fix-ups.
	RewriteMarks message.Headers
	// SenderAsGiven is the MAIL address when a sender verification
	// rewrote it ("" otherwise): the fix-ups build From: from it.
	SenderAsGiven string
	// HeloName, HostAddress, HostPort, Protocol describe the client and
	// how the message came ("esmtp", "smtp", "local-esmtp" ...).
	HeloName    string
	HostAddress string
	HostPort    int
	Protocol    string
	// BodyType is BODY= of MAIL ("7BIT", "8BITMIME" or "").
	BodyType string
	// SMTPUTF8 is true when MAIL had the SMTPUTF8 parameter.
	SMTPUTF8 bool
	// Size is the message size as Exim logs it (S=).
	Size int64
	// AddedHeaders is nil except in batched SMTP: the headers given to
	// Receive already have what the ACLs' add_header and remove_header
	// asked for (removed lines stay, marked deleted with type '*'). In
	// a batch it holds the lines the non-SMTP ACLs added, which go
	// after the local fix-ups.
	AddedHeaders []string
	// Freeze, Queue and QueueName are what the ACLs asked for with
	// control = freeze, control = queue (or queue_only) and queue =.
	Freeze, Queue bool
	QueueName     string
	// QueueReason, when set, keeps the message from immediate delivery
	// for a reason of the session's own, logged after "no immediate
	// delivery: " (smtp_accept_queue_per_connection).
	QueueReason string
	// Controls are the ACL controls in force for the message (control =
	// submission and its options, suppress_local_fixups ...), for the
	// Receiver's fix-ups.
	Controls acl.Controls
	// PRDR is set when the message was received with PRDR (the "<="
	// line shows it after P=).
	PRDR bool
	// Pipelining is the "<=" line's field under log_selector
	// +pipelining: "L" when PIPELINING was advertised, with "." when
	// PIPECONNECT was advertised too and "-" when the client did not
	// pipeline; "" when PIPELINING was not advertised.
	Pipelining string
	// Received is the Received: header exigo adds, "Received: ...\n".
	Received string
	// DKIM is the value of the DKIM= field of the "<=" line: the
	// domain of the last signature that passed ("" for no field).
	DKIM string
	// Vars are the session's expansion variables when the message was
	// accepted ($authenticated_id, $tls_in_cipher, $received_ip_address
	// ...), for the receiver's log line and spool file. Read only.
	Vars expand.VarMap
	// TLS is the session's TLS state when the message came over TLS (nil
	// otherwise): the certificates and version for the -H file's
	// -tls_ourcert, -tls_peercert and -tls_ver lines. Read only.
	TLS *tlsserver.State
	// AuthPublicName is the public name of the authenticator the client
	// used (-host_auth_pubname), "" when it did not authenticate.
	AuthPublicName string
}

// IDSource is implemented by Receivers that hand out the message ids (the
// spool's generator, unique at any rate); the session otherwise makes
// its own from the time and process id.
type IDSource interface {
	NewID() string
}

// ArrivalLogger is implemented by Receivers that write the "<=" log line
// themselves; the session then writes it only for discarded messages.
type ArrivalLogger interface {
	LogsArrival() bool
}

// Receiver takes a message the session has accepted. It must make the
// message durable before it returns (the session answers 250 only after
// Receive returns nil; an error answers 451). It returns the message id.
type Receiver interface {
	//
	// A Receiver that changes the header block (fix-ups) sets env.Size to
	// the size of the message it stored; the session logs that size.
	Receive(ctx context.Context, env *Envelope, headers message.Headers, body []byte) (id string, err error)
}

// Logger writes log lines (without time stamp) to Exim's logs. It is
// implemented by *mainlog.Logger; -bh prints "LOG: " lines instead.
type Logger interface {
	Write(text string, to ...mainlog.Which) error
}

// HeaderRejectLogger is implemented by Loggers (*mainlog.Logger) that can
// write a rejection with the message's envelope and header lines after
// it in the reject log, as Exim does for rejections after DATA.
type HeaderRejectLogger interface {
	RejectWithHeaders(text string, extra []string) error
}

// Peer describes the two ends of a connection.
type Peer struct {
	// Addr and Port are the client's; the zero Addr means a local
	// session (-bs).
	Addr netip.Addr
	Port int
	// LocalAddr and LocalPort are the interface the client connected to.
	LocalAddr netip.Addr
	LocalPort int
	// ConnectionCount is the daemon's count of TCP/IP connections,
	// this one included, for the smtp_connection log line; 0 for none.
	ConnectionCount int
	// TLSOnConnect starts TLS before the banner (tls_on_connect_ports);
	// it needs Server.TLS and a net.Conn.
	TLSOnConnect bool
}

// Server holds what every session of one configuration shares.
type Server struct {
	// Config is the configuration; Main options smtp_* drive the session.
	Config *config.Config
	// ACL runs the acl_smtp_* ACLs.
	ACL *acl.Engine
	// Receiver takes accepted messages.
	Receiver Receiver
	// Rewrite is the rewrite section's rules (nil: none), applied to the
	// envelope and header lines once a message's header lines are in.
	Rewrite *rewrite.Rules
	// Log receives log lines; nil discards them.
	Log Logger
	// Trace receives -bh ">>> " commentary (and is handed to the ACL
	// engine); nil for none.
	Trace io.Writer
	// HostChecking is -bh: fake message ids are announced in the reply
	// stream, and log lines carry the id of the last message.
	HostChecking bool
	// Vars are the process variables (primary_hostname, version_number
	// ...), copied into each session.
	Vars expand.VarMap
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Local marks -bs sessions (protocols local-smtp, local-esmtp).
	Local bool
	// ConnectionName, when set, names the client on the smtp_connection
	// log lines instead of its host (-bs: the calling user).
	ConnectionName string
	// Batched is -bS: batched SMTP input, answered only with a
	// *BatchError from Serve at the first error (see batch.go).
	Batched bool
	// BatchProtocol is, for -bS, the received protocol a trusted caller
	// set with -oMr ("" for local-bsmtp). Spec chapter "The Exim
	// command line", -oMr: it applies to -bS, not to -bs or -bh.
	BatchProtocol string
	// PreAuthenticated, when set, is the authenticator name the session
	// counts as authenticated with from its start, its id being
	// Vars["authenticated_id"]: a trusted caller's -oMaa with -bs and
	// -oMa (spec chapter "The Exim command line", -oMaa). The protocol
	// then ends in "a" after EHLO, the "<=" line shows A=.
	PreAuthenticated string
	// Instance supplies lookups, named lists and list matching for
	// expansions; nil gives expansions without them.
	Instance *instance.Instance
	// Verifier does the ACLs' verify = recipient / sender (routing); nil
	// makes them fail as not available.
	Verifier acl.Verifier
	// TLS negotiates STARTTLS; nil answers STARTTLS with 454.
	TLS *tlsserver.Config
	// Authenticators are the server sides of the configured
	// authenticators, in configuration order (auth.NewServers).
	Authenticators []*auth.Server
	// NewChecker returns the checker of one session for the ACL
	// conditions that need outside services (dnslists, spf, malware);
	// nil leaves them unavailable. A checker with a SetMessage([]byte)
	// method is given the message before the DATA ACL runs.
	NewChecker func() acl.Checker
	// Load reads the load average for smtp_load_reserve and
	// queue_only_load; nil reads the system's (loadavg.Read).
	Load loadavg.Reader
	// Cutthrough makes the connections of control =
	// cutthrough_delivery; nil (or a nil Route) leaves that control
	// without effect.
	Cutthrough *cutthrough.Manager
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}
