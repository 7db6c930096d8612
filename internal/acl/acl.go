// Package acl evaluates Exim's access control lists: the verbs (accept,
// defer, deny, discard, drop, require, warn), their conditions and
// modifiers, for every SMTP stage (acl_smtp_*) and for non-SMTP messages
// (acl_not_smtp).
//
// The SMTP server (and -bh, -bs, the sendmail interface) owns a Session
// and asks the Engine to run the ACL configured for each stage; the Engine
// reads and writes the session's variables, queues added headers, sets
// controls and returns a Result that says what to answer.
//
// Exim specification: chapter "Access control lists".
package acl

import (
	"io"

	"github.com/exigo-mta/exigo/internal/cutthrough"
	"github.com/exigo-mta/exigo/internal/debug"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/lists"
	"github.com/exigo-mta/exigo/internal/mainlog"
)

// Stage is the point in an SMTP session (or local submission) at which an
// ACL runs.
type Stage int

// The ACL stages, one per acl_smtp_* option and acl_not_smtp.
const (
	Connect Stage = iota
	HELO
	MAIL
	RCPT
	Predata
	Data
	MIME
	DKIM
	PRDR
	Auth
	StartTLS
	VRFY
	EXPN
	ETRN
	Quit
	NotQuit
	NotSMTP
	NotSMTPMIME
	NotSMTPStart
	WellKnown
)

// OptionName returns the main configuration option that names the ACL for
// the stage, e.g. "acl_smtp_rcpt".
func (s Stage) OptionName() string {
	return [...]string{
		"acl_smtp_connect", "acl_smtp_helo", "acl_smtp_mail", "acl_smtp_rcpt",
		"acl_smtp_predata", "acl_smtp_data", "acl_smtp_mime", "acl_smtp_dkim",
		"acl_smtp_data_prdr", "acl_smtp_auth", "acl_smtp_starttls",
		"acl_smtp_vrfy", "acl_smtp_expn", "acl_smtp_etrn", "acl_smtp_quit",
		"acl_smtp_notquit", "acl_not_smtp", "acl_not_smtp_mime",
		"acl_not_smtp_start", "acl_smtp_wellknown",
	}[s]
}

// Verdict is the outcome of an ACL.
type Verdict int

// The verdicts. Error means the ACL could not be evaluated (an expansion
// failed, a lookup deferred where that is not allowed...), which SMTP
// answers with a temporary error.
const (
	Accept Verdict = iota
	Defer
	Deny
	Discard
	Drop
	Error
)

func (v Verdict) String() string {
	return [...]string{"ACCEPT", "DEFER", "DENY", "DISCARD", "DROP", "ERROR"}[v]
}

// Result is what running an ACL decided.
type Result struct {
	Verdict Verdict
	// UserMessage is the text for the SMTP client (message =), possibly
	// several lines separated by "\n"; empty means the stage's default.
	// It may start with an SMTP code ("550 5.7.1 text") that the SMTP
	// server checks and uses, as Exim does.
	UserMessage string
	// LogMessage is the text for the log (log_message =), empty when none.
	// For an Error verdict it is Exim's explanation (for instance
	// `failed to expand ACL string "...": ...`), which Exim writes after
	// "temporarily rejected ...: ".
	LogMessage string
	// Err explains an Error verdict (for the log).
	Err error
	// RejectLogs are the logs a rejection is written to, as set by
	// log_reject_target (default main and reject); valid only when
	// RejectLogsSet is true.
	RejectLogs    []mainlog.Which
	RejectLogsSet bool
	// SenderVerify is set when a verify = sender of this run failed or
	// deferred: a rejection then logs "sender verify fail for <A>: M"
	// (or "defer") and a permanent one starts its reply with
	// "Verification failed for <A>" and M (specification chapter
	// "Access control lists", section "Sender verification").
	SenderVerify *SenderVerifyFailure
}

// SenderVerifyFailure is a sender verification that did not succeed.
// Message is the reason for the log ("" for none); Detail, when set,
// replaces it in a permanent rejection's reply (a callout's "Called:",
// "Sent:" and "Response:" lines).
type SenderVerifyFailure struct {
	Address, Message, Detail string
	Deferred                 bool
}

