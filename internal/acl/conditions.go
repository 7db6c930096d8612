package acl

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/lists"
	"github.com/exigo-mta/exigo/internal/mainlog"
)

// stageSet is a set of stages.
type stageSet uint32

func setOf(stages ...Stage) stageSet {
	var s stageSet
	for _, st := range stages {
		s |= 1 << st
	}
	return s
}

func (s stageSet) has(st Stage) bool { return s&(1<<st) != 0 }

// The stages where conditions about the envelope, the message and the
// connection make no sense; Exim refuses them there with "cannot test X
// condition in Y ACL" (observed with Exim 4.96).
var (
	noMessageStages = setOf(Connect, HELO, EXPN, ETRN, StartTLS, Quit, NotQuit, Auth, WellKnown)
	rcptStages      = setOf(RCPT, PRDR, VRFY)
	bodyStages      = setOf(Data, MIME, DKIM, PRDR, NotSMTP, NotSMTPMIME)
	mimeStages      = setOf(MIME, NotSMTPMIME)
	notSMTPStages   = setOf(NotSMTP, NotSMTPMIME, NotSMTPStart)
)

// allowedIn lists, for conditions and modifiers that are not allowed
// everywhere, the stages where they are.
var allowedIn = map[string]stageSet{
	"domains":        rcptStages,
	"local_parts":    rcptStages,
	"recipients":     rcptStages,
	"senders":        ^noMessageStages,
	"sender_domains": ^noMessageStages,
	"authenticated":  ^(setOf(Connect, HELO) | notSMTPStages),
	"encrypted":      ^(setOf(HELO) | notSMTPStages),
	"hosts":          ^notSMTPStages,
	"spf":            ^(setOf(Connect, HELO, EXPN, ETRN, StartTLS) | notSMTPStages),
	"spf_guess":      ^(setOf(Connect, HELO, EXPN, ETRN, StartTLS) | notSMTPStages),
	"malware":        bodyStages &^ mimeStages, // not in MIME ACLs (observed with Exim 4.96)
	"spam":           bodyStages,
	"regex":          bodyStages,
	"decode":         mimeStages,
	"mime_regex":     mimeStages,
	"dkim_signers":   setOf(DKIM),
	"dkim_status":    setOf(DKIM),
	"add_header":     ^noMessageStages &^ setOf(VRFY),
	"remove_header":  ^noMessageStages &^ setOf(VRFY),
}

// stageName is how Exim names a stage in "... in X ACL" errors.
func (s Stage) stageName() string {
	return [...]string{
		"connection", "EHLO or HELO", "MAIL", "RCPT", "PREDATA", "DATA", "MIME",
		"DKIM", "PRDR", "AUTH", "STARTTLS", "VRFY", "EXPN", "ETRN", "QUIT",
		"NOTQUIT", "non-SMTP", "non-SMTP MIME", "non-SMTP START", "WELLKNOWN",
	}[s]
}

// receivesMessage reports whether the stage is concerned with receiving
// a message (where add_header and warn's message apply).
func (s Stage) receivesMessage() bool {
	return !noMessageStages.has(s) && s != VRFY
}

// forbidden returns Exim's error when the condition or modifier may not
// be used at the run's stage, or "".
func (r *run) forbidden(name string) string {
	set, ok := allowedIn[name]
	if !ok || set.has(r.stage) {
		return ""
	}
	verb := "test"
	if name == "add_header" || name == "remove_header" {
		verb = "use"
	}
	return fmt.Sprintf("cannot %s %s condition in %s ACL", verb, name, r.stage.stageName())
}

