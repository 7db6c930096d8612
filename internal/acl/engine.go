package acl

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/debug"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/lists"
	"github.com/exigo-mta/exigo/internal/mainlog"
)

// maxDepth is how deeply "acl =" conditions may nest (Exim specification
// chapter "Access control lists", condition acl: "up to 20 deep").
const maxDepth = 20

// Engine runs the ACLs of one configuration. It is safe for concurrent
// use by several sessions.
type Engine struct {
	cfg *config.Config
	// Context returns the expansion context for a session (variables,
	// lookups, lists); set by the owner. Nil gives a context with the
	// session's variables and message only. The context's Vars must read
	// the session's Vars map (the evaluator writes ACL variables there).
	Context func(s *Session) *expand.Context
	// ListEnv, when set, returns the list matching environment (the
	// instance's, with lookups, resolver and named lists); x expands
	// named lists. When nil, one is built from the configuration,
	// Lookups and Resolver.
	ListEnv func(x func(string) (string, error)) *lists.Env
	// Lookups performs lookups in lists (hosts = net-lsearch;...); nil
	// makes such list items a configuration error.
	Lookups lists.Lookuper
	// Resolver answers DNS questions for host lists; nil means none.
	Resolver lists.HostResolver
	// Ratelimit keeps the ratelimit condition's data; New sets an
	// in-memory store.
	Ratelimit RatelimitStore
	// Now is the clock (nil: time.Now); Sleep imposes delay = (nil:
	// time.Sleep).
	Now   func() time.Time
	Sleep func(time.Duration)

	mu     sync.Mutex
	files  map[string]*config.ACL // ACLs read from files, kept for the process
	nlines int
}

// New returns an Engine for the configuration.
func New(cfg *config.Config) *Engine {
	return &Engine{cfg: cfg, Ratelimit: NewMemoryRatelimitStore(), files: map[string]*config.ACL{}}
}

// rc is the internal outcome of an ACL, a statement or a condition, as in
// Exim: OK, FAIL, DEFER, ERROR, FAIL_DROP and DISCARD.
type rc int

const (
	rcOK rc = iota
	rcFail
	rcDefer
	rcError
	rcFailDrop
	rcDiscard
)

// aclKind says where an ACL came from, which changes the trace lines.
type aclKind int

const (
	namedACL aclKind = iota
	fileACL
	inlineACL
)

// run is one top-level Run: the session, the stage and the expansion
// context.
type run struct {
	e     *Engine
	s     *Session
	stage Stage
	ctx   *expand.Context
	env   *lists.Env
	// logTarget is set by log_reject_target for the rest of the run.
	logTarget    []mainlog.Which
	logTargetSet bool
	// senderVerify is the last sender verification that did not succeed.
	senderVerify *SenderVerifyFailure
}

// outcome is the result of running one ACL.
type outcome struct {
	rc        rc
	user, log string // expanded message and log_message
	err       string // error text for rcError (and the reason of a defer)
}

// Run runs the ACL named by the stage's option (after expansion, as Exim
// does: the option may be an ACL name, a file name, or inline text) for
// the session. An unset option gives Exim's default for the stage (accept
// everywhere except RCPT, VRFY, EXPN, ETRN and PRDR, which deny).
// Exim specification chapter "Access control lists", sections "Finding an
// ACL to use", "ACL return codes" and "Unset ACL options".
func (e *Engine) Run(stage Stage, s *Session) Result {
	raw := e.cfg.Main.String(stage.OptionName())
	if raw == "" {
		res := defaultResult(stage)
		if res.Verdict == Deny && s.Trace != nil {
			fmt.Fprintf(s.Trace, ">>> ACL is NULL: implicit DENY\n")
		}
		return res
	}
	return e.RunACL(stage, s, raw)
}

// RunACL runs the ACL given by text (an option value, unexpanded: a name,
// a file name or inline ACL text) at the stage.
func (e *Engine) RunACL(stage Stage, s *Session, text string) Result {
	if s.Vars == nil {
		s.Vars = expand.VarMap{}
	}
	r := &run{e: e, s: s, stage: stage}
	r.ctx = r.context()
	if s.Trace != nil {
		// Lists matched inside expansions are part of the commentary.
		if lm, ok := r.ctx.Lists.(interface {
			WithDebug(*debug.Logger) expand.ListMatcher
		}); ok {
			ctx := *r.ctx
			ctx.Lists = lm.WithDebug(debug.New(debug.Lists, lists.ExpansionCommentary(s.Trace)))
			r.ctx = &ctx
		}
	}
	r.env = r.listEnv()
	if s.HostListCache != nil {
		r.env.HostCache = s.HostListCache
	}
	saved := s.ListCache
	s.ListCache = r.env.Cache
	defer func() { s.ListCache = saved }()
	name, err := r.expand(text)
	if err != nil {
		if expand.IsForced(err) {
			return defaultResult(stage)
		}
		msg := fmt.Sprintf("failed to expand ACL string \"%s\": %s", text, err)
		return Result{Verdict: Error, LogMessage: msg, Err: errors.New(msg)}
	}
	out := r.runNamed(name, 0)
	return r.result(out)
}