// Controls are the settings made by "control =" modifiers (Exim
// specification chapter "Access control lists", section "Use of the
// control modifier").
type Controls struct {
	Freeze, Queue, NoMultilineResponses, Submission      bool
	SuppressLocalFixups, NoEnforceSync, EnforceSync      bool
	CutthroughDelivery, DKIMDisableVerify, NoMboxUnspool bool
	// SubmissionDomain and SubmissionName are the options of
	// control = submission/domain=.../name=...
	SubmissionDomain, SubmissionName string
	// QueueName is the queue = modifier's value (alternate queues).
	QueueName string
	// FreezeNoTell is control = freeze/no_tell.
	FreezeNoTell bool
	// QueueFirstPass is control = queue/first_pass_route.
	QueueFirstPass bool
	// AllowAuthUnadvertised, NoPipelining, NoDelayFlush,
	// NoCalloutFlush and UTF8Downconvert are the controls of those
	// names.
	AllowAuthUnadvertised, NoPipelining, NoDelayFlush bool
	NoCalloutFlush, UTF8Downconvert                   bool
	// CutthroughDeferPass is cutthrough_delivery/defer=pass.
	CutthroughDeferPass bool
	// FakeReject and FakeDefer are set by control = fakereject and
	// fakedefer; FakeText is their message (Exim's default when none).
	FakeReject, FakeDefer bool
	FakeText              string
	// DSCP is the value of control = dscp/VALUE.
	DSCP string
	// Debug holds the options of control = debug/... ("" when unset).
	Debug string
}

// senderResult is a cached sender verification: whether it succeeded
// and the router's message.
type senderResult struct {
	ok  bool
	msg string
}

// maxSenderCache bounds the sender verification cache of a session.
const maxSenderCache = 100

// VerifyDefer is the error a Verifier returns when an address could not
// be verified for now (the router deferred): Log is the reason for the
// log line, User the text for the client ("" for Exim's default, as when
// the reason is a local problem rather than a :defer: message).
//
// Short, when set, is what a sender verification that defers logs and
// answers instead of Exim's "Could not complete sender verify" (a
// callout's "Could not complete sender verify callout").
type VerifyDefer struct{ Log, User, Short string }

// VerifyFailure is the error a Verifier returns with ok false when the
// failure has more to say than one message (a callout's): User is the
// client's text (and $acl_verify_message), Log the log reason, Detail
// the reply lines of a sender verification, Failure the value of
// $recipient_verify_failure or $sender_verify_failure. It is not a
// deferral.
type VerifyFailure struct{ User, Log, Detail, Failure string }

// Error returns the log reason.
func (e *VerifyFailure) Error() string { return e.Log }

// VerifyError is the error a Verifier returns when the verification
// could not be tried as asked (a bad or misplaced callout option): the
// condition is in error, with Text in the log.
type VerifyError struct{ Text string }

// Error returns the text.
func (e *VerifyError) Error() string { return e.Text }

// Error returns the log reason.
func (e *VerifyDefer) Error() string { return e.Log }

// Verifier performs the verify = ... conditions that need routing, DNS or
// TLS state; the session's owner supplies it.
type Verifier interface {
	// VerifyRecipient routes the current recipient (verify = recipient).
	// A failure returns the router's message ("Unrouteable address" when
	// it gave none); a deferral returns a *VerifyDefer.
	VerifyRecipient(s *Session, options string) (ok bool, message string, err error)
	// VerifySender routes the sender (verify = sender).
	VerifySender(s *Session, options string) (ok bool, message string, err error)
	// VerifyHELO checks the HELO name against the client's address.
	VerifyHELO(s *Session) (bool, error)
	// VerifyReverseHostLookup checks the client's host name.
	VerifyReverseHostLookup(s *Session) (bool, error)
}

// Checker performs the conditions that need an outside service:
// dnslists, malware, spam, spf, spf_guess, dkim_signers, dkim_status,
// regex, mime_regex, decode, seen and verify = csa. cond is the
// condition's name ("verify" for csa) and arg its expanded value. ok is
// the condition's result before any negation; message, when not empty,
// becomes the statement's message (as $acl_verify_message); a non-nil
// error makes the condition defer with the error's text.
type Checker interface {
	Check(s *Session, cond, arg string) (ok bool, message string, err error)
}

