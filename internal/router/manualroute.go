package router

// The manualroute router. Exim specification chapter "The manualroute
// router".

import (
	"strings"

	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/lists"
)

type manualDriver struct{}

// splitRoute splits a route item into its domain pattern (route_list only),
// host list and options. The host list may be quoted.
func splitRoute(item string, withPattern bool) (pattern, hosts, options string) {
	s := strings.TrimSpace(item)
	if withPattern {
		i := strings.IndexAny(s, " \t")
		if i < 0 {
			return s, "", ""
		}
		pattern, s = s[:i], strings.TrimSpace(s[i:])
	}
	if strings.HasPrefix(s, "\"") {
		if j := closingQuote(s); j > 0 {
			return pattern, unquote(s[1:j]), strings.TrimSpace(s[j+1:])
		}
	}
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		return pattern, s[:i], strings.TrimSpace(s[i:])
	}
	return pattern, s, ""
}

func unquote(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func (manualDriver) route(c *call) Result {
	o, a := c.r.opts, c.addr
	c.debugf("%s router called for %s\n  domain = %s", c.r.Name, a.Address, a.Domain)
	var hostList, options string
	found := false
	if o.IsSet("route_data") {
		v, err := c.expandOpt("route_data")
		if expand.IsForced(err) {
			return Result{Status: Decline}
		}
		if err != nil {
			return deferf("%v", err)
		}
		v = strings.TrimSpace(v)
		if v == "" {
			return Result{Status: Decline}
		}
		_, hostList, options = splitRoute(v, false)
		found = true
	} else {
		for _, item := range lists.Split(o.String("route_list"), ';') {
			c.debugf("route_item = %s", item)
			pat, h, opts := splitRoute(item, true)
			m, err := lists.MatchDomain(c.listEnv(), pat, a.Domain)
			if err != nil {
				return deferf("%v", err)
			}
			if m.Matched {
				hostList, options, found = h, opts, true
				c.v.m["domain_data"] = m.Data
				break
			}
		}
	}
	if !found {
		return Result{Status: Decline}
	}
	c.debugf("original list of hosts = '%s' options = '%s'", hostList, options)
	h, err := c.expand(hostList)
	if expand.IsForced(err) {
		return Result{Status: Decline}
	}
	if err != nil {
		return deferf("failed to expand host list %s in %s router: %s", hostList, c.r.Name, err)
	}
	hostList = h
	c.debugf("expanded list of hosts = '%s' options = '%s'", hostList, options)
	how := lookupDefault
	rnd := o.Bool("hosts_randomize")
	transportName := ""
	rest := options
	for {
		rest = strings.TrimLeft(rest, " \t\n")
		if rest == "" {
			break
		}
		opt := rest
		if i := strings.IndexAny(rest, " \t\n"); i >= 0 {
			opt = rest[:i]
		}
		switch opt {
		case "byname":
			how = lookupByName
		case "bydns":
			how = lookupByDNS
		case "randomize":
			rnd = true
		case "no_randomize":
			rnd = false
		case "ipv4_prefer", "ipv6_prefer", "ipv4_only", "ipv6_only":
		default:
			if c.s.cfg.Transport(opt) == nil {
				// The rest of the options is named (observed with
				// Exim 4.96).
				bad := strings.TrimSpace(rest)
				c.s.logf("Error in %s router: unknown routing option or transport name \"%s\"", c.r.Name, bad)
				return deferf("error in router: unknown routing option or transport name \"%s\"", bad)
			}
			transportName = opt
		}
		rest = rest[len(opt):]
	}
	var t string
	if transportName != "" {
		t = transportName
	} else {
		var r *Result
		if t, r = c.transport(); r != nil {
			return *r
		}
	}
	if strings.TrimSpace(hostList) == "" {
		// Local transports need no hosts.
		return Result{Status: Accept, Transport: t}
	}
	if tr := c.s.cfg.Transport(t); tr != nil && tr.Driver != "smtp" {
		// A local transport gets the host list as one text, in $host:
		// nothing is looked up, so the self option does not apply
		// (spec chapter "The manualroute router").
		return Result{Status: Accept, Transport: t, Hosts: []Host{{Name: hostList, MX: -1}}}
	}
	specs, err := parseHostList(hostList)
	if err != nil {
		return deferf("%v", err)
	}
	hosts, err := c.resolveHosts(specs, how)
	if err != nil {
		return deferf("host lookup for %s did not complete", hostList)
	}
	if rnd {
		randomize(hosts)
	}
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
	return Result{Status: Accept, Transport: t, Hosts: hosts}
}