// result turns an outcome into the Result for the caller.
func (r *run) result(o outcome) Result {
	res := Result{UserMessage: o.user, LogMessage: o.log, RejectLogs: r.logTarget, RejectLogsSet: r.logTargetSet, SenderVerify: r.senderVerify}
	switch o.rc {
	case rcOK:
		res.Verdict = Accept
	case rcFail:
		res.Verdict = Deny
	case rcDefer:
		res.Verdict = Defer
	case rcFailDrop:
		res.Verdict = Drop
	case rcDiscard:
		res.Verdict = Discard
	default:
		res.Verdict = Error
		res.LogMessage = o.err
		res.Err = errors.New(o.err)
	}
	return res
}

// defaultResult is the verdict for a stage whose ACL option is unset.
func defaultResult(stage Stage) Result {
	switch stage {
	case RCPT, PRDR, VRFY, EXPN, ETRN:
		return Result{Verdict: Deny}
	}
	return Result{Verdict: Accept}
}

// context returns the expansion context for the run.
func (r *run) context() *expand.Context {
	if r.e.Context != nil {
		if c := r.e.Context(r.s); c != nil {
			return c
		}
	}
	return &expand.Context{Vars: r.s.Vars, Message: r.s.Message}
}

// expand expands an ACL argument.
func (r *run) expand(s string) (string, error) {
	if !strings.ContainsAny(s, "$\\") {
		return s, nil
	}
	return expand.String(s, r.ctx)
}

// listEnv builds the list matching environment from the configuration.
func (r *run) listEnv() *lists.Env {
	x := func(s string) (string, error) {
		v, err := expand.String(s, r.ctx)
		if expand.IsForced(err) {
			return "", fmt.Errorf("%w", lists.ErrForcedFail)
		}
		return v, err
	}
	if r.e.ListEnv != nil {
		if env := r.e.ListEnv(x); env != nil {
			return env
		}
	}
	cfg := r.e.cfg
	env := &lists.Env{
		Lookups:         r.e.Lookups,
		Resolver:        r.e.Resolver,
		NamedList:       cfg.ListNamed,
		Expand:          x,
		PrimaryHostname: cfg.Main.String("primary_hostname"),
	}
	if v, ok := r.s.Vars["primary_hostname"]; ok && v != "" {
		env.PrimaryHostname = v
	}
	return env
}

// runNamed finds the ACL for an expanded option or acl = value and runs
// it: a name starting with "/" is a file of ACL text, a name without
// white space is a named ACL, anything else (or an unknown name) is
// inline ACL text. Specification section "Finding an ACL to use".
func (r *run) runNamed(name string, depth int) outcome {
	if depth > maxDepth {
		return outcome{rc: rcError, err: "ACL nested too deep: possible loop"}
	}
	switch {
	case strings.HasPrefix(name, "/"):
		a, err := r.e.readFile(name, r.tracer(depth))
		if err != nil {
			return outcome{rc: rcError, err: err.Error()}
		}
		return r.runACL(a, name, fileACL, depth)
	case !strings.ContainsAny(name, " \t\n"):
		if a := r.e.cfg.ACL(name); a != nil {
			r.trace(depth, "using ACL \"%s\"", name)
			return r.runACL(a, name, namedACL, depth)
		}
	}
	a, err := parseACLText(name, "inline")
	if err != nil {
		return outcome{rc: rcError, err: err.Error()}
	}
	return r.runACL(a, name, inlineACL, depth)
}

// configLines returns the number of lines of the main configuration
// file (Exim's line counter after reading it).
func (e *Engine) configLines() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.nlines == 0 {
		data, _ := os.ReadFile(e.cfg.Path)
		e.nlines = strings.Count(string(data), "\n")
	}
	return e.nlines
}

