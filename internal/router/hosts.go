package router

// Host lists of the remote routers: parsing "host::port" and "host/MX",
// finding addresses, the self option, ignore_target_hosts and
// translate_ip_address. Exim specification chapters "The manualroute
// router" (sections "Format of the list of hosts", "How the list of hosts
// is used") and "Generic options for routers" (self, ignore_target_hosts,
// translate_ip_address).

import (
	"errors"
	"fmt"
	"math/rand"
	"net/netip"
	"strconv"
	"strings"

	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/lists"
	"github.com/exigo-mta/exigo/internal/localhost"
)

// hostSpec is one entry of a host list before resolution.
type hostSpec struct {
	name string
	port int
	mx   bool
}

// parseHostList splits a colon-separated host list: "name", "name::port",
// "name/MX", "[ip]:port" and IP addresses (IPv6 with doubled colons or a
// "<;" list).
func parseHostList(list string) ([]hostSpec, error) {
	sep, rest := lists.Separator(list, ':')
	var out []hostSpec
	for _, item := range lists.Split(rest, sep) {
		h := hostSpec{name: item}
		if strings.HasSuffix(strings.ToLower(h.name), "/mx") {
			h.name, h.mx = h.name[:len(h.name)-3], true
		}
		if strings.HasPrefix(h.name, "[") {
			if i := strings.IndexByte(h.name, ']'); i > 0 {
				if p := h.name[i+1:]; strings.HasPrefix(p, ":") {
					n, err := strconv.Atoi(p[1:])
					if err != nil {
						return nil, fmt.Errorf("invalid port in host item %s", item)
					}
					h.port = n
				}
				h.name = h.name[1:i]
			}
		} else if i := strings.LastIndexByte(h.name, ':'); i > 0 && sep != ':' {
			// "<;" lists keep single colons for ports after a name
			if _, err := netip.ParseAddr(h.name); err != nil {
				n, err := strconv.Atoi(h.name[i+1:])
				if err == nil {
					h.name, h.port = h.name[:i], n
				}
			}
		} else if i := strings.LastIndexByte(h.name, ':'); i > 0 && sep == ':' {
			// after Split, "host::port" arrives as "host:port"
			if _, err := netip.ParseAddr(h.name); err != nil {
				n, err := strconv.Atoi(h.name[i+1:])
				if err != nil {
					return nil, fmt.Errorf("invalid port in host item %s", item)
				}
				h.name, h.port = h.name[:i], n
			}
		}
		if h.name == "" {
			continue
		}
		out = append(out, h)
	}
	return out, nil
}

// lookupKind says how host names are looked up.
type lookupKind int

const (
	lookupDefault lookupKind = iota // DNS, then the system resolver
	lookupByName
	lookupByDNS
)

// resolveHosts finds the addresses of the hosts in specs. A host that is
// not found is dropped when others remain; errors are temporary.
func (c *call) resolveHosts(specs []hostSpec, how lookupKind) ([]Host, error) {
	var out []Host
	res := c.s.env.Resolver
	for _, h := range specs {
		if ip, err := netip.ParseAddr(h.name); err == nil {
			c.traceByName(h.name, []netip.Addr{ip})
			out = append(out, Host{Name: ip.String(), Addr: ip.String(), Port: h.port, MX: -1})
			continue
		}
		if res == nil {
			return nil, fmt.Errorf("no resolver for %s", h.name)
		}
		if h.mx {
			mxs, err := res.MX(h.name)
			if err != nil && !isNotFound(err) {
				return nil, err
			}
			sortMX(mxs)
			for _, mx := range mxs {
				ips, err := res.Addrs(mx.Host)
				if err != nil && !isNotFound(err) {
					return nil, err
				}
				for _, ip := range ips {
					out = append(out, Host{Name: mx.Host, Addr: ip.String(), Port: h.port, MX: mx.Pref})
				}
			}
			continue
		}
		c.debugf("finding IP address for %s", h.name)
		var ips []netip.Addr
		var err error
		switch how {
		case lookupByName:
			ips, err = res.HostByName(h.name)
			if err == nil {
				c.traceByName(h.name, ips)
			}
		case lookupByDNS:
			ips, err = res.Addrs(h.name)
		default:
			ips, err = res.Addrs(h.name)
			if errors.Is(err, ErrNoSuchDomain) || len(ips) == 0 {
				ips, err = res.HostByName(h.name)
			}
		}
		if err != nil && !isNotFound(err) {
			return nil, err
		}
		for _, ip := range ips {
			out = append(out, Host{Name: h.name, Addr: ip.Unmap().String(), Port: h.port, MX: -1})
		}
	}
	return out, nil
}

// traceByName writes the -bh commentary of a host looked up through the
// system resolver (an IP address is "looked up" that way too).
func (c *call) traceByName(name string, ips []netip.Addr) {
	if len(ips) == 0 || c.s.env.Trace == nil {
		return
	}
	for _, ip := range ips {
		if c.isLocal(ip.Unmap().String()) {
			c.s.tracef("local host found for non-MX address")
			break
		}
	}
	c.s.tracef("fully qualified name = %s", name)
	c.s.tracef("gethostbyname2 looked up these IP addresses:")
	for _, ip := range ips {
		c.s.tracef("  name=%s address=%s", name, ip.Unmap())
	}
}

