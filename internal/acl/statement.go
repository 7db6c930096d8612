package acl

import (
	"fmt"
	"strings"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/expand"
)

// stmtResult is what evaluating the conditions and modifiers of one
// statement gave.
type stmtResult struct {
	rc      rc
	endpass bool // an endpass was passed before the outcome was known
	// message and logMessage are the raw texts of the last message and
	// log_message modifiers met; nil when none.
	message, logMessage *string
	// condUser and condLog are messages a condition supplied (a nested
	// ACL's, a verification failure's).
	condUser, condLog string
	// verifyLog is set when condLog is an address verification's
	// message: a log_message then comes before it ("TEXT: MESSAGE").
	verifyLog bool
	// err is the text of an error or of a deferral's reason.
	err string
	// lookupDefer is the message of a lookup that deferred in an
	// expansion (err has it wrapped).
	lookupDefer string
	// warnMsg is a true warn statement's message, expanded.
	warnMsg string
}

// deferText is the reason a "warn" statement's condition deferred, as
// its "statement skipped" warning shows it: a deferred lookup's own
// message, in an expansion or in a host or address list (observed with
// Exim 4.96), else err.
func (sr *stmtResult) deferText() string {
	if sr.lookupDefer != "" {
		return sr.lookupDefer
	}
	if strings.HasPrefix(sr.err, "unable to complete match against ") {
		if _, after, ok := strings.Cut(sr.err, " gave DEFER: "); ok {
			return after
		}
	}
	return sr.err
}

// topExpanded are the conditions and modifiers whose argument Exim
// expands before it shows the "check" line (the others expand their
// lists themselves, or later).
var topExpanded = map[string]bool{
	"condition": true, "ratelimit": true, "verify": true, "dnslists": true,
	"malware": true, "spam": true, "spf": true, "spf_guess": true,
	"dkim_signers": true, "dkim_status": true, "regex": true, "mime_regex": true,
	"decode": true, "seen": true,
	"set": true, "logwrite": true, "continue": true, "control": true,
	"delay": true, "add_header": true, "remove_header": true, "queue": true,
	"log_reject_target": true, "udpsend": true,
}

// statement evaluates the conditions and modifiers of a statement left
// to right, stopping at the first condition that is not true.
// Specification section "Condition and modifier processing".
//
// Exim does not show message and log_message lines for inline ACLs.
func (r *run) statement(st *config.ACLStatement, depth int, inline bool) stmtResult {
	var sr stmtResult
	for i := range st.Conditions {
		c := &st.Conditions[i]
		switch c.Name {
		case "endpass":
			sr.endpass = true
			continue
		case "message":
			v := c.Value
			sr.message = &v
			if !inline {
				r.trace(depth, "  message: %s", v)
			}
			continue
		case "log_message":
			v := c.Value
			sr.logMessage = &v
			if !inline {
				r.trace(depth, "l_message: %s", v)
			}
			continue
		}
		res := r.condition(st, c, depth, &sr)
		if res == skip {
			continue
		}
		if c.Negated {
			switch res {
			case rcOK:
				res = rcFail
			case rcFail, rcFailDrop:
				res = rcOK
			}
		}
		if res != rcOK {
			sr.rc = res
			return sr
		}
	}
	sr.rc = rcOK
	return sr
}

// skip is returned by condition when an expansion was forced to fail:
// the condition is then ignored (true whatever its negation).
const skip rc = -1

// condition evaluates one condition or modifier (not message,
// log_message or endpass).
func (r *run) condition(st *config.ACLStatement, c *config.ACLCondition, depth int, sr *stmtResult) rc {
	label := c.Name
	if c.Name == "set" {
		label += " " + c.Var
	}
	if c.Negated {
		label = "!" + label
	}
	v := c.Value
	if topExpanded[c.Name] {
		x, err := r.expand(c.Value)
		if err != nil {
			return r.expandFailed(c.Value, err, sr)
		}
		r.traceCheck(depth, label, c.Value, x, true)
		v = x
	} else {
		r.traceCheck(depth, label, c.Value, "", false)
	}
	if msg := r.forbidden(c.Name); msg != "" {
		sr.err = msg
		return rcError
	}
	return r.evaluate(st, c, v, depth, sr)
}

// expandFailed turns an expansion error into the condition's result: a
// forced failure skips the condition, a lookup deferral defers, anything
// else is an error.
func (r *run) expandFailed(raw string, err error, sr *stmtResult) rc {
	if expand.IsForced(err) {
		return skip
	}
	sr.err = fmt.Sprintf("failed to expand ACL string \"%s\": %s", raw, err)
	if expand.IsDefer(err) {
		if text, ok := expand.LookupText(err); ok {
			sr.lookupDefer = text
		}
		return rcDefer
	}
	return rcError
}

