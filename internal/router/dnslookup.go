package router

// The dnslookup router: MX records, then address records. Exim
// specification chapter "The dnslookup router".

import (
	"errors"
	"net/netip"
	"strings"

	"github.com/exigo-mta/exigo/internal/lists"
)

type dnsDriver struct{}

func (dnsDriver) route(c *call) Result {
	o, a := c.r.opts, c.addr
	c.debugf("%s router called for %s\n  domain = %s", c.r.Name, a.Address, a.Domain)
	res := c.s.env.Resolver
	if res == nil {
		return deferf("no DNS resolver available")
	}
	domain := a.Domain
	if strings.HasPrefix(domain, "[") {
		return Result{Status: Decline}
	}
	if o.Bool("qualify_single") && !strings.Contains(domain, ".") {
		c.debugf("qualify_single: the resolver qualifies %s", domain)
	}
	candidates := []string{domain}
	if o.IsSet("widen_domains") && !strings.HasSuffix(domain, ".") {
		w, err := c.expandOpt("widen_domains")
		if err != nil {
			return deferf("%v", err)
		}
		sep, rest := lists.Separator(w, ':')
		for _, suf := range lists.Split(rest, sep) {
			candidates = append(candidates, domain+"."+suf)
		}
	}
	var hosts []Host
	var lastErr error
	for _, d := range candidates {
		h, err := c.dnsHosts(d)
		if err == nil && len(h) > 0 {
			hosts = h
			if d != domain {
				c.debugf("domain changed to %s", d)
			}
			break
		}
		if r, ok := err.(resultErr); ok {
			return r.res
		}
		if err != nil && !isNotFound(err) {
			lastErr = err
			break
		}
	}
	if hosts == nil {
		if lastErr != nil {
			if o.Bool("pass_on_timeout") {
				c.debugf("%s router timed out and pass_on_timeout set", c.r.Name)
				return Result{Status: Pass}
			}
			return deferf("host lookup did not complete")
		}
		return Result{Status: Decline}
	}
	hosts, r := c.filterHosts(hosts)
	if r != nil {
		return *r
	}
	if len(hosts) == 0 {
		return Result{Status: Decline}
	}
	hosts, r = c.mxSelf(hosts)
	if r != nil {
		return *r
	}
	t, r := c.transport()
	if r != nil {
		return *r
	}
	return Result{Status: Accept, Transport: t, Hosts: hosts}
}

// resultErr carries a final result out of dnsHosts.
type resultErr struct{ res Result }

func (resultErr) Error() string { return "result" }

// dnsHosts finds the hosts for domain: SRV records with check_srv, then MX
// records, then (unless mx_domains requires an MX) the domain's own
// addresses.
func (c *call) dnsHosts(domain string) ([]Host, error) {
	o := c.r.opts
	res := c.s.env.Resolver
	if o.IsSet("check_srv") {
		svc, err := c.expandOpt("check_srv")
		if err == nil && svc != "" {
			srvs, err := res.SRV("_" + svc + "._tcp." + domain)
			if err != nil && !isNotFound(err) {
				return nil, err
			}
			if len(srvs) == 1 && srvs[0].Target == "." {
				return nil, resultErr{Result{Status: Fail, Message: "an SRV record indicated no SMTP service"}}
			}
			if len(srvs) > 0 {
				var out []Host
				for _, s := range srvs {
					ips, err := res.Addrs(s.Target)
					if err != nil && !isNotFound(err) {
						return nil, err
					}
					for _, ip := range ips {
						out = append(out, Host{Name: s.Target, Addr: ip.String(), Port: s.Port, MX: s.Priority})
					}
				}
				return out, nil
			}
		}
	}
	sec, _ := res.(SecureResolver)
	mxSecure := false
	var mxs []MX
	var err error
	if sec != nil {
		mxs, mxSecure, err = sec.MXSecure(domain)
	} else {
		mxs, err = res.MX(domain)
	}
	switch {
	case errors.Is(err, ErrNoSuchDomain):
		return nil, err
	case err != nil && !errors.Is(err, ErrNoData):
		return nil, err
	}
	if len(mxs) == 1 && (mxs[0].Host == "" || mxs[0].Host == ".") {
		return nil, resultErr{Result{Status: Fail, Message: "all relevant MX records point to non-existent hosts"}}
	}
	if len(mxs) > 0 {
		sortMX(mxs)
		var out []Host
		for _, mx := range mxs {
			ips, secure, err := addrsSecure(res, sec, mx.Host)
			if err != nil && !isNotFound(err) {
				return nil, err
			}
			for _, ip := range ips {
				out = append(out, Host{Name: mx.Host, Addr: ip.String(), MX: mx.Pref, DNSSEC: mxSecure && secure})
			}
		}
		if len(out) == 0 {
			return nil, resultErr{Result{Status: Fail, Message: "all relevant MX records point to non-existent hosts"}}
		}
		return out, nil
	}
	if o.IsSet("mx_domains") {
		if m, err := lists.MatchDomain(c.listEnv(), o.String("mx_domains"), domain); err == nil && m.Matched {
			c.debugf("%s has no MX records and is in mx_domains", domain)
			return nil, ErrNoData
		}
	}
	ips, secure, err := addrsSecure(res, sec, domain)
	if err != nil {
		return nil, err
	}
	out := make([]Host, 0, len(ips))
	for _, ip := range ips {
		out = append(out, Host{Name: domain, Addr: ip.String(), MX: -1, DNSSEC: secure})
	}
	return out, nil
}

// addrsSecure looks up the addresses of name, and whether the answers
// were DNSSEC-authenticated when the resolver can tell.
func addrsSecure(res Resolver, sec SecureResolver, name string) ([]netip.Addr, bool, error) {
	if sec != nil {
		return sec.AddrsSecure(name)
	}
	ips, err := res.Addrs(name)
	return ips, false, err
}

// mxSelf handles MX lists that include the local host: MX records at or
// above the local host's preference are dropped; if the local host is the
// lowest, the self option decides (spec "The dnslookup router").
func (c *call) mxSelf(hosts []Host) ([]Host, *Result) {
	local := -1
	for i, h := range hosts {
		if c.isLocalHost(h) {
			local = i
			break
		}
	}
	if local < 0 {
		return hosts, nil
	}
	localPref := hosts[local].MX
	if localPref < 0 {
		// Address records, no MX: the hosts from the local one on go.
		return c.applySelf(hosts, "remote host address is the local host")
	}
	kept := hosts[:0:0]
	for _, h := range hosts {
		if h.MX >= 0 && h.MX < localPref {
			kept = append(kept, h)
		}
	}
	if len(kept) > 0 {
		return kept, nil
	}
	// The local host is among the lowest: the self option decides, even
	// when an equal preference put another host before it.
	first := append([]Host{hosts[local]}, hosts[:local]...)
	first = append(first, hosts[local+1:]...)
	return c.applySelf(first, "lowest numbered MX record points to local host")
}
