package router

// The ipliteral router: domains that are IP literals ("[192.0.2.1]").
// Exim specification chapter "The ipliteral router".

import (
	"net/netip"
	"strings"
)

type ipliteralDriver struct{}

func (ipliteralDriver) route(c *call) Result {
	d := c.addr.Domain
	c.debugf("%s router called for %s: domain = %s", c.r.Name, c.addr.Address, d)
	if !strings.HasPrefix(d, "[") || !strings.HasSuffix(d, "]") {
		return Result{Status: Decline}
	}
	lit := d[1 : len(d)-1]
	if len(lit) > 5 && strings.EqualFold(lit[:5], "ipv6:") {
		lit = lit[5:]
	}
	ip, err := netip.ParseAddr(lit)
	if err != nil {
		return Result{Status: Decline}
	}
	hosts := []Host{{Name: d, Addr: ip.String(), MX: -1}}
	hosts, r := c.filterHosts(hosts)
	if r != nil {
		return *r
	}
	if len(hosts) == 0 {
		return Result{Status: Decline}
	}
	hosts, r = c.applySelf(hosts, "remote host address is the local host")
	if r != nil {
		return *r
	}
	t, r := c.transport()
	if r != nil {
		return *r
	}
	return Result{Status: Accept, Transport: t, Hosts: hosts}
}