// Session is the ACL's view of an SMTP session (or local submission) and
// the message in flight.
type Session struct {
	// Vars holds the values of expansion variables: connection data
	// (sender_host_address ...), the envelope so far (sender_address,
	// local_part, domain ...), and the ACL variables acl_c* and acl_m*,
	// which "set" modifiers write. The evaluator also writes the
	// variables that conditions set ($domain_data, $local_part_data,
	// $host_data, $sender_data, $recipient_data, $acl_verify_message,
	// $acl_arg1..9, $acl_narg, $sender_rate, $sender_rate_limit,
	// $sender_rate_period).
	Vars expand.VarMap
	// Message is the message in flight once DATA has been received.
	Message expand.Message
	// AddedHeaders are headers queued by add_header (each "Name: value",
	// without the final newline), applied when the message is received.
	// A header that must go elsewhere than at the end keeps Exim's
	// position prefix: ":at_start:", ":after_received:" or
	// ":at_start_rfc:". Identical lines are queued once.
	AddedHeaders []string
	// RemovedHeaders are the names queued by remove_header.
	RemovedHeaders []string
	Controls       Controls
	// Verifier does verify = conditions; nil means they fail with an
	// error.
	Verifier Verifier
	// Checker does the conditions that need outside services; nil makes
	// them fail with an error.
	Checker Checker
	// Trace receives -bh style ">>> " commentary; nil for none.
	Trace io.Writer
	// ListCache is set by the engine while an ACL runs: the named list
	// results of that run, which an address verification shares (Exim
	// keeps them per recipient; specification chapter "Domain, host,
	// address, and local part lists", section "Named list caching").
	ListCache *lists.Cache
	// HostListCache, when set, keeps the named host list results for
	// the whole session (lists.Env.HostCache).
	HostListCache *lists.Cache
	// Log is where logwrite and rejections go; nil for none.
	Log *mainlog.Logger
	// LogWrite, when set, is used instead of Log to write log lines
	// (the SMTP server's -bh mode prints them as "LOG: ..." lines).
	LogWrite func(text string, to ...mainlog.Which)
	// CutthroughCallout, when set, makes a recipient verification's
	// callout with use_sender over the session's cutthrough connection
	// (specification chapter "Access control lists", control =
	// cutthrough_delivery: such a callout connection "is held open and
	// used for any subsequent recipients and the data"). It returns the
	// destination's reply to RCPT, whether it came over a connection
	// that was open already (reused), and ok; ok false means the
	// callout is made as usual. t is where routing sent addr.
	CutthroughCallout func(addr string, t cutthrough.Target) (r cutthrough.Reply, reused, ok bool)
	// LookupHostName, when set, looks up the client's verified host
	// name as host_lookup does ($sender_host_name, $host_lookup_failed,
	// $host_lookup_deferred; once per connection), for verify =
	// reverse_host_lookup, and says why no name was verified ("" when
	// one was, or when DNS failed for now).
	LookupHostName func() (failure string)
	// LogPrefix returns the host part of log lines ("H=(helo) [ip] "),
	// which Exim puts before warn statements' log_message; nil for none.
	LogPrefix func() string
	// HostChecking is true in -bh mode: delays are not imposed.
	HostChecking bool
	// CasefulLocalPart is the local part of the current recipient as
	// the client wrote it, for control = caseful_local_part.
	CasefulLocalPart string
	// Host caches the client's host name for hosts = conditions; nil
	// makes the evaluator create one from $sender_host_address.
	Host *lists.Host
	// Debug receives -d+acl lines.
	Debug *debug.Logger

	warned map[string]bool
	// senderVerified caches sender verification results for the
	// session, by address and options.
	senderVerified map[string]senderResult
	// rateMsg and rateConn cache ratelimit results per message and per
	// connection, as Exim does for per_mail and per_conn.
	rateMsg, rateConn map[string]float64
}

// ResetMessage forgets what is kept per message: the log_message texts
// already written by warn statements (Exim writes each once per
// message).
func (s *Session) ResetMessage() { s.warned, s.rateMsg = nil, nil }

// NotSMTPTexts are the texts of a non-SMTP ACL refusal, as Exim 4.96
// writes them: what the log says (log_message, else the whole message,
// else the error of an ACL error, else "NULL") and what the submitter is
// told (the message, else "local configuration problem", which an
// error always gets).
func (r Result) NotSMTPTexts() (logText, userText string) {
	userText = r.UserMessage
	if userText == "" || r.Verdict == Error {
		userText = "local configuration problem"
	}
	logText = r.LogMessage
	if logText == "" {
		logText = r.UserMessage
	}
	if logText == "" && r.Verdict == Error && r.Err != nil {
		logText = r.Err.Error()
	}
	if logText == "" {
		logText = "NULL"
	}
	return logText, userText
}
