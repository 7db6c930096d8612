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
	"fmt"
	"io"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/debug"
	"github.com/exigo-mta/exigo/internal/expand"
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
	UserMessage string
	// LogMessage is the text for the log (log_message =), empty when none.
	LogMessage string
	// Err explains an Error verdict (for the log).
	Err error
}

// Controls are the settings made by "control =" modifiers.
type Controls struct {
	Freeze, Queue, NoMultilineResponses, Submission      bool
	SuppressLocalFixups, NoEnforceSync, EnforceSync      bool
	CutthroughDelivery, DKIMDisableVerify, NoMboxUnspool bool
	// SubmissionDomain and SubmissionName are the options of
	// control = submission/domain=.../name=...
	SubmissionDomain, SubmissionName string
	// QueueName is queue/name= (alternate queues).
	QueueName string
}

// Verifier performs the verify = ... conditions that need routing, DNS or
// TLS state; the session's owner supplies it.
type Verifier interface {
	// VerifyRecipient routes the current recipient (verify = recipient).
	VerifyRecipient(s *Session, options string) (ok bool, message string, err error)
	// VerifySender routes the sender (verify = sender).
	VerifySender(s *Session, options string) (ok bool, message string, err error)
	// VerifyHELO checks the HELO name against the client's address.
	VerifyHELO(s *Session) (bool, error)
	// VerifyReverseHostLookup checks the client's host name.
	VerifyReverseHostLookup(s *Session) (bool, error)
}

// Session is the ACL's view of an SMTP session (or local submission) and
// the message in flight.
type Session struct {
	// Vars holds the values of expansion variables: connection data
	// (sender_host_address ...), the envelope so far (sender_address,
	// local_part, domain ...), and the ACL variables acl_c* and acl_m*,
	// which "set" modifiers write.
	Vars expand.VarMap
	// Message is the message in flight once DATA has been received.
	Message expand.Message
	// AddedHeaders are headers queued by add_header (each "Name: value",
	// without the final newline), applied when the message is received.
	AddedHeaders []string
	// RemovedHeaders are the names queued by remove_header.
	RemovedHeaders []string
	Controls       Controls
	// Verifier does verify = conditions; nil means they fail with an
	// error.
	Verifier Verifier
	// Trace receives -bh style ">>> " commentary; nil for none.
	Trace io.Writer
	// Log is where logwrite and rejections go; nil for none.
	Log *mainlog.Logger
	// Debug receives -d+acl lines.
	Debug *debug.Logger
}

// Engine runs the ACLs of one configuration.
type Engine struct {
	cfg *config.Config
	// Context returns the expansion context for a session (variables,
	// lookups, lists); set by the owner.
	Context func(s *Session) *expand.Context
}

// New returns an Engine for the configuration.
func New(cfg *config.Config) *Engine {
	return &Engine{cfg: cfg}
}

// Run runs the ACL named by the stage's option (after expansion, as Exim
// does: the option may be an ACL name, a file name, or inline text) for
// the session. An unset option gives Exim's default for the stage (accept
// everywhere except RCPT, which denies, and so on).
func (e *Engine) Run(stage Stage, s *Session) Result {
	name := e.cfg.Main.String(stage.OptionName())
	if name == "" {
		return defaultResult(stage)
	}
	a := e.cfg.ACL(name)
	if a == nil {
		return Result{Verdict: Error, Err: fmt.Errorf("ACL %q not found", name)}
	}
	for _, st := range a.Statements {
		if len(st.Conditions) > 0 {
			return Result{Verdict: Error, Err: fmt.Errorf("ACL conditions are not implemented yet")}
		}
		switch st.Verb {
		case "accept":
			return Result{Verdict: Accept}
		case "deny":
			return Result{Verdict: Deny}
		case "defer":
			return Result{Verdict: Defer}
		case "discard":
			return Result{Verdict: Discard}
		case "drop":
			return Result{Verdict: Drop}
		}
	}
	return Result{Verdict: Deny}
}

// defaultResult is the verdict for a stage whose ACL option is unset.
func defaultResult(stage Stage) Result {
	switch stage {
	case RCPT, PRDR:
		return Result{Verdict: Deny}
	}
	return Result{Verdict: Accept}
}