// readFile reads (once per Engine) an ACL from a file.
func (e *Engine) readFile(path string, tr func(format string, args ...any)) (*config.ACL, error) {
	e.mu.Lock()
	a, ok := e.files[path]
	e.mu.Unlock()
	if ok {
		return a, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		t := err.Error()
		if t != "" {
			t = strings.ToUpper(t[:1]) + t[1:]
		}
		return nil, fmt.Errorf("failed to open ACL file \"%s\": %s", path, t)
	}
	tr("read ACL from file %s", path)
	a, err = parseACLText(string(data), path)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	if e.files == nil {
		e.files = map[string]*config.ACL{}
	}
	e.files[path] = a
	e.mu.Unlock()
	return a, nil
}

// parseACLText parses ACL statements from a file or an inline option
// value with the configuration reader (continuation lines, comments).
func parseACLText(text, file string) (*config.ACL, error) {
	const name = "exigo_anonymous_acl"
	c, err := config.LoadBytes(file, []byte("begin acl\n"+name+":\n"+text+"\n"), config.Options{})
	if err != nil {
		var ce *config.Error
		if errors.As(err, &ce) {
			return nil, errors.New(strings.TrimPrefix(ce.Msg, "error in ACL: "))
		}
		return nil, err
	}
	a := c.ACL(name)
	if a == nil {
		return nil, errors.New("empty ACL")
	}
	return a, nil
}

// endName is how "end of ACL" lines name an ACL.
func endName(name string, kind aclKind) string {
	if kind == inlineACL {
		return "end of inline ACL"
	}
	return fmt.Sprintf("end of ACL \"%s\"", name)
}

// runACL runs the statements of one ACL. Specification section "ACL
// verbs".
func (r *run) runACL(a *config.ACL, name string, kind aclKind, depth int) outcome {
	where := fmt.Sprintf("ACL \"%s\"", name)
	if kind == inlineACL {
		where = "inline ACL"
	}
	var lastUser, lastLog string
	for _, st := range a.Statements {
		file, line := st.File, st.Line
		if kind != namedACL {
			// Exim shows the configuration file and its last line for
			// statements read from elsewhere.
			file, line = r.e.cfg.Path, r.e.configLines()
		}
		r.trace(depth, "processing \"%s\" (%s %d)", st.Verb, file, line)
		sr := r.statement(st, depth, kind == inlineACL)
		if sr.rc != rcOK && sr.condUser != "" {
			// A nested ACL's or a verification's message stays for an
			// implicit deny at the end (observed with Exim 4.96).
			lastUser, lastLog = sr.condUser, sr.condLog
		}
		if st.Verb == "warn" && sr.rc == rcOK {
			r.warnMessage(&sr)
		}
		what := [...]string{"succeeded", "failed", "deferred", "error", `yielded "drop"`, `yielded "discard"`}[sr.rc]
		r.trace(depth, "%s: condition test %s in %s", st.Verb, what, where)
		switch sr.rc {
		case rcError:
			return outcome{rc: rcError, err: sr.err}
		case rcDefer:
			if st.Verb == "warn" {
				// Logged with log_selector acl_warn_skipped (on by
				// default; spec chapter "Log files"). A deferred lookup
				// shows its own message (observed with Exim 4.96).
				text := "ACL \"warn\" statement skipped: condition test deferred"
				if msg := sr.deferText(); msg != "" {
					text += ": " + msg
				}
				if r.logSelector().Has(mainlog.SelACLWarnSkipped) {
					r.logWarning(text, false)
				}
				continue
			}
			user, log := r.messages(sr)
			return outcome{rc: rcDefer, user: user, log: log, err: sr.err}
		}
		ok := sr.rc == rcOK
		switch st.Verb {
		case "accept", "discard":
			if sr.rc == rcDiscard || ok {
				v, word := rcOK, "ACCEPT"
				if sr.rc == rcDiscard {
					v = rcDiscard
				}
				if st.Verb == "discard" {
					v, word = rcDiscard, "DISCARD"
				}
				r.trace(depth, "%s: %s", endName(name, kind), word)
				user, log := r.messages(sr)
				if sr.endpass {
					// With endpass, message is the text for a denial
					// (section "ACL verbs", accept).
					user = ""
				}
				return outcome{rc: v, user: user, log: log}
			}
			if sr.endpass {
				r.trace(depth, "%s: endpass encountered - denying access", st.Verb)
				user, log := r.messages(sr)
				v := rcFail
				if sr.rc == rcFailDrop {
					v = rcFailDrop
				}
				return outcome{rc: v, user: user, log: log}
			}
		case "defer":
			if ok {
				r.trace(depth, "%s: DEFER", endName(name, kind))
				user, log := r.messages(sr)
				return outcome{rc: rcDefer, user: user, log: log}
			}
		case "deny":
			if ok {
				r.trace(depth, "%s: DENY", endName(name, kind))
				user, log := r.messages(sr)
				return outcome{rc: rcFail, user: user, log: log}
			}
		case "drop":
			if ok {
				r.trace(depth, "%s: DROP", endName(name, kind))
				user, log := r.messages(sr)
				return outcome{rc: rcFailDrop, user: user, log: log}
			}
		case "require":
			if !ok {
				r.trace(depth, "%s: not OK", endName(name, kind))
				user, log := r.messages(sr)
				v := rcFail
				if sr.rc == rcFailDrop {
					v = rcFailDrop
				}
				return outcome{rc: v, user: user, log: log}
			}
		case "warn":
			if ok {
				r.warnDone(sr)
			}
		}
	}
	r.trace(depth, "%s: implicit DENY", endName(name, kind))
	return outcome{rc: rcFail, user: lastUser, log: lastLog}
}

