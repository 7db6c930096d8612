package cli

import (
	"fmt"
	"strings"
	"sync"

	"github.com/exigo-mta/exigo/internal/acl"
	"github.com/exigo-mta/exigo/internal/callout"
	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/instance"
	"github.com/exigo-mta/exigo/internal/lists"
	"github.com/exigo-mta/exigo/internal/localhost"
	"github.com/exigo-mta/exigo/internal/mainlog"
	"github.com/exigo-mta/exigo/internal/rewrite"
	"github.com/exigo-mta/exigo/internal/router"
)

// routeVerifier does the ACL's verify = recipient and verify = sender by
// routing the address in verify mode, as Exim does: a redirection to one
// address follows that address, to several counts as verified; running
// out of routers fails with "Unrouteable address". Spec: chapter "Access
// control lists", section "Address verification".
type routeVerifier struct {
	cfg *config.Config
	in  *instance.Instance
	env *Env
	mu  sync.Mutex
	// vars are read by the routers through varsProxy; a route runs with
	// the calling session's variables, one at a time.
	vars expand.Vars
	renv *router.Env
	set  *router.Set
	err  error
	// senderCache keeps the named address list results of the senders
	// option for one session and sender, as Exim keeps them for the
	// message.
	senderCache     *lists.Cache
	cacheSession    *acl.Session
	cacheSenderAddr string
	// callouts is how callouts are made: calloutsDo (the daemon, -bs,
	// -bhc), or calloutsOmit (-bh, which says so and assumes success).
	callouts calloutMode
	// deferOverridden is set by a callout whose deferral defer_ok
	// turned into success (the commentary says so after the routing).
	deferOverridden bool
	// rewrite is the rewrite section's rules (nil: none); logRewrites
	// is log_selector +address_rewrite.
	rewrite     *rewrite.Rules
	logRewrites bool
}

// calloutMode says whether verify = .../callout calls out.
type calloutMode int

const (
	calloutsDo calloutMode = iota
	calloutsOmit
)

// varsProxy lets one router set serve many sessions: Var reads the
// variables of the session whose address is being routed.
type varsProxy struct{ v *routeVerifier }

func (p varsProxy) Var(name string) (string, bool) {
	if p.v.vars == nil {
		return "", false
	}
	return p.v.vars.Var(name)
}

func newRouteVerifier(cfg *config.Config, in *instance.Instance, env *Env) *routeVerifier {
	v := &routeVerifier{cfg: cfg, in: in, env: env}
	renv := &router.Env{
		Vars:             varsProxy{v},
		Lookups:          modeLookups{in.Lookups},
		Resolver:         routingResolver(cfg),
		Interfaces:       localhost.Machine(),
		QualifyRecipient: cfg.Main.String("qualify_recipient"),
		PrimaryHostname:  cfg.Main.String("primary_hostname"),
		Debug:            env.Debug,
		Now:              env.Now,
	}
	v.renv = renv
	v.set, v.err = router.New(cfg, renv)
	if len(cfg.Rewrite) > 0 && v.err == nil {
		vars := processVars(cfg)
		callerVars(cfg, vars)
		v.rewrite, v.err = newRewriteRules(cfg, in.Context(vars, nil), nil)
		sel, _ := mainlog.ParseSelector(cfg.Main.String("log_selector"))
		v.logRewrites = sel.Has(mainlog.SelAddressRewrite)
	}
	return v
}

// sessionRewrite returns the rewrite rules logging as the ACL session
// s logs (nil when there are none).
func (v *routeVerifier) sessionRewrite(s *acl.Session) *rewrite.Rules {
	if v.rewrite == nil {
		return nil
	}
	logf := func(line string, to ...mainlog.Which) {
		switch {
		case s.LogWrite != nil:
			s.LogWrite(line, to...)
		case s.Log != nil:
			_ = s.Log.Write(line, to...)
		}
	}
	var rewritten func(string)
	if v.logRewrites {
		rewritten = func(line string) { logf(line, mainlog.Main) }
	}
	return v.rewrite.WithLog(func(line string) { logf(line, mainlog.Main, mainlog.Panic) }, rewritten)
}

