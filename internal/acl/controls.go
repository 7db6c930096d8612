package acl

import (
	"fmt"
	"strings"
)

// controlDef describes one control: where it is allowed and whether it
// takes "/options".
type controlDef struct {
	allowed stageSet
	options bool
	// name is the name Exim's "cannot use" error gives (queue_only is
	// reported as "queue").
	name string
}

// Stage sets for controls (Exim 4.96's behaviour, specification section
// "Use of the control modifier").
var (
	anySMTP      = ^notSMTPStages
	messageSMTP  = ^noMessageStages &^ setOf(VRFY) &^ notSMTPStages
	messageAny   = ^noMessageStages &^ setOf(VRFY)
	beforeData   = setOf(MAIL, RCPT, Predata)
	anyButNotQ   = ^setOf(NotQuit) &^ notSMTPStages
	noDataDKIM   = ^setOf(Data, DKIM, PRDR) &^ notSMTPStages
	connectHELO  = setOf(Connect, HELO)
	rcptOnly     = setOf(RCPT, PRDR)
	fixupsStages = setOf(MAIL, RCPT, Predata, NotSMTPStart)
)

// controls are the controls Exim 4.96 knows. dmarc_disable_verify and
// wellknown are not among them in Debian's build ("syntax error").
var controls = map[string]controlDef{
	"allow_auth_unadvertised": {allowed: connectHELO},
	"caseful_local_part":      {allowed: rcptOnly},
	"caselower_local_part":    {allowed: rcptOnly},
	"cutthrough_delivery":     {allowed: anySMTP, options: true},
	"debug":                   {allowed: ^setOf(), options: true},
	"dkim_disable_verify":     {allowed: noDataDKIM},
	"dscp":                    {allowed: anyButNotQ, options: true},
	"enforce_sync":            {allowed: anySMTP},
	"no_enforce_sync":         {allowed: anySMTP},
	"fakedefer":               {allowed: messageSMTP, options: true},
	"fakereject":              {allowed: messageSMTP, options: true},
	"freeze":                  {allowed: messageAny, options: true},
	"no_callout_flush":        {allowed: anySMTP},
	"no_delay_flush":          {allowed: anySMTP},
	"no_mbox_unspool":         {allowed: messageAny},
	"no_multiline_responses":  {allowed: anySMTP},
	"no_pipelining":           {allowed: anySMTP},
	"queue":                   {allowed: messageAny, options: true},
	"queue_only":              {allowed: messageAny, name: "queue"},
	"submission":              {allowed: beforeData, options: true},
	"suppress_local_fixups":   {allowed: fixupsStages},
	"utf8_downconvert":        {allowed: rcptOnly, options: true},
}

// fakeRejectText is Exim's default text for fakereject and fakedefer.
const fakeRejectText = "Your message has been rejected but is being kept for evaluation.\n" +
	"If it was a legitimate message, it may still be delivered to the target\n" +
	"recipient(s)."

// control applies "control = name/options". Specification section "Use
// of the control modifier".
func (r *run) control(v string, depth int, sr *stmtResult) rc {
	name, opts, hasOpts := strings.Cut(v, "/")
	def, ok := controls[name]
	if !ok || (hasOpts && !def.options) || (name == "dscp" && !hasOpts) {
		sr.err = fmt.Sprintf("syntax error in \"control=%s\"", v)
		return rcError
	}
	if !def.allowed.has(r.stage) {
		n := def.name
		if n == "" {
			n = name
		}
		sr.err = fmt.Sprintf("cannot use \"control=%s\" in %s ACL", n, r.stage.stageName())
		return rcError
	}
	c := &r.s.Controls
	switch name {
	case "allow_auth_unadvertised":
		c.AllowAuthUnadvertised = true
	case "caseful_local_part":
		if r.s.CasefulLocalPart != "" {
			r.s.Vars["local_part"] = r.s.CasefulLocalPart
		}
	case "caselower_local_part":
		r.s.Vars["local_part"] = strings.ToLower(r.s.Vars["local_part"])
	case "cutthrough_delivery":
		c.CutthroughDelivery = true
		for _, o := range strings.Split(opts, "/") {
			if o == "defer=pass" {
				c.CutthroughDeferPass = true
			}
		}
	case "debug":
		c.Debug = "/" + opts
	case "dkim_disable_verify":
		c.DKIMDisableVerify = true
	case "dscp":
		c.DSCP = opts
		if r.s.HostChecking {
			// -bh reads standard input, which is not a socket.
			r.trace(depth, "smtp input is probably not a socket [Socket operation on non-socket], not setting DSCP")
		}
	case "enforce_sync":
		c.EnforceSync, c.NoEnforceSync = true, false
	case "no_enforce_sync":
		c.EnforceSync, c.NoEnforceSync = false, true
	case "fakedefer", "fakereject":
		c.FakeDefer = name == "fakedefer"
		c.FakeReject = name == "fakereject"
		c.FakeText = fakeRejectText
		if opts != "" {
			c.FakeText = opts
		}
	case "freeze":
		c.Freeze = true
		c.FreezeNoTell = opts == "no_tell"
	case "no_callout_flush":
		c.NoCalloutFlush = true
	case "no_delay_flush":
		c.NoDelayFlush = true
	case "no_mbox_unspool":
		c.NoMboxUnspool = true
	case "no_multiline_responses":
		c.NoMultilineResponses = true
	case "no_pipelining":
		c.NoPipelining = true
	case "queue", "queue_only":
		c.Queue = true
		c.QueueFirstPass = opts == "first_pass_route"
	case "submission":
		c.Submission = true
		for _, o := range strings.Split(opts, "/") {
			switch {
			case strings.HasPrefix(o, "domain="):
				c.SubmissionDomain = o[len("domain="):]
			case strings.HasPrefix(o, "name="):
				c.SubmissionName = o[len("name="):]
			}
		}
	case "suppress_local_fixups":
		c.SuppressLocalFixups = true
	case "utf8_downconvert":
		c.UTF8Downconvert = opts != "0"
	}
	return rcOK
}
