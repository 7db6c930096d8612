// Package dnsbl performs Exim's dnslists ACL condition: DNS black list
// lookups keyed on inverted IP addresses or on names, with result
// restrictions (=, &, ==, =&, and their negations), combined lists
// (txt-domain,lookup-domain), explicit key sublists, the +include_unknown,
// +exclude_unknown and +defer_unknown items, and a per-session cache.
//
// Exim specification: chapter "Access control lists", sections "Using DNS
// lists" to "DNS lists and IPv6".
package dnsbl

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"time"

	"github.com/exigo-mta/exigo/internal/dns"
	"github.com/exigo-mta/exigo/internal/lists"
	mdns "github.com/miekg/dns"
)

// ErrDefer is returned when a lookup failed temporarily under
// +defer_unknown: the condition defers.
var ErrDefer = errors.New("DNS list lookup deferred")

// Resolver answers the DNS questions (implemented by *dns.Resolver).
type Resolver interface {
	Lookup(ctx context.Context, name string, qtype uint16, o dns.Options) *dns.Answer
}

// negativeTTL is how long a failed lookup is cached (Exim's default when
// the answer carries no SOA).
const negativeTTL = 3600

// Env is what one check needs from its session.
type Env struct {
	Resolver Resolver
	// Cache keeps answers for the session; nil for none.
	Cache *Cache
	// HostAddress is $sender_host_address, the default key.
	HostAddress string
	// Trace receives -bh commentary lines (without ">>> "); nil for none.
	Trace func(format string, args ...any)
	// Log writes a line to the main log; nil for none.
	Log func(text string)
}

// Match is what a successful check sets: $dnslist_domain,
// $dnslist_matched, $dnslist_value and $dnslist_text. Unknown is true
// when the match came from +include_unknown; Exim then sets only the
// domain and the key.
type Match struct {
	Domain, Matched, Value, Text string
	Unknown                      bool
}

// Cache holds DNS answers for a session, each until its TTL runs out
// (Exim caches dnslists lookups for the duration of the SMTP session,
// limited by the TTL).
type Cache struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	m   map[cacheKey]cacheEntry
}

type cacheKey struct {
	name  string
	qtype uint16
}

type cacheEntry struct {
	ans     *dns.Answer
	expires time.Time
}

