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

// HostByName looks name up with the system's resolver (Go's net
// package: the hosts file, then DNS), as Exim's gethostbyname does, with
// IPv4 addresses first.
func HostByName(name string) ([]netip.Addr, error) {
	ips, err := net.DefaultResolver.LookupNetIP(context.Background(), "ip", name)
	if err != nil {
		var de *net.DNSError
		if errors.As(err, &de) && de.IsNotFound {
			return nil, ErrNoSuchDomain
		}
		return nil, err
	}
	sort.SliceStable(ips, func(i, j int) bool { return ips[i].Is4() && !ips[j].Is4() })
	return ips, nil
}