// listCondition matches a subject against a list: hosts, domains,
// local_parts, senders, recipients, sender_domains, authenticated and
// encrypted, setting $host_data, $domain_data, $local_part_data,
// $sender_data or $recipient_data from the match. Specification section
// "ACL conditions".
func (r *run) listCondition(name, raw string, depth int, sr *stmtResult) rc {
	// The list is expanded as it is matched: a forced failure means
	// "not in the list", other failures defer (specification chapter
	// "Domain, host, address, and local part lists", section "Expansion
	// of lists").
	list, err := r.expand(raw)
	if err != nil {
		if expand.IsForced(err) {
			r.trace(depth, "expansion of \"%s\" forced failure: assume not in this list", raw)
			return rcFail
		}
		r.log(fmt.Sprintf("failed to expand \"%s\" while checking a list: %s", raw, err), mainlog.Main)
		if text, ok := expand.LookupText(err); ok && expand.IsDefer(err) {
			sr.lookupDefer = text
		}
		return rcDefer
	}
	env := *r.env
	vars := r.s.Vars
	var m lists.Match
	dataVar := ""
	switch name {
	case "hosts":
		h := r.host()
		env.Debug = r.listDebug(depth, h.IP.String())
		m, err = lists.MatchHost(&env, list, h)
		dataVar = "host_data"
	case "domains":
		env.Debug = r.listDebug(depth, "")
		m, err = lists.MatchDomain(&env, list, vars["domain"])
		dataVar = "domain_data"
	case "local_parts":
		env.Debug = r.listDebug(depth, "")
		m, err = lists.MatchLocalPart(&env, list, vars["local_part"], false)
		dataVar = "local_part_data"
	case "senders":
		env.Debug = r.listDebug(depth, "")
		m, err = lists.MatchAddress(&env, list, vars["sender_address"], false)
		dataVar = "sender_data"
	case "recipients":
		env.Debug = r.listDebug(depth, "")
		addr := vars["local_part"] + "@" + vars["domain"]
		if vars["local_part"] == "" && vars["domain"] == "" {
			addr = ""
		}
		m, err = lists.MatchAddress(&env, list, addr, false)
		dataVar = "recipient_data"
	case "sender_domains":
		env.Debug = r.listDebug(depth, "")
		m, err = lists.MatchDomain(&env, list, vars["sender_address_domain"])
	case "authenticated", "encrypted":
		subject := vars["sender_host_authenticated"]
		if name == "encrypted" {
			subject = vars["tls_in_cipher"]
			if subject == "" {
				subject = vars["tls_cipher"]
			}
		}
		if subject == "" {
			return rcFail
		}
		env.Debug = r.listDebug(depth, "")
		m, err = lists.MatchLocalPart(&env, list, subject, true)
	}
	if err != nil {
		var d *lists.DeferError
		if errors.As(err, &d) {
			if d.Log != "" {
				r.log(d.Log, mainlog.Main, mainlog.Panic)
			}
			if d.Msg != "" {
				sr.err = err.Error()
			}
			return rcDefer
		}
		sr.err = err.Error()
		r.log(sr.err, mainlog.Main, mainlog.Panic)
		return rcError
	}
	if !m.Matched {
		return rcFail
	}
	if dataVar != "" {
		vars[dataVar] = m.Data
	}
	return rcOK
}

// host returns the client host for host list matching, cached in the
// session so that a name is looked up once.
func (r *run) host() *lists.Host {
	ip, _ := netip.ParseAddr(r.s.Vars["sender_host_address"])
	if r.s.Host != nil && r.s.Host.IP == ip.Unmap() {
		return r.s.Host
	}
	h := &lists.Host{IP: ip}
	if name := r.s.Vars["sender_host_name"]; name != "" {
		h.Name, h.NameLookedUp = name, true
	}
	if !ip.IsValid() {
		h.NameLookedUp = true
	}
	r.s.Host = h
	return h
}

// external runs a condition that needs an outside service through the
// session's Checker.
func (r *run) external(name, arg string, sr *stmtResult) rc {
	if r.s.Checker == nil {
		sr.err = fmt.Sprintf("the \"%s\" condition is not available (no checker configured)", name)
		return rcError
	}
	ok, msg, err := r.s.Checker.Check(r.s, name, arg)
	if msg != "" {
		sr.condUser = msg
	}
	if err != nil {
		sr.err = err.Error()
		return rcDefer
	}
	if ok {
		return rcOK
	}
	return rcFail
}

