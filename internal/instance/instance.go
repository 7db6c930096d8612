// Package instance holds one loaded configuration together with the live
// parts that every mode shares: the lookup registry (open files and
// cache), the DNS resolver, compiled list patterns and the debug writer.
// It builds the expansion contexts and list-matching environments that the
// command-line modes, the SMTP server, ACLs and routers evaluate against,
// so that they all see the same lookups, named lists and host facts.
package instance

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/debug"
	"github.com/exigo-mta/exigo/internal/dns"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/lists"
	"github.com/exigo-mta/exigo/internal/localhost"
	"github.com/exigo-mta/exigo/internal/lookup"

	mdns "github.com/miekg/dns"
)

// Options configures an Instance.
type Options struct {
	// Debug writes -d output; nil for none.
	Debug *debug.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// ResolvConf is the resolver configuration file; empty means
	// /etc/resolv.conf. Tests point it at their own DNS server.
	ResolvConf string
	// NoLookupCache is set by a long-lived daemon: lookups keep no
	// results between calls (see lookup.Options.NoCache).
	NoLookupCache bool
}

// Instance is a configuration with its shared live parts.
type Instance struct {
	Config   *config.Config
	Lookups  *lookup.Registry
	Resolver *dns.Resolver
	Debug    *debug.Logger
	Regexps  *lists.RegexpCache
	// Templates caches parsed expansion strings for every context the
	// instance builds.
	Templates *expand.Cache
	now       func() time.Time
	// ACL, when set, gives the ${acl} item and the acl condition a way to
	// run ACLs over the given variables.
	ACL func(vars expand.Vars) func(name string, args []string) (expand.ACLVerdict, string, error)
	// ifaces are the local host's addresses (localInterfaces), read
	// once: every list match that may meet "@[]" needs them.
	ifaces []netip.Addr
}

// SystemResolver is the resolver of the resolver configuration file rc
// (empty for /etc/resolv.conf), following changes to it, with the main
// options dns_retrans and dns_retry in place of its timeout and
// attempts when they are set.
func SystemResolver(cfg *config.Config, rc string) *dns.Resolver {
	if rc == "" {
		rc = "/etc/resolv.conf"
	}
	n, _ := cfg.Main.Int("dns_retry")
	return dns.System(rc, cfg.Main.Duration("dns_retrans"), int(max(n, 0)))
}

// New builds an Instance for cfg. A resolver configuration that cannot be
// read leaves DNS pointing at the loopback resolver, as the C library does.
func New(cfg *config.Config, opts Options) *Instance {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	res := SystemResolver(cfg, opts.ResolvConf)
	lo := lookup.Options{
		Resolver:     res,
		Debug:        opts.Debug,
		SQLiteDBFile: cfg.Main.String("sqlite_dbfile"),
		Now:          opts.Now,
		NoCache:      opts.NoLookupCache,
		LDAP: lookup.LDAPOptions{
			DefaultServers: cfg.Main.String("ldap_default_servers"),
			StartTLS:       cfg.Main.Bool("ldap_start_tls"),
			RequireCert:    cfg.Main.String("ldap_require_cert"),
			CACertFile:     cfg.Main.String("ldap_ca_cert_file"),
			CACertDir:      cfg.Main.String("ldap_ca_cert_dir"),
			CertFile:       cfg.Main.String("ldap_cert_file"),
			CertKey:        cfg.Main.String("ldap_cert_key"),
		},
	}
	if d := cfg.Main.Duration("sqlite_lock_timeout"); d > 0 {
		lo.SQLiteTimeout = d
	}
	if n, ok := cfg.Main.Int("lookup_open_max"); ok && n > 0 {
		lo.OpenMax = int(n)
	}
	return &Instance{
		Config:    cfg,
		Lookups:   lookup.New(lo),
		Resolver:  res,
		Debug:     opts.Debug,
		Regexps:   &lists.RegexpCache{},
		Templates: expand.NewCache(4096),
		now:       opts.Now,
		ifaces:    localInterfaces(cfg),
	}
}

// localInterfaces are the addresses "@[]" stands for: those of
// local_interfaces and extra_local_interfaces, the wildcard items
// meaning every address of the machine (spec chapter "Domain, host,
// address and local part lists", section "Special host list patterns";
// observed with Exim 4.96 -be).
func localInterfaces(cfg *config.Config) []netip.Addr {
	li := localhost.DefaultInterfaces
	if cfg.Main.IsSet("local_interfaces") {
		li = cfg.Main.String("local_interfaces")
	}
	return localhost.Interfaces(li, cfg.Main.String("extra_local_interfaces"), localhost.Machine())
}

// Context returns an expansion context over vars with the instance's
// lookups, named lists and list matching. msg may be nil.
func (in *Instance) Context(vars expand.Vars, msg expand.Message) *expand.Context {
	ctx := &expand.Context{
		Vars:      vars,
		Message:   msg,
		Lookups:   lookupAdapter{in.Lookups},
		NamedList: in.namedList,
		Debug:     in.Debug,
		Now:       in.now,
		Templates: in.Templates,
	}
	ctx.Conds.LDAPAuth = in.Lookups.LDAPAuth
	if in.ACL != nil {
		ctx.ACL = in.ACL(vars)
	}
	env := in.ListEnv(func(s string) (string, error) { return expand.String(s, ctx) })
	ctx.Lists = ListMatcher{Env: env}
	return ctx
}