func (c *Cache) now() time.Time {
	if c != nil && c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (e *Env) trace(format string, args ...any) {
	if e.Trace != nil {
		e.Trace(format, args...)
	}
}

func (e *Env) log(text string) {
	if e.Log != nil {
		e.Log(text)
	}
}

// lookup asks for name's records of qtype through the cache, with
// Exim's commentary when traced is set.
func (e *Env) lookup(ctx context.Context, name string, qtype uint16, traced bool) *dns.Answer {
	k := cacheKey{strings.ToLower(name), qtype}
	c := e.Cache
	now := c.now()
	if c != nil {
		if ce, ok := c.m[k]; ok && now.Before(ce.expires) {
			if traced {
				e.trace("dnslists: using result of previous lookup")
			}
			return ce.ans
		}
	}
	if traced {
		e.trace("new DNS lookup for %s", name)
	}
	ans := e.Resolver.Lookup(ctx, name, qtype, dns.Options{})
	ttl := uint32(negativeTTL)
	if ans.Status == dns.Succeed {
		ttl = ans.TTL
	}
	if traced && ans.Status == dns.Again {
		e.trace("%s in dns_again_means_nonexist? no (option unset)", name)
	}
	if c != nil {
		if c.m == nil {
			c.m = map[cacheKey]cacheEntry{}
		}
		c.m[k] = cacheEntry{ans, now.Add(time.Duration(ttl) * time.Second)}
	}
	if traced {
		e.trace("dnslists: wrote cache entry, ttl=%d", ttl)
	}
	return ans
}

// unknownMode is what a lookup that fails temporarily means.
type unknownMode int

const (
	excludeUnknown unknownMode = iota
	includeUnknown
	deferUnknown
)

// Check evaluates a dnslists condition's (expanded) list. It returns
// whether the condition is true and, when it is, the match; err is
// ErrDefer when a temporary failure must defer the condition.
func Check(ctx context.Context, e *Env, list string) (bool, Match, error) {
	mode := excludeUnknown
	sep, body := lists.Separator(list, ':')
	for {
		item, rest, ok := lists.Next(body, sep)
		if !ok {
			return false, Match{}, nil
		}
		body = rest
		e.trace("dnslists check: %s", item)
		switch item {
		case "+include_unknown":
			mode = includeUnknown
			continue
		case "+exclude_unknown":
			mode = excludeUnknown
			continue
		case "+defer_unknown":
			mode = deferUnknown
			continue
		}
		matched, m, err := e.checkItem(ctx, item, mode)
		if err != nil || matched {
			return matched, m, err
		}
	}
}

// itemSpec is one parsed dnslists item.
type itemSpec struct {
	txtDomain, lookupDomain string
	restrict                *restriction
	keys                    []string
}

// parseItem splits "domain[,domain][=|&...ips][/keys]".
func parseItem(item, host string) itemSpec {
	var s itemSpec
	spec, keys, hasKeys := strings.Cut(item, "/")
	if i := strings.IndexAny(spec, "!=&"); i >= 0 {
		s.restrict = parseRestriction(spec[i:])
		spec = spec[:i]
	}
	s.txtDomain, s.lookupDomain = spec, spec
	if a, b, ok := strings.Cut(spec, ","); ok {
		s.txtDomain, s.lookupDomain = a, b
	}
	if hasKeys {
		s.keys = lists.Split(keys, ':')
	} else if host != "" {
		s.keys = []string{host}
	}
	return s
}

// checkItem tries the keys of one item in order.
func (e *Env) checkItem(ctx context.Context, item string, mode unknownMode) (bool, Match, error) {
	s := parseItem(item, e.HostAddress)
	deferred := false
	for _, key := range s.keys {
		name := keyName(key)
		if name == "" {
			continue
		}
		res, m := e.checkKey(ctx, s, key, name, mode)
		switch res {
		case listed:
			return true, m, nil
		case unknown:
			deferred = true
		}
	}
	if deferred {
		return false, Match{}, ErrDefer
	}
	return false, Match{}, nil
}

type keyResult int

const (
	notListed keyResult = iota
	listed
	unknown
)

// checkKey looks one key up in one list.
func (e *Env) checkKey(ctx context.Context, s itemSpec, key, name string, mode unknownMode) (keyResult, Match) {
	lookupName := name + "." + s.lookupDomain
	ans := e.lookup(ctx, lookupName, mdns.TypeA, true)
	switch ans.Status {
	case dns.Succeed:
	case dns.Again, dns.Fail:
		switch mode {
		case includeUnknown:
			e.log("DNS list lookup defer (probably timeout) for " + lookupName + ": assumed in list")
			e.trace("=> that means %s is listed at %s", key, s.txtDomain)
			return listed, Match{Domain: s.txtDomain, Matched: key, Unknown: true}
		case deferUnknown:
			e.log("DNS list lookup defer (probably timeout) for " + lookupName + ": returned DEFER")
			return unknown, Match{}
		}
		e.log("DNS list lookup defer (probably timeout) for " + lookupName + ": assumed not in list")
		return notListed, Match{}
	default:
		e.trace("DNS lookup for %s failed", lookupName)
		e.trace("=> that means %s is not listed at %s", key, s.lookupDomain)
		return notListed, Match{}
	}
	e.trace("DNS lookup for %s succeeded (yielding %s)", lookupName, joinAddrs(allAddrs(ans)))
	addrs := e.addresses(ans, key, s.lookupDomain)
	if len(addrs) == 0 {
		return notListed, Match{}
	}
	if s.restrict != nil {
		if why := s.restrict.reject(addrs); why != "" {
			e.trace("=> but we are not accepting this block class because")
			e.trace("=> %s", why)
			return notListed, Match{}
		}
	}
	txtName := lookupName
	if s.txtDomain != s.lookupDomain {
		txtName = name + "." + s.txtDomain
		a2 := e.lookup(ctx, txtName, mdns.TypeA, true)
		if a2.Status != dns.Succeed {
			e.trace("DNS lookup for %s failed", txtName)
			e.trace("=> that means %s is not listed at %s", key, s.txtDomain)
			return notListed, Match{}
		}
		e.trace("DNS lookup for %s succeeded (yielding %s)", txtName, joinAddrs(allAddrs(a2)))
		addrs = e.addresses(a2, key, s.txtDomain)
		if len(addrs) == 0 {
			return notListed, Match{}
		}
	}
	e.trace("=> that means %s is listed at %s", key, s.txtDomain)
	m := Match{Domain: s.txtDomain, Matched: key, Value: joinAddrs(addrs)}
	if t := e.lookup(ctx, txtName, mdns.TypeTXT, false); t.Status == dns.Succeed && len(t.Records) > 0 {
		if txt, ok := t.Records[0].(*mdns.TXT); ok {
			m.Text = strings.Join(txt.Txt, "")
		}
	}
	return listed, m
}

// addresses returns the IPv4 addresses of an answer that are in
// 127.0.0.0/8, logging those that are not (Exim ignores them: section
// "Data returned by DNS lists").
func (e *Env) addresses(ans *dns.Answer, key, domain string) []netip.Addr {
	var out []netip.Addr
	for _, rr := range ans.Records {
		a, ok := rr.(*mdns.A)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(a.A.To4())
		if !ok {
			continue
		}
		if ip.As4()[0] != 127 {
			e.log("DNS list lookup for " + key + " at " + domain + " returned " + ip.String() + "; not in 127.0/8 and discarded")
			continue
		}
		out = append(out, ip)
	}
	return out
}

// allAddrs returns every IPv4 address of an answer.
func allAddrs(ans *dns.Answer) []netip.Addr {
	var out []netip.Addr
	for _, rr := range ans.Records {
		if a, ok := rr.(*mdns.A); ok {
			if ip, ok := netip.AddrFromSlice(a.A.To4()); ok {
				out = append(out, ip)
			}
		}
	}
	return out
}

func joinAddrs(addrs []netip.Addr) string {
	s := make([]string, len(addrs))
	for i, a := range addrs {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}

// keyName is the name to look up for a key: an IPv4 address inverted by
// octets, an IPv6 address inverted by nibbles (section "DNS lists and
// IPv6"), anything else as it is.
func keyName(key string) string {
	ip, err := netip.ParseAddr(key)
	if err != nil {
		return strings.TrimSuffix(key, ".")
	}
	return strings.TrimSuffix(dns.ReverseName(ip), map[bool]string{true: ".in-addr.arpa", false: ".ip6.arpa"}[ip.Unmap().Is4()])
}
