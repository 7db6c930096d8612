package cli

import (
	"crypto/x509"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/exigo-mta/exigo/internal/acl"
	"github.com/exigo-mta/exigo/internal/callout"
	"github.com/exigo-mta/exigo/internal/cutthrough"
	"github.com/exigo-mta/exigo/internal/deliver"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/lists"
	"github.com/exigo-mta/exigo/internal/router"
	"github.com/exigo-mta/exigo/internal/spool"
)

// cutthroughManager makes the connections of control =
// cutthrough_delivery for the SMTP servers of r (specification chapter
// "Access control lists", section "Use of the control modifier").
func (r *receiving) cutthroughManager() *cutthrough.Manager {
	v := r.smtp.ver
	return &cutthrough.Manager{
		Route: v.cutthroughRoute,
		MarkDelivered: func(id string, rcpts []string) error {
			pid, err := spool.ParseID(id)
			if err != nil {
				return err
			}
			return deliver.MarkDelivered(r.queue.Spool.InputDir(pid), id, rcpts)
		},
	}
}

// cutthroughRoute routes addr as a recipient verification does and
// returns where it goes when that is an smtp transport.
func (v *routeVerifier) cutthroughRoute(vars map[string]string, addr string) (cutthrough.Target, bool) {
	if v.err != nil {
		return cutthrough.Target{}, false
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.vars = expand.VarMap(vars)
	v.renv.Sender = vars["sender_address"]
	defer func() { v.vars = nil }()
	a := router.NewAddress(addr)
	var res router.Result
	for n := 0; ; n++ {
		res = v.set.Route(a, router.Mode{Verify: true})
		if res.Status == router.Redirect && len(res.Children) == 1 && n < maxAddresses {
			a = res.Children[0]
			continue
		}
		break
	}
	return v.cutthroughTarget(vars, res)
}

// cutthroughTarget is where a routing result sends an address, when
// that is an smtp transport.
func (v *routeVerifier) cutthroughTarget(vars map[string]string, res router.Result) (cutthrough.Target, bool) {
	if res.Status != router.Accept || res.Transport == "" {
		return cutthrough.Target{}, false
	}
	var tr = -1
	for i, d := range v.cfg.Transports {
		if d.Name == res.Transport {
			tr = i
		}
	}
	if tr < 0 || v.cfg.Transports[tr].Driver != "smtp" {
		return cutthrough.Target{}, false
	}
	o := v.cfg.Transports[tr].Options
	ctx := v.in.Context(expand.VarMap(vars), nil)
	x := func(name, def string) string {
		s := o.String(name)
		if !o.IsSet(name) {
			s = def
		}
		out, err := expand.String(s, ctx)
		if err != nil {
			return def
		}
		return strings.TrimSpace(out)
	}
	port := 25
	if p := x("port", "25"); p != "smtp" {
		if n, err := strconv.Atoi(p); err == nil {
			port = n
		}
	}
	t := cutthrough.Target{
		Router: res.Router, Transport: res.Transport,
		Helo:           x("helo_data", vars["primary_hostname"]),
		Interface:      x("interface", ""),
		ConnectTimeout: o.Duration("connect_timeout"),
		CommandTimeout: o.Duration("command_timeout"),
		DataTimeout:    o.Duration("data_timeout"),
	}
	if t.Helo == "" {
		t.Helo = v.cfg.Main.String("primary_hostname")
	}
	if roots := x("tls_verify_certificates", "system"); roots != "system" && roots != "" {
		if pem, err := os.ReadFile(roots); err == nil {
			t.TLSRoots = x509.NewCertPool()
			t.TLSRoots.AppendCertsFromPEM(pem)
		}
	}
	avoid := o.String("hosts_avoid_tls")
	for _, h := range res.Hosts {
		if h.Addr == "" {
			continue
		}
		// STARTTLS when offered, unless the host is in hosts_avoid_tls
		// (the smtp transport's rule, which cutthrough follows).
		useTLS := true
		if avoid != "" {
			ip, _ := netip.ParseAddr(h.Addr)
			env := v.in.ListEnv(func(s string) (string, error) { return expand.String(s, ctx) })
			if m, err := lists.MatchHost(env, avoid, &lists.Host{IP: ip, Name: h.Name, NameLookedUp: true}); err != nil || m.Matched {
				useTLS = false
			}
		}
		p := port
		if h.Port > 0 {
			p = h.Port
		}
		t.Hosts = append(t.Hosts, cutthrough.Host{Name: h.Name, Addr: h.Addr, Port: p, TLS: useTLS})
	}
	return t, len(t.Hosts) > 0
}

// cutthroughCallout makes a recipient callout with use_sender (and no
// random or postmaster check) over the session's cutthrough connection
// when there is one, or the ACL has asked for one; done is false when
// the callout is to be made as usual. The log reason of a refusal is
// `response to "RCPT TO:<addr>" was: 550 ...` (observed with Exim 4.96).
func (v *routeVerifier) cutthroughCallout(s *acl.Session, res router.Result, addr string, sender bool, o callout.Options) (ok bool, msg string, err error, done bool) {
	if sender || s.CutthroughCallout == nil || !o.UseSender || o.Random || o.Postmaster || o.MailFrom != nil {
		return false, "", nil, false
	}
	t, routed := v.cutthroughTarget(s.Vars, res)
	if !routed {
		return false, "", nil, false
	}
	r, reused, held := s.CutthroughCallout(addr, t)
	if !held {
		return false, "", nil, false
	}
	reply := r.Text()
	// Over a connection open already the reason is Exim's shorter one
	// (observed with Exim 4.96).
	reason := `response to "RCPT TO:<` + addr + `>" was: ` + reply
	if !reused {
		reason = fmt.Sprintf("%s [%s] : SMTP error from remote mail server after RCPT TO:<%s>: %s", r.Host.Name, r.Host.Addr, addr, reply)
	}
	switch r.Class() {
	case 2:
		return true, "", nil, true
	case 5:
		f := &acl.VerifyFailure{Failure: "recipient", User: "Callout verification failed:\n" + reply, Log: reason}
		return false, f.User, f, true
	}
	short := "Could not complete recipient verify callout"
	return false, "", &acl.VerifyDefer{Log: short + ": " + reason, User: short, Short: short}, true
}
