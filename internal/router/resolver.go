package router

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sort"
)

// MX is one MX record.
type MX struct {
	Host string
	Pref int
}

// SRV is one SRV record.
type SRV struct {
	Target           string
	Port             int
	Priority, Weight int
}

// Resolver answers the DNS questions routers ask. It is the seam to the
// dns package: tests pass a fake, the daemon a resolver whose server
// address is configurable.
//
// Every method returns ErrNoSuchDomain when the name does not exist,
// ErrNoData when it exists without records of that type, and any other
// error for a temporary failure (which defers the address).
type Resolver interface {
	// MX returns the MX records of name, in any order.
	MX(name string) ([]MX, error)
	// SRV returns the SRV records of name ("_smtp._tcp.domain").
	SRV(name string) ([]SRV, error)
	// Addrs returns the A and AAAA records of name.
	Addrs(name string) ([]netip.Addr, error)
	// HostByName resolves a host name as gethostbyname would (the hosts
	// file first), for the "byname" manualroute option.
	HostByName(name string) ([]netip.Addr, error)
}

// Errors a Resolver returns for permanent negative answers.
var (
	ErrNoSuchDomain = errors.New("host not found")
	ErrNoData       = errors.New("no data")
)

// SystemResolver resolves with Go's net package (the system's resolver
// configuration and hosts file).
type SystemResolver struct{}

func dnsErr(err error) error {
	var de *net.DNSError
	if errors.As(err, &de) {
		if de.IsNotFound {
			return ErrNoSuchDomain
		}
	}
	return err
}

// MX implements Resolver.
func (SystemResolver) MX(name string) ([]MX, error) {
	rs, err := net.DefaultResolver.LookupMX(context.Background(), name)
	if err != nil {
		return nil, dnsErr(err)
	}
	out := make([]MX, 0, len(rs))
	for _, r := range rs {
		out = append(out, MX{Host: trimDot(r.Host), Pref: int(r.Pref)})
	}
	return out, nil
}

// SRV implements Resolver.
func (SystemResolver) SRV(name string) ([]SRV, error) {
	_, rs, err := net.DefaultResolver.LookupSRV(context.Background(), "", "", name)
	if err != nil {
		return nil, dnsErr(err)
	}
	out := make([]SRV, 0, len(rs))
	for _, r := range rs {
		out = append(out, SRV{Target: trimDot(r.Target), Port: int(r.Port), Priority: int(r.Priority), Weight: int(r.Weight)})
	}
	return out, nil
}

// Addrs implements Resolver.
func (SystemResolver) Addrs(name string) ([]netip.Addr, error) {
	ips, err := net.DefaultResolver.LookupNetIP(context.Background(), "ip", name)
	if err != nil {
		return nil, dnsErr(err)
	}
	return ips, nil
}

// HostByName implements Resolver.
func (r SystemResolver) HostByName(name string) ([]netip.Addr, error) {
	ips, err := r.Addrs(name)
	sort.SliceStable(ips, func(i, j int) bool { return ips[i].Is4() && !ips[j].Is4() })
	return ips, err
}

func trimDot(s string) string {
	if len(s) > 1 && s[len(s)-1] == '.' {
		return s[:len(s)-1]
	}
	return s
}