func isNotFound(err error) bool {
	return errors.Is(err, ErrNoSuchDomain) || errors.Is(err, ErrNoData)
}

func sortMX(mxs []MX) {
	for i := 1; i < len(mxs); i++ {
		for j := i; j > 0 && mxs[j].Pref < mxs[j-1].Pref; j-- {
			mxs[j], mxs[j-1] = mxs[j-1], mxs[j]
		}
	}
}

// randomize shuffles hosts (hosts_randomize, the randomize route option).
func randomize(h []Host) {
	rand.Shuffle(len(h), func(i, j int) { h[i], h[j] = h[j], h[i] })
}

// isLocal reports whether ip is one of the local host's addresses
// (package localhost: local_interfaces and extra_local_interfaces).
func (c *call) isLocal(addr string) bool {
	return localhost.Contains(c.s.local, addr)
}

// isLocalHost reports whether h is the local host: one of its
// addresses, or a name that hosts_treat_as_local matches (spec chapter
// "Starting the daemon and the use of network interfaces", section
// "Recognizing the local host").
func (c *call) isLocalHost(h Host) bool {
	if c.isLocal(h.Addr) {
		return true
	}
	list := c.s.cfg.Main.String("hosts_treat_as_local")
	if list == "" || h.Name == "" {
		return false
	}
	m, err := lists.MatchDomain(c.listEnv(), list, h.Name)
	return err == nil && m.Matched
}

// filterHosts applies translate_ip_address and ignore_target_hosts.
func (c *call) filterHosts(hosts []Host) ([]Host, *Result) {
	o := c.r.opts
	if o.IsSet("translate_ip_address") {
		for i := range hosts {
			c.v.m["host"], c.v.m["host_address"] = hosts[i].Name, hosts[i].Addr
			v, err := c.expand(o.String("translate_ip_address"))
			if err == nil && v != "" {
				if ip, perr := netip.ParseAddr(v); perr == nil {
					hosts[i].Addr = ip.String()
				}
			} else if err != nil && !expand.IsForced(err) {
				r := deferf("failed to expand \"%s\" in %s router: %s", o.String("translate_ip_address"), c.r.Name, err)
				return nil, &r
			}
		}
		delete(c.v.m, "host")
		delete(c.v.m, "host_address")
	}
	if o.IsSet("ignore_target_hosts") {
		list, err := c.expandOpt("ignore_target_hosts")
		if err != nil && !expand.IsForced(err) {
			r := deferf("%v", err)
			return nil, &r
		}
		if err == nil {
			kept := hosts[:0]
			for _, h := range hosts {
				m, merr := lists.MatchIP(c.listEnv(), list, h.Addr)
				if merr == nil && m.Matched {
					c.debugf("ignored host %s [%s]", h.Name, h.Addr)
					continue
				}
				kept = append(kept, h)
			}
			hosts = kept
		}
	}
	return hosts, nil
}

// applySelf handles a host list that includes the local host: hosts from
// the first local one on are dropped; when that is the first host the
// router's self option decides (spec "Generic options for routers",
// self). It returns the hosts to use, or a final result. Only the
// default, freeze, logs the incident (observed with Exim 4.96): with the
// domain in a delivery, and with the address in an address test or a
// verification, as in "remote host address is the local host:
// x.example (while routing <a@x.example>)".
func (c *call) applySelf(hosts []Host, what string) ([]Host, *Result) {
	for i, h := range hosts {
		if !c.isLocalHost(h) {
			continue
		}
		if i > 0 {
			c.debugf("local host found for non-MX address: removing %s and following", h.Name)
			return hosts[:i], nil
		}
		self := strings.TrimSpace(c.r.opts.String("self"))
		c.debugf("%s: %s", what, self)
		switch {
		case self == "send":
			c.debugf("remote host address is the local host: %s: configured to try delivery anyway", c.addr.Domain)
			return hosts, nil
		case self == "pass":
			r := Result{Status: Pass, Message: what}
			return nil, &r
		case self == "fail":
			r := Result{Status: Fail, Message: what}
			return nil, &r
		case strings.HasPrefix(self, "reroute:"):
			dom := strings.TrimSpace(strings.TrimPrefix(self, "reroute:"))
			dom = strings.TrimSpace(strings.TrimPrefix(dom, "rewrite:"))
			ch := c.addr.child(c.addr.LocalPart + "@" + dom)
			r := Result{Status: Redirect, Children: []*Address{ch}}
			return nil, &r
		case self == "defer":
			r := Result{Status: Defer, Message: what}
			return nil, &r
		default: // freeze
			c.logSelf(what)
			r := Result{Status: Defer, Message: what, Freeze: true}
			return nil, &r
		}
	}
	return hosts, nil
}

// logSelf writes the main log line of self = freeze.
func (c *call) logSelf(what string) {
	a := c.addr
	switch {
	case c.s.env.Message != nil:
		c.s.logf("%s: %s", what, a.Domain)
	case c.mode.Verify && c.s.env.Client != "":
		c.s.logf("%s: %s (while verifying <%s> from %s)", what, a.Domain, a.Address, c.s.env.Client)
	default:
		c.s.logf("%s: %s (while routing <%s>)", what, a.Domain, a.Address)
	}
}