// route verifies addr for the session s; it writes Exim's -bh framing
// lines around the routing.
func (v *routeVerifier) route(s *acl.Session, addr string, sender bool, options string) (bool, string, error) {
	if v.err != nil {
		return false, "", v.err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.vars = s.Vars
	env := s.Vars["sender_address"]
	if v.cacheSession != s || v.cacheSenderAddr != env || v.senderCache == nil {
		v.cacheSession, v.cacheSenderAddr, v.senderCache = s, env, lists.NewCache()
	}
	// a sender is verified as the address of a bounce would be: with
	// the null sender (observed with Exim 4.96)
	v.renv.Sender = env
	if sender {
		v.renv.Sender = ""
	}
	v.renv.Trace = s.Trace
	v.renv.ListCache = s.ListCache
	v.renv.SenderCache = v.senderCache
	if s.LogPrefix != nil {
		v.renv.Client = "host " + strings.TrimSuffix(strings.TrimPrefix(s.LogPrefix(), "H="), " ")
	}
	saveLog, savePanic := v.renv.Log, v.renv.PanicLog
	if rs := v.sessionRewrite(s); rs != nil {
		// Addresses redirection generates are rewritten as in delivery.
		v.renv.Rewrite = func(a string) string {
			n, _ := rs.Address(a, rewrite.EnvTo)
			return n
		}
	}
	switch {
	case s.LogWrite != nil:
		v.renv.Log = func(line string) { s.LogWrite(line) }
		v.renv.PanicLog = func(line string) { s.LogWrite(line, mainlog.Main, mainlog.Panic) }
	case s.Log != nil:
		v.renv.Log = func(line string) { _ = s.Log.Write(line, mainlog.Main) }
		v.renv.PanicLog = func(line string) { _ = s.Log.Write(line, mainlog.Main, mainlog.Panic) }
	}
	defer func() {
		v.vars = nil
		v.renv.Trace, v.renv.ListCache, v.renv.SenderCache, v.renv.Client, v.renv.Log = nil, nil, nil, "", saveLog
		v.renv.PanicLog, v.renv.Rewrite = savePanic, nil
	}()
	trace := func(format string, args ...any) {
		if s.Trace != nil {
			fmt.Fprintf(s.Trace, ">>> "+format+"\n", args...)
		}
	}
	defer func() {
		if v.deferOverridden {
			v.deferOverridden = false
			trace("verify defer overridden by callout_defer_ok")
		}
	}()
	defer trace("----------- end verify ------------")
	mode := router.Mode{Verify: true, Sender: sender}
	a := router.NewAddress(addr)
	for n := 0; n < maxAddresses; n++ {
		trace(">>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>")
		trace("routing %s", a.Address)
		res := v.set.Route(a, mode)
		switch res.Status {
		case router.Fail:
			msg := res.Message
			if msg == "" {
				msg = "Unrouteable address"
			}
			return false, msg, nil
		case router.Defer:
			d := &acl.VerifyDefer{Log: res.Message}
			if res.LookupMessage != "" {
				d.Log = res.LookupMessage
			}
			if res.Public {
				d.User = res.Message
			}
			return false, "", d
		case router.Redirect:
			if len(res.Children) == 1 {
				if res.Children[0].Kind != router.Mailbox {
					// A file, pipe or directory is not routed:
					// verification succeeds (observed with Exim
					// 4.96, which shows no routing for it).
					return true, "", nil
				}
				a = res.Children[0]
				continue
			}
		}
		if res.Status == router.Accept {
			return v.callout(s, res, sender, options)
		}
		return true, "", nil
	}
	return true, "", nil
}

// VerifyRecipient implements acl.Verifier.
func (v *routeVerifier) VerifyRecipient(s *acl.Session, options string) (bool, string, error) {
	addr := s.Vars["local_part"] + "@" + s.Vars["domain"]
	// Callout options are checked before routing (observed with Exim
	// 4.96).
	if _, _, err := callout.Parse(options, "recipient/"+options); err != nil {
		return false, "", &acl.VerifyError{Text: err.Error()}
	}
	// The address is rewritten for the verification only (spec chapter
	// "Address rewriting", section "When does rewriting happen?").
	addr, _ = v.sessionRewrite(s).Address(addr, rewrite.EnvTo)
	return v.route(s, addr, false, options)
}

// VerifySender implements acl.Verifier. The null sender always verifies.
func (v *routeVerifier) VerifySender(s *acl.Session, options string) (bool, string, error) {
	sender := s.Vars["sender_address"]
	if sender == "" {
		return true, "", nil
	}
	if !strings.Contains(sender, "@") {
		sender += "@" + v.cfg.Main.String("qualify_domain")
	}
	if o, ok, err := callout.Parse(options, "sender"+options); err != nil {
		return false, "", &acl.VerifyError{Text: err.Error()}
	} else if ok && (o.UseSender || o.UsePostmaster) {
		return false, "", &acl.VerifyError{Text: "use_sender or use_postmaster cannot be used for a sender verify callout"}
	}
	// The sender is rewritten before verification and stays rewritten
	// (spec chapter "Address rewriting", section "When does rewriting
	// happen?").
	if n, changed := v.sessionRewrite(s).Address(sender, rewrite.EnvFrom); changed {
		sender = n
		s.Vars["sender_address"] = n
		lp, dom := router.Split(n)
		s.Vars["sender_address_local_part"], s.Vars["sender_address_domain"] = lp, dom
	}
	return v.route(s, sender, true, options)
}

// VerifyHELO implements acl.Verifier: the HELO name must be the client's
// IP literal or a name that resolves to the client's address.
func (v *routeVerifier) VerifyHELO(s *acl.Session) (bool, error) {
	helo := s.Vars["sender_helo_name"]
	ip := s.Vars["sender_host_address"]
	if helo == "" || ip == "" {
		return false, nil
	}
	if strings.Trim(helo, "[]") == ip {
		return true, nil
	}
	addrs, err := router.HostByName(helo)
	if err != nil {
		return false, nil
	}
	for _, a := range addrs {
		if a.String() == ip {
			return true, nil
		}
	}
	return false, nil
}

// VerifyReverseHostLookup implements acl.Verifier: the client's address
// must have a host name that resolves back to it (specification chapter
// "Access control lists", verify = reverse_host_lookup). The name is
// looked up now unless host_lookup did it at the connection; a local
// message, with no client host, passes; a temporary DNS failure defers.
func (v *routeVerifier) VerifyReverseHostLookup(s *acl.Session) (bool, error) {
	if s.Vars["sender_host_address"] == "" {
		return true, nil
	}
	failure := ""
	if s.LookupHostName != nil {
		// Once per connection: a no-op when host_lookup did it.
		failure = s.LookupHostName()
	}
	if s.Vars["sender_host_name"] != "" {
		return true, nil
	}
	if s.Vars["host_lookup_deferred"] == "1" {
		return false, &acl.VerifyDefer{Log: "host lookup deferred for reverse lookup check"}
	}
	return false, &acl.VerifyFailure{Log: "host lookup failed for reverse lookup check (" + failure + ")"}
}
