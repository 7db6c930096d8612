package dnsbl

import (
	"net/netip"
	"strings"
)

// restriction is the "=ips" part of a dnslists item: which returned
// addresses count. Exim specification chapter "Access control lists",
// sections "Additional matching conditions for DNS lists", "Negated DNS
// matching conditions" and "Handling multiple DNS records from a DNS
// list".
type restriction struct {
	text   string // as written, without a leading "!"
	negate bool   // "!=" ...
	all    bool   // "==" or "=&": every address must match
	bitand bool   // "&": masks instead of equality
	ips    []netip.Addr
}

// parseRestriction parses "[!]=ips", "[!]&ips", "[!]==ips", "[!]=&ips".
func parseRestriction(s string) *restriction {
	r := &restriction{}
	if strings.HasPrefix(s, "!") {
		r.negate = true
		s = s[1:]
	}
	r.text = s
	switch {
	case strings.HasPrefix(s, "=="):
		r.all, s = true, s[2:]
	case strings.HasPrefix(s, "=&"):
		r.all, r.bitand, s = true, true, s[2:]
	case strings.HasPrefix(s, "&"):
		r.bitand, s = true, s[1:]
	default:
		s = strings.TrimPrefix(s, "=")
	}
	for _, f := range strings.Split(s, ",") {
		if ip, err := netip.ParseAddr(strings.TrimSpace(f)); err == nil && ip.Is4() {
			r.ips = append(r.ips, ip)
		}
	}
	return r
}

// matchOne reports whether one returned address matches the list.
func (r *restriction) matchOne(a netip.Addr) bool {
	av := a.As4()
	for _, ip := range r.ips {
		iv := ip.As4()
		if r.bitand {
			if av[0]&iv[0] == iv[0] && av[1]&iv[1] == iv[1] && av[2]&iv[2] == iv[2] && av[3]&iv[3] == iv[3] {
				return true
			}
		} else if a == ip {
			return true
		}
	}
	return false
}

// reject returns why the addresses do not satisfy the restriction (the
// second line of Exim's commentary), or "" when they do.
func (r *restriction) reject(addrs []netip.Addr) string {
	anyMatch, allMatch := false, true
	for _, a := range addrs {
		if r.matchOne(a) {
			anyMatch = true
		} else {
			allMatch = false
		}
	}
	switch {
	case !r.negate && !r.all && !anyMatch:
		return "there was no match for " + r.text
	case !r.negate && r.all && !allMatch:
		return "there was an IP address that did not match for " + r.text
	case r.negate && !r.all && anyMatch:
		return "there was an exclude match for " + r.text
	case r.negate && r.all && allMatch:
		return "there were no IP addresses that did not match for " + r.text
	}
	return ""
}