// verify performs verify = conditions. Specification section "ACL
// conditions", verify, and "Address verification".
func (r *run) verify(v string, depth int, sr *stmtResult) rc {
	what, opts, _ := strings.Cut(v, "/")
	what = strings.TrimSpace(what)
	base, _, _ := strings.Cut(what, "=")
	stage := r.stage.stageName()
	switch base {
	case "recipient":
		if !rcptStages.has(r.stage) {
			sr.err = fmt.Sprintf("cannot verify recipient in ACL for %s", stage)
			return rcError
		}
	case "sender":
		if noMessageStages.has(r.stage) {
			sr.err = fmt.Sprintf("cannot verify sender in ACL for %s", stage)
			return rcError
		}
	case "header_syntax", "header_sender", "header_names_ascii", "not_blind":
		if !bodyStages.has(r.stage) {
			sr.err = fmt.Sprintf("cannot verify %s in ACL for %s", base, stage)
			return rcError
		}
	case "helo", "reverse_host_lookup", "certificate", "csa":
	default:
		sr.err = fmt.Sprintf("expected \"sender[=address]\", \"recipient\", \"helo\", \"header_syntax\", \"header_sender\", \"header_names_ascii\" or \"reverse_host_lookup\" at start of ACL condition \"verify %s\"", v)
		return rcError
	}
	switch base {
	case "header_syntax":
		return r.verifyHeaderSyntax(sr)
	case "header_names_ascii":
		return r.verifyHeaderNamesASCII(sr)
	case "not_blind":
		return r.verifyNotBlind(sr)
	case "certificate":
		if r.s.Vars["tls_in_certificate_verified"] == "1" {
			return rcOK
		}
		return rcFail
	case "csa":
		return r.external("verify", v, sr)
	}
	ver := r.s.Verifier
	if ver == nil {
		sr.err = fmt.Sprintf("cannot verify %s: address verification is not available", base)
		return rcError
	}
	var ok bool
	var msg string
	var err error
	switch base {
	case "recipient":
		delete(r.s.Vars, "recipient_verify_failure")
		ok, msg, err = ver.VerifyRecipient(r.s, opts)
	case "sender":
		// Exim keeps sender verification results for the session and
		// says so in the -bh commentary (observed with Exim 4.96).
		key := r.s.Vars["sender_address"] + "\x00" + opts
		// Callouts have their own cache (observed with Exim 4.96: the
		// address is routed and the callout cache read again).
		callout := strings.Contains(opts, "callout")
		if c, hit := r.s.senderVerified[key]; hit && !callout {
			r.trace(depth, "using cached sender verify result")
			if c.ok {
				return rcOK
			}
			r.s.Vars["sender_verify_failure"] = "route"
			r.s.Vars["acl_verify_message"] = "Sender verify failed"
			sr.condUser, sr.condLog, sr.verifyLog = "Sender verify failed", "Sender verify failed", true
			return rcFail
		}
		delete(r.s.Vars, "sender_verify_failure")
		ok, msg, err = ver.VerifySender(r.s, strings.TrimPrefix(v, "sender"))
		if err == nil && !callout {
			if r.s.senderVerified == nil || len(r.s.senderVerified) >= maxSenderCache {
				r.s.senderVerified = map[string]senderResult{}
			}
			r.s.senderVerified[key] = senderResult{ok: ok, msg: msg}
		}
	case "header_sender":
		ok, msg, err = ver.VerifySender(r.s, strings.TrimPrefix(v, "sender"))
	case "helo":
		r.trace(depth, "verifying EHLO/HELO argument \"%s\"", r.s.Vars["sender_helo_name"])
		ok, err = ver.VerifyHELO(r.s)
	case "reverse_host_lookup":
		ok, err = ver.VerifyReverseHostLookup(r.s)
		var vf *VerifyFailure
		var vd *VerifyDefer
		switch {
		case errors.As(err, &vf):
			// Specification chapter "Access control lists", verify =
			// reverse_host_lookup: the reason goes to the log.
			sr.condLog, sr.verifyLog = vf.Log, true
			return rcFail
		case errors.As(err, &vd):
			sr.condLog, sr.err, sr.verifyLog = vd.Log, vd.Log, true
			return rcDefer
		}
	}
	routed := base == "recipient" || base == "sender"
	var vf *VerifyFailure
	if routed && errors.As(err, &vf) {
		// Specification chapter "Access control lists", section
		// "Callout verification".
		if base == "sender" {
			r.senderVerify = &SenderVerifyFailure{Address: r.s.Vars["sender_address"], Message: vf.Log, Detail: vf.Detail}
			r.s.Vars["sender_verify_failure"] = vf.Failure
			sr.condUser, sr.condLog = "Sender verify failed", "Sender verify failed"
		} else {
			r.s.Vars["recipient_verify_failure"] = vf.Failure
			sr.condUser, sr.condLog = vf.User, vf.Log
		}
		sr.verifyLog = true
		r.s.Vars["acl_verify_message"] = sr.condUser
		return rcFail
	}
	var ve *VerifyError
	if routed && errors.As(err, &ve) {
		sr.err = ve.Text
		return rcError
	}
	var vd *VerifyDefer
	if routed && errors.As(err, &vd) {
		// Specification chapter "Access control lists", section
		// "Address verification": a sender that cannot be verified for
		// now gets Exim's fixed texts; a recipient the router's.
		sr.condUser, sr.condLog, sr.err, sr.verifyLog = vd.User, vd.Log, vd.Log, true
		if base == "sender" {
			r.senderVerify = &SenderVerifyFailure{Address: r.s.Vars["sender_address"], Message: vd.Log, Deferred: true}
			short := "Could not complete sender verify"
			if vd.Short != "" {
				short = vd.Short
			}
			sr.condUser, sr.condLog, sr.err = vd.Short, short, short
		}
		return rcDefer
	}
	if routed && err == nil && !ok {
		if base == "sender" {
			r.senderVerify = &SenderVerifyFailure{Address: r.s.Vars["sender_address"], Message: msg}
			r.s.Vars["sender_verify_failure"] = "route"
			msg = "Sender verify failed"
		} else {
			r.s.Vars["recipient_verify_failure"] = "route"
		}
		sr.condLog, sr.verifyLog = msg, true
	}
	if msg != "" {
		sr.condUser = msg
		r.s.Vars["acl_verify_message"] = msg
	}
	if err != nil {
		sr.err = err.Error()
		return rcDefer
	}
	if ok {
		return rcOK
	}
	return rcFail
}