// messages expands the statement's message and log_message when the ACL
// ends with it: $acl_verify_message holds the message a condition gave,
// and an expansion that fails or is empty is ignored (the condition's
// own message stays). Specification section "ACL modifiers", message.
func (r *run) messages(sr stmtResult) (user, log string) {
	user, log = sr.condUser, sr.condLog
	if sr.message != nil || sr.logMessage != nil {
		r.s.Vars["acl_verify_message"] = sr.condUser
	}
	if sr.message != nil {
		if v, err := r.expand(*sr.message); err == nil && v != "" {
			user = v
		}
	}
	if sr.logMessage != nil {
		if v, err := r.expand(*sr.logMessage); err == nil && v != "" {
			log = v
			if sr.verifyLog && sr.condLog != "" {
				// observed with Exim 4.96: "log_message: reason"
				log = v + ": " + sr.condLog
			}
		}
	}
	delete(r.s.Vars, "acl_verify_message")
	return user, log
}

// warnDone does what a warn statement whose conditions are all true
// does: log its log_message (once per message) and, for compatibility,
// add its message as a header line. Specification section "ACL verbs",
// warn.
func (r *run) warnDone(sr stmtResult) {
	msg := sr.warnMsg
	if sr.logMessage != nil {
		if v, err := r.expand(*sr.logMessage); err == nil && v != "" {
			r.logWarning(v, true)
		}
	}
	if sr.message != nil {
		if v := msg; v != "" {
			if r.stage.receivesMessage() {
				r.addHeaders(v)
			} else {
				// observed with Exim 4.96
				r.log(fmt.Sprintf("ACL \"warn\" with \"message\" setting found in a non-message (%s) ACL: cannot specify header lines here: message ignored", r.stage.stageName()), mainlog.Main)
			}
		}
	}
}

// warnMessage expands the message of a warn statement whose conditions
// are true, as Exim does before it reports the statement's outcome: a
// failure is logged (observed with Exim 4.96).
func (r *run) warnMessage(sr *stmtResult) {
	if sr.message == nil {
		return
	}
	v, err := r.expand(*sr.message)
	if err != nil {
		if !expand.IsForced(err) {
			r.log(fmt.Sprintf("failed to expand ACL message \"%s\": %s", *sr.message, err), mainlog.Main)
		}
		return
	}
	sr.warnMsg = v
}

// logWarning writes "Warning: text" with the host prefix to the main
// log; once per message when once is set.
func (r *run) logWarning(text string, once bool) {
	if once {
		if r.s.warned[text] {
			return
		}
		if r.s.warned == nil {
			r.s.warned = map[string]bool{}
		}
		r.s.warned[text] = true
	}
	prefix := ""
	if r.s.LogPrefix != nil {
		prefix = r.s.LogPrefix()
	}
	r.log(prefix+"Warning: "+text, mainlog.Main)
}

// logSelector is the log_selector of the configuration (the default
// when it does not parse).
func (r *run) logSelector() mainlog.Selector {
	var text string
	if r.e.cfg != nil {
		text = r.e.cfg.Main.String("log_selector")
	}
	sel, err := mainlog.ParseSelector(text)
	if err != nil {
		sel, _ = mainlog.ParseSelector("")
	}
	return sel
}

// log writes a line to the logs; once a message has an id, Exim puts it
// in front (the SMTP server keeps $message_exim_id set until the next
// MAIL, as Exim does).
func (r *run) log(text string, to ...mainlog.Which) {
	if id := r.s.Vars["message_exim_id"]; id != "" {
		text = id + " " + text
	}
	if r.s.LogWrite != nil {
		r.s.LogWrite(text, to...)
		return
	}
	if r.s.Log != nil {
		_ = r.s.Log.Write(text, to...)
	}
}