// namedList returns the raw value of a named list for ${listnamed}.
func (in *Instance) namedList(kind, name string) (string, bool) {
	nl := in.Config.NamedList(kind, name)
	if nl == nil {
		return "", false
	}
	return nl.Value, true
}

// ListEnv returns a list-matching environment; x expands named lists that
// contain "$" (nil: they are used as written).
func (in *Instance) ListEnv(x func(string) (string, error)) *lists.Env {
	return &lists.Env{
		Lookups:           lookupAdapter{in.Lookups},
		NamedList:         in.Config.ListNamed,
		Expand:            x,
		PrimaryHostname:   in.Config.Main.String("primary_hostname"),
		Interfaces:        in.ifaces,
		HostsTreatAsLocal: in.Config.Main.String("hosts_treat_as_local"),
		Resolver:          hostResolver{in.Resolver},
		Cache:             lists.NewCache(),
		Regexps:           in.Regexps,
		Debug:             in.Debug,
	}
}

// lookupAdapter presents the lookup registry to the expansion engine and
// the list matcher.
type lookupAdapter struct{ r *lookup.Registry }

func (l lookupAdapter) Find(typ, file, key string, x func(string) (string, error)) (string, bool, error) {
	return l.r.Find(typ, file, key, x)
}

func (l lookupAdapter) Query(typ, query string, x func(string) (string, error)) (string, bool, error) {
	return l.r.Query(typ, query, x)
}

// QueryStyle implements lists.Lookuper.
func (l lookupAdapter) QueryStyle(typ string) (bool, error) {
	k, ok := lookup.Kind(typ)
	if !ok {
		return false, fmt.Errorf("unknown lookup type \"%s\"", typ)
	}
	return k == lookup.QueryStyle, nil
}

// ListMatcher lets the match_* and inlist conditions match against Exim
// lists through the lists package.
type ListMatcher struct{ Env *lists.Env }

// WithDebug returns a matcher over a copy of m's environment whose list
// matching lines go to d (-bh shows them as commentary).
func (m ListMatcher) WithDebug(d *debug.Logger) expand.ListMatcher {
	env := *m.Env
	env.Debug = d
	return ListMatcher{Env: &env}
}

var _ expand.ListMatcherVars = ListMatcher{}

// MatchList implements expand.ListMatcher.
func (m ListMatcher) MatchList(kind, list, subject string) (bool, string, error) {
	ok, data, _, err := m.MatchListVars(kind, list, subject)
	return ok, data, err
}

// MatchListVars implements expand.ListMatcherVars: kind is "domain",
// "host" (an IP address, as match_ip does), "address", "localpart" or
// "string".
func (m ListMatcher) MatchListVars(kind, list, subject string) (bool, string, []string, error) {
	var (
		r   lists.Match
		err error
	)
	switch kind {
	case "domain":
		r, err = lists.MatchDomain(m.Env, list, subject)
	case "host":
		r, err = lists.MatchIP(m.Env, list, subject)
	case "address":
		r, err = lists.MatchAddress(m.Env, list, subject, false)
	case "localpart":
		r, err = lists.MatchLocalPart(m.Env, list, subject, false)
	case "string":
		r, err = lists.MatchString(m.Env, list, subject, false)
	default:
		return false, "", nil, fmt.Errorf("unknown list kind %q", kind)
	}
	if err != nil {
		return false, "", nil, err
	}
	return r.Matched, r.Data, r.Vars, nil
}

// hostResolver answers the list matcher's host questions from DNS.
type hostResolver struct{ r *dns.Resolver }

func (h hostResolver) HostNames(ip netip.Addr) ([]string, error) {
	names, a := h.r.LookupNames(bgctx(), dns.ReverseName(ip), typePTR, dns.Options{})
	return trimDots(names), statusErr(a)
}

func (h hostResolver) HostAddrs(name string) ([]netip.Addr, error) {
	v4, a := h.r.LookupA(bgctx(), name, dns.Options{})
	if err := statusErr(a); err != nil {
		return nil, err
	}
	v6, a6 := h.r.LookupAAAA(bgctx(), name, dns.Options{})
	if err := statusErr(a6); err != nil {
		return nil, err
	}
	return append(v4, v6...), nil
}

func (h hostResolver) MX(domain string) ([]lists.MX, error) {
	mxs, a := h.r.LookupMX(bgctx(), domain, dns.Options{})
	if err := statusErr(a); err != nil {
		return nil, err
	}
	out := make([]lists.MX, len(mxs))
	for i, m := range mxs {
		out[i] = lists.MX{Host: m.Host, Pref: int(m.Preference)}
	}
	return out, nil
}

func trimDots(names []string) []string {
	for i, n := range names {
		names[i] = strings.TrimSuffix(n, ".")
	}
	return names
}

const typePTR = mdns.TypePTR

func bgctx() context.Context { return context.Background() }

// statusErr turns a temporary DNS failure into an error (a DEFER for list
// matching); "no such name" and "no data" are plain negative answers.
func statusErr(a *dns.Answer) error {
	if a == nil {
		return nil
	}
	switch a.Status {
	case dns.Again, dns.Fail:
		if a.Err != nil {
			return a.Err
		}
		return fmt.Errorf("DNS lookup of %s failed temporarily", a.Name)
	}
	return nil
}