// evaluate dispatches a condition or modifier on its name.
func (r *run) evaluate(st *config.ACLStatement, c *config.ACLCondition, v string, depth int, sr *stmtResult) rc {
	switch c.Name {
	case "acl":
		return r.aclCondition(st, c.Value, depth, sr)
	case "hosts", "domains", "local_parts", "senders", "recipients", "sender_domains", "authenticated", "encrypted":
		return r.listCondition(c.Name, c.Value, depth, sr)
	case "condition":
		return r.boolCondition(v, sr)
	case "ratelimit":
		return r.ratelimit(v, depth, sr)
	case "verify":
		return r.verify(v, depth, sr)
	case "dnslists", "malware", "spam", "spf", "spf_guess", "dkim_signers", "dkim_status",
		"regex", "mime_regex", "decode", "seen":
		return r.external(c.Name, v, sr)
	case "set":
		r.s.Vars[c.Var] = v
		return rcOK
	case "continue":
		return rcOK
	case "logwrite":
		r.logwrite(v)
		return rcOK
	case "control":
		return r.control(v, depth, sr)
	case "delay":
		return r.delay(v, depth, sr)
	case "add_header":
		r.addHeaders(v)
		return rcOK
	case "remove_header":
		r.removeHeaders(v)
		return rcOK
	case "queue":
		r.s.Controls.QueueName = v
		return rcOK
	case "log_reject_target":
		return r.logRejectTarget(v, sr)
	case "udpsend":
		return r.udpsend(v, depth, sr)
	}
	sr.err = fmt.Sprintf("internal problem: unknown ACL condition \"%s\"", c.Name)
	return rcError
}

// boolCondition is the condition = condition: empty, "no", "false" and
// numbers that are zero are false; "yes", "true" and other numbers true;
// anything else defers. Specification section "ACL conditions",
// condition.
func (r *run) boolCondition(v string, sr *stmtResult) rc {
	switch strings.ToLower(v) {
	case "", "no", "false":
		return rcFail
	case "yes", "true":
		return rcOK
	}
	if n, ok := integer(v); ok {
		if n {
			return rcOK
		}
		return rcFail
	}
	sr.err = fmt.Sprintf("invalid \"condition\" value \"%s\"", v)
	return rcDefer
}

// integer reports whether s is a decimal integer (optionally signed) and
// whether it is non-zero.
func integer(s string) (nonzero, ok bool) {
	t := s
	if t != "" && (t[0] == '-' || t[0] == '+') {
		t = t[1:]
	}
	if t == "" {
		return false, false
	}
	for i := 0; i < len(t); i++ {
		if t[i] < '0' || t[i] > '9' {
			return false, false
		}
		if t[i] != '0' {
			nonzero = true
		}
	}
	return nonzero, true
}

// aclCondition runs a nested ACL: "acl = name arg1 arg2 ..." with the
// arguments in $acl_arg1..9 and their count in $acl_narg (restored
// afterwards), or inline/file ACL text. Specification section "ACL
// conditions", acl.
func (r *run) aclCondition(st *config.ACLStatement, raw string, depth int, sr *stmtResult) rc {
	fields := strings.Fields(raw)
	var out outcome
	first := ""
	if len(fields) > 0 {
		x, err := r.expand(fields[0])
		if err != nil {
			return r.expandFailed(fields[0], err, sr)
		}
		first = x
	}
	if first != "" && !strings.HasPrefix(first, "/") && r.e.cfg.ACL(first) != nil {
		args := fields[1:]
		if len(args) > 9 {
			args = args[:9]
		}
		vals := make([]string, len(args))
		for i, a := range args {
			x, err := r.expand(a)
			if err != nil {
				return r.expandFailed(a, err, sr)
			}
			vals[i] = x
		}
		saved := map[string]*string{}
		for i := 1; i <= 9; i++ {
			saved[fmt.Sprintf("acl_arg%d", i)] = nil
		}
		saved["acl_narg"] = nil
		for k := range saved {
			if old, ok := r.s.Vars[k]; ok {
				o := old
				saved[k] = &o
			}
		}
		zero := "0"
		if saved["acl_narg"] == nil {
			saved["acl_narg"] = &zero
		}
		for i := 1; i <= 9; i++ {
			k := fmt.Sprintf("acl_arg%d", i)
			if i <= len(vals) {
				r.s.Vars[k] = vals[i-1]
			} else {
				r.s.Vars[k] = ""
			}
		}
		r.s.Vars["acl_narg"] = fmt.Sprint(len(vals))
		out = r.runNamed(first, depth+1)
		for k, old := range saved {
			if old == nil {
				delete(r.s.Vars, k)
			} else {
				r.s.Vars[k] = *old
			}
		}
	} else {
		x, err := r.expand(raw)
		if err != nil {
			return r.expandFailed(raw, err, sr)
		}
		out = r.runNamed(x, depth+1)
	}
	if out.rc != rcOK {
		sr.condUser, sr.condLog = out.user, out.log
	}
	switch out.rc {
	case rcDiscard:
		if st.Verb != "accept" && st.Verb != "discard" {
			sr.err = fmt.Sprintf("nested ACL returned \"discard\" for \"%s\" command (only allowed with \"accept\" or \"discard\")", st.Verb)
			return rcError
		}
	case rcError, rcDefer:
		sr.err = out.err
		if sr.err == "" {
			sr.err = out.user
		}
	}
	return out.rc
}
