package cli

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/exigo-mta/exigo/internal/acl"
	"github.com/exigo-mta/exigo/internal/callout"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/router"
)

// callout finishes a verification whose routing succeeded: with the
// callout option and an smtp transport, it asks the hosts the address
// routed to. Spec: chapter "Access control lists", section "Callout
// verification".
func (v *routeVerifier) callout(s *acl.Session, res router.Result, sender bool, options string) (bool, string, error) {
	cond := "recipient/" + options
	if sender {
		cond = "sender" + options
	}
	opts, ok, err := callout.Parse(options, cond)
	if err != nil {
		return false, "", &acl.VerifyError{Text: err.Error()}
	}
	if !ok {
		return true, "", nil
	}
	t := v.cfg.Transport(res.Transport)
	if t == nil || t.Driver != "smtp" || len(res.Hosts) == 0 {
		return true, "", nil
	}
	trace := func(format string, args ...any) {
		if s.Trace != nil {
			fmt.Fprintf(s.Trace, ">>> "+format+"\n", args...)
		}
	}
	trace("Attempting full verification using callout")
	if v.callouts == calloutsOmit {
		trace("... callout omitted by default when host testing")
		trace("(Use -bhc if you want the callouts to happen.)")
		return true, "", nil
	}
	if sender && (opts.UseSender || opts.UsePostmaster) {
		return false, "", &acl.VerifyError{Text: "use_sender or use_postmaster cannot be used for a sender verify callout"}
	}
	main := v.cfg.Main
	x := func(text string) string {
		out, err := expand.String(text, v.in.Context(s.Vars, s.Message))
		if err != nil {
			return ""
		}
		return out
	}
	addr := s.Vars["local_part"] + "@" + s.Vars["domain"]
	if sender {
		addr = s.Vars["sender_address"]
		if !strings.Contains(addr, "@") {
			addr += "@" + main.String("qualify_domain")
		}
	}
	from := ""
	switch {
	case opts.MailFrom != nil:
		from = *opts.MailFrom
	case !sender && opts.UseSender:
		from = s.Vars["sender_address"]
	case !sender && opts.UsePostmaster:
		from = "postmaster@" + main.String("qualify_domain")
	}
	port := transportPort(t.Options.String("port"))
	var hosts []callout.Host
	for _, h := range res.Hosts {
		p := port
		if h.Port != 0 {
			p = h.Port
		}
		if h.Addr == "" {
			continue
		}
		hosts = append(hosts, callout.Host{Name: strings.Trim(h.Name, "[]"), Addr: h.Addr, Port: p})
	}
	helo := main.String("primary_hostname")
	if hd := t.Options.String("helo_data"); hd != "" && t.Options.IsSet("helo_data") {
		if h := x(hd); h != "" {
			helo = h
		}
	}
	spool := x(main.String("spool_directory"))
	req := &callout.Request{
		Address: addr, Sender: sender, From: from, Helo: helo, Hosts: hosts, Options: opts,
		RandomLocalPart: x(main.String("callout_random_local_part")),
		Spool:           spool,
		Expire: callout.Expiry{
			Negative: main.Duration("callout_negative_expire"), Positive: main.Duration("callout_positive_expire"),
			DomainNegative: main.Duration("callout_domain_negative_expire"), DomainPositive: main.Duration("callout_domain_positive_expire"),
		},
		Trace: s.Trace,
		Now:   v.env.Now,
	}
	if ok, msg, err, done := v.cutthroughCallout(s, res, addr, sender, opts); done {
		return ok, msg, err
	}
	r := callout.Verify(req)
	failVar := "recipient_verify_failure"
	what := "recipient"
	if sender {
		failVar, what = "sender_verify_failure", "sender"
	}
	switch r.Status {
	case callout.OK:
		if r.Failure != "" {
			s.Vars[failVar] = r.Failure
		}
		return true, "", nil
	case callout.Defer:
		if opts.DeferOK {
			v.deferOverridden = true
			return true, "", nil
		}
		short := "Could not complete " + what + " verify callout"
		return false, "", &acl.VerifyDefer{Log: short + ": " + r.Reason, User: short, Short: short}
	}
	f := &acl.VerifyFailure{Failure: r.Failure}
	if r.Cached {
		text := callout.CachedText
		if r.Failure != "recipient" {
			// A domain's cached failure (observed with Exim 4.96).
			text = callout.CachedDomainText
		}
		f.User, f.Log, f.Detail = text, text, text
		if sender {
			f.Log = ""
		}
	} else {
		f.User = "Callout verification failed:\n" + r.Response
		f.Log = r.Reason
		f.Detail = "Called:   " + r.Host + "\nSent:     " + r.Sent + "\nResponse: " + r.Response
	}
	return false, f.User, f
}

// transportPort is the smtp transport's port option as a number (25
// for "smtp" or unset).
func transportPort(p string) int {
	if n, err := strconv.Atoi(strings.TrimSpace(p)); err == nil && n > 0 {
		return n
	}
	if n, err := net.LookupPort("tcp", p); err == nil && p != "" {
		return n
	}
	return 25
}
