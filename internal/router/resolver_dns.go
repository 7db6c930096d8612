package router

import (
	"context"
	"errors"
	"net/netip"

	"github.com/exigo-mta/exigo/internal/dns"
)

// SecureResolver is implemented by a Resolver that can tell whether an
// answer was DNSSEC-authenticated (the AD bit from a validating
// resolver). The dnslookup router marks the hosts it found through such
// answers (Host.DNSSEC) for the smtp transport's DANE.
type SecureResolver interface {
	// MXSecure is MX, and whether the answer was authenticated.
	MXSecure(name string) ([]MX, bool, error)
	// AddrsSecure is Addrs, and whether every answer was authenticated.
	AddrsSecure(name string) ([]netip.Addr, bool, error)
}

// DNSResolver answers the routers' questions through exigo's DNS
// resolver, asking for DNSSEC when DNSSEC is set (main option
// dns_dnssec_ok not 0). HostByName uses the system's resolver (the hosts
// file first).
type DNSResolver struct {
	R      *dns.Resolver
	DNSSEC bool
}

var _ SecureResolver = DNSResolver{}

func (r DNSResolver) opts() dns.Options { return dns.Options{DNSSEC: r.DNSSEC} }

// answerErr maps an answer's status to the Resolver contract's errors.
func answerErr(a *dns.Answer) error {
	switch a.Status {
	case dns.Succeed:
		return nil
	case dns.NoData:
		return ErrNoData
	case dns.NXDomain:
		return ErrNoSuchDomain
	}
	if a.Err != nil {
		return a.Err
	}
	return errors.New("DNS lookup of " + a.Name + " failed")
}

// MX implements Resolver.
func (r DNSResolver) MX(name string) ([]MX, error) {
	mx, _, err := r.MXSecure(name)
	return mx, err
}

// MXSecure implements SecureResolver.
func (r DNSResolver) MXSecure(name string) ([]MX, bool, error) {
	mxs, a := r.R.LookupMX(context.Background(), name, r.opts())
	if err := answerErr(a); err != nil {
		return nil, false, err
	}
	out := make([]MX, 0, len(mxs))
	for _, m := range mxs {
		out = append(out, MX{Host: m.Host, Pref: int(m.Preference)})
	}
	return out, a.AD, nil
}

// SRV implements Resolver.
func (r DNSResolver) SRV(name string) ([]SRV, error) {
	srvs, a := r.R.LookupSRV(context.Background(), name, r.opts())
	if err := answerErr(a); err != nil {
		return nil, err
	}
	out := make([]SRV, 0, len(srvs))
	for _, s := range srvs {
		out = append(out, SRV{Target: s.Target, Port: int(s.Port), Priority: int(s.Priority), Weight: int(s.Weight)})
	}
	return out, nil
}

// Addrs implements Resolver.
func (r DNSResolver) Addrs(name string) ([]netip.Addr, error) {
	ips, _, err := r.AddrsSecure(name)
	return ips, err
}

// AddrsSecure implements SecureResolver: A then AAAA records; a name
// with neither is ErrNoData (or ErrNoSuchDomain).
func (r DNSResolver) AddrsSecure(name string) ([]netip.Addr, bool, error) {
	v4, a := r.R.LookupA(context.Background(), name, r.opts())
	if a.Status == dns.Again || a.Status == dns.Fail {
		return nil, false, answerErr(a)
	}
	v6, a6 := r.R.LookupAAAA(context.Background(), name, r.opts())
	if a6.Status == dns.Again || a6.Status == dns.Fail {
		return nil, false, answerErr(a6)
	}
	ips := append(v4, v6...)
	if len(ips) == 0 {
		return nil, false, answerErr(a)
	}
	secure := (len(v4) == 0 || a.AD) && (len(v6) == 0 || a6.AD)
	return ips, secure, nil
}

// HostByName implements Resolver.
func (r DNSResolver) HostByName(name string) ([]netip.Addr, error) {
	return HostByName(name)
}
