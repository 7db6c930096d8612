package dns

import (
	"context"
	"net/netip"
	"strings"

	mdns "github.com/miekg/dns"
)

// Typed helpers: each does one Lookup and converts the records. The
// *Answer is returned as well, for its Status, AD bit and TTL.

// LookupA returns the IPv4 addresses of name.
func (r *Resolver) LookupA(ctx context.Context, name string, o Options) ([]netip.Addr, *Answer) {
	a := r.Lookup(ctx, name, mdns.TypeA, o)
	var out []netip.Addr
	for _, rr := range a.Records {
		if ip, ok := netip.AddrFromSlice(rr.(*mdns.A).A.To4()); ok {
			out = append(out, ip)
		}
	}
	return out, a
}

// LookupAAAA returns the IPv6 addresses of name.
func (r *Resolver) LookupAAAA(ctx context.Context, name string, o Options) ([]netip.Addr, *Answer) {
	a := r.Lookup(ctx, name, mdns.TypeAAAA, o)
	var out []netip.Addr
	for _, rr := range a.Records {
		if ip, ok := netip.AddrFromSlice(rr.(*mdns.AAAA).AAAA.To16()); ok {
			out = append(out, ip)
		}
	}
	return out, a
}

// MX is one mail exchanger.
type MX struct {
	Preference uint16
	Host       string // without the trailing dot
}

// LookupMX returns the MX records of name, in the server's order.
func (r *Resolver) LookupMX(ctx context.Context, name string, o Options) ([]MX, *Answer) {
	a := r.Lookup(ctx, name, mdns.TypeMX, o)
	var out []MX
	for _, rr := range a.Records {
		mx := rr.(*mdns.MX)
		out = append(out, MX{mx.Preference, trimDot(mx.Mx)})
	}
	return out, a
}

// SRV is one service record.
type SRV struct {
	Priority, Weight, Port uint16
	Target                 string // without the trailing dot
}

// LookupSRV returns the SRV records of name.
func (r *Resolver) LookupSRV(ctx context.Context, name string, o Options) ([]SRV, *Answer) {
	a := r.Lookup(ctx, name, mdns.TypeSRV, o)
	var out []SRV
	for _, rr := range a.Records {
		s := rr.(*mdns.SRV)
		out = append(out, SRV{s.Priority, s.Weight, s.Port, trimDot(s.Target)})
	}
	return out, a
}

// LookupTXT returns the TXT records of name, each as its character-strings.
func (r *Resolver) LookupTXT(ctx context.Context, name string, o Options) ([][]string, *Answer) {
	a := r.Lookup(ctx, name, mdns.TypeTXT, o)
	var out [][]string
	for _, rr := range a.Records {
		out = append(out, rr.(*mdns.TXT).Txt)
	}
	return out, a
}

// LookupNames returns the target names of NS, PTR or CNAME records (qtype
// mdns.TypeNS, TypePTR or TypeCNAME) at name.
func (r *Resolver) LookupNames(ctx context.Context, name string, qtype uint16, o Options) ([]string, *Answer) {
	a := r.Lookup(ctx, name, qtype, o)
	var out []string
	for _, rr := range a.Records {
		switch v := rr.(type) {
		case *mdns.NS:
			out = append(out, trimDot(v.Ns))
		case *mdns.PTR:
			out = append(out, trimDot(v.Ptr))
		case *mdns.CNAME:
			out = append(out, trimDot(v.Target))
		}
	}
	return out, a
}

// LookupSOA returns the SOA records of name (normally one).
func (r *Resolver) LookupSOA(ctx context.Context, name string, o Options) ([]*mdns.SOA, *Answer) {
	a := r.Lookup(ctx, name, mdns.TypeSOA, o)
	var out []*mdns.SOA
	for _, rr := range a.Records {
		out = append(out, rr.(*mdns.SOA))
	}
	return out, a
}

// LookupTLSA returns the TLSA records of name (for DANE).
func (r *Resolver) LookupTLSA(ctx context.Context, name string, o Options) ([]*mdns.TLSA, *Answer) {
	a := r.Lookup(ctx, name, mdns.TypeTLSA, o)
	var out []*mdns.TLSA
	for _, rr := range a.Records {
		out = append(out, rr.(*mdns.TLSA))
	}
	return out, a
}

// ReverseName returns the in-addr.arpa or ip6.arpa name for a PTR query
// (without a trailing dot). IPv4-mapped IPv6 addresses use in-addr.arpa.
func ReverseName(ip netip.Addr) string {
	r, err := mdns.ReverseAddr(ip.Unmap().String())
	if err != nil {
		return ""
	}
	return trimDot(r)
}

func trimDot(s string) string { return strings.TrimSuffix(s, ".") }
