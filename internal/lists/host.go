package lists

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Host is the remote host being matched against a host list.
type Host struct {
	// IP is the host's address; the zero Addr means no remote host (a
	// local submission), which only an empty item or "*" matches.
	// IPv4-mapped IPv6 addresses are matched as IPv4.
	IP netip.Addr
	// Name and Aliases are the host's verified names, when known.
	Name    string
	Aliases []string
	// NameLookedUp is true once a reverse lookup was done (or must not
	// be done): an empty Name is then "no name could be found". MatchHost
	// sets it, and fills Name and Aliases, when a name is needed.
	NameLookedUp bool
}

// MatchHost matches a remote host against a host list (hosts= ACL
// condition and router and main options; Data is $host_data, set by
// lookup items only). Items: empty (no remote host), "*", IP addresses
// and CIDR networks, "@[]", "net-" and "netN-" lookups by address, lookups
// by host name and query-style lookups, "*suffix" and "^regex" on the host
// names, "@" and plain host names (forward lookups), "+name", "/file", and
// the +include_unknown, +ignore_unknown, +include_defer and +ignore_defer
// controls. A host name is found by reverse lookup the first time an item
// needs it, and stored in h. Exim specification chapter "Domain, host,
// address, and local part lists", sections "Host lists" to "Host list
// patterns for query-style lookups".
func MatchHost(env *Env, list string, h *Host) (Match, error) {
	m := &matcher{env: env, caseless: true}
	if h.IP.IsValid() {
		h.IP = h.IP.Unmap()
	}
	subject := h.IP.String()
	if !h.IP.IsValid() {
		subject = ""
	}
	r, err := m.walk(HostList, list, subject, subject+"/"+strings.ToLower(h.Name), func(pat string) (itemRes, error) {
		return m.hostItem(pat, h, false)
	}, 0)
	return finish(list, r, err)
}

// MatchIP matches an IP address (or "", no host) against a host list the
// way the match_ip expansion condition does: items that need a host name
// cannot match ("cannot match host name in match_ip list"), and single-key
// lookups without "net" are done as "net-" lookups. Specification chapter
// "String expansions", condition match_ip. An ip that is not an IP
// address is an error with Exim's text.
func MatchIP(env *Env, list, ip string) (Match, error) {
	h := &Host{NameLookedUp: true}
	if ip != "" {
		a, err := netip.ParseAddr(ip)
		if err != nil || a.Zone() != "" {
			return Match{}, fmt.Errorf("\"%s\" is not an IP address", ip)
		}
		h.IP = a.Unmap()
	}
	m := &matcher{env: env, caseless: true}
	r, err := m.walk(HostList, list, ip, h.IP.String(), func(pat string) (itemRes, error) {
		return m.hostItem(pat, h, true)
	}, 0)
	return finish(list, r, err)
}

// hostItem matches one host list item. ipOnly is match_ip mode.
func (m *matcher) hostItem(pat string, h *Host, ipOnly bool) (itemRes, error) {
	switch {
	case pat == "":
		return itemRes{ok: !h.IP.IsValid()}, nil
	case pat == "*":
		return itemRes{ok: true}, nil
	case !h.IP.IsValid():
		return itemRes{}, nil
	case pat == "@[]":
		return itemRes{ok: m.isInterface(h.IP)}, nil
	}
	if pfx, ok := parseIPItem(pat); ok {
		return itemRes{ok: pfx.Contains(h.IP)}, nil
	}
	if isLookupItem(pat) {
		return m.hostLookup(pat, h, ipOnly)
	}
	if ipOnly {
		return itemRes{unknown: "cannot match host name in match_ip list"}, nil
	}
	if strings.HasPrefix(pat, "*") || strings.HasPrefix(pat, "^") {
		names, r, err := m.hostNames(h)
		if err != nil || r.unknown != "" {
			return r, err
		}
		for _, n := range names {
			r, err := m.stringItem(pat, n, true, HostList)
			if err != nil || r.ok {
				r.data = ""
				return r, err
			}
		}
		return itemRes{}, nil
	}
	name := pat
	if pat == "@" {
		name = m.env.PrimaryHostname
	}
	return m.forward(name, h)
}

// forward matches a host name item by looking up its addresses.
func (m *matcher) forward(name string, h *Host) (itemRes, error) {
	var addrs []netip.Addr
	if m.env.Resolver != nil {
		var err error
		addrs, err = m.env.Resolver.HostAddrs(name)
		if err != nil {
			return itemRes{}, &DeferError{Msg: fmt.Sprintf("DNS lookup of \"%s\" deferred: %v", name, err)}
		}
	}
	if len(addrs) == 0 {
		return itemRes{unknown: fmt.Sprintf("failed to find IP address for %s", name)}, nil
	}
	for _, a := range addrs {
		if a.Unmap() == h.IP {
			return itemRes{ok: true}, nil
		}
	}
	return itemRes{}, nil
}

// hostNames returns the host's names, looking them up once.
func (m *matcher) hostNames(h *Host) ([]string, itemRes, error) {
	if !h.NameLookedUp && h.Name == "" {
		h.NameLookedUp = true
		if m.env.Resolver != nil {
			names, err := m.env.Resolver.HostNames(h.IP)
			if err != nil {
				h.NameLookedUp = false
				return nil, itemRes{}, &DeferError{Msg: fmt.Sprintf("host name lookup for %s deferred: %v", h.IP, err)}
			}
			if len(names) > 0 {
				h.Name, h.Aliases = names[0], names[1:]
			}
		}
	}
	if h.Name == "" {
		return nil, itemRes{unknown: fmt.Sprintf("failed to find host name for %s", h.IP)}, nil
	}
	return append([]string{h.Name}, h.Aliases...), itemRes{}, nil
}

// hostLookup matches a lookup item in a host list: "net-" and "netN-"
// single-key lookups use the address as key, other single-key lookups the
// host name (in match_ip mode, the address), query-style lookups just run.
func (m *matcher) hostLookup(pat string, h *Host, ipOnly bool) (itemRes, error) {
	li, err := m.parseLookupItem(pat, true)
	if err != nil {
		return itemRes{}, err
	}
	if li.query {
		data, found, err := m.do(li, li.spec, "")
		return itemRes{ok: found, data: data}, err
	}
	if li.netMask == -2 && !ipOnly {
		names, r, err := m.hostNames(h)
		if err != nil || r.unknown != "" {
			return r, err
		}
		for _, n := range names {
			data, found, err := m.do(li, li.spec, n)
			if err != nil || found {
				return itemRes{ok: found, data: data}, err
			}
		}
		return itemRes{}, nil
	}
	data, found, err := m.do(li, li.spec, netKey(h.IP, li.netMask, li.name == "iplsearch"))
	return itemRes{ok: found, data: data}, err
}

// netKey builds the key of a "net-" lookup: the address (mask < 0) or the
// masked address followed by "/mask". IPv6 addresses are written in full
// with dots between the groups, except for iplsearch, which uses colons.
// Specification section "Host list patterns for single-key lookups by host
// address".
func netKey(ip netip.Addr, mask int, colons bool) string {
	ip = ip.Unmap()
	if mask >= 0 {
		mask = min(mask, ip.BitLen())
		p, _ := ip.Prefix(mask)
		ip = p.Addr()
	}
	var s string
	if ip.Is4() {
		s = ip.String()
	} else {
		b := ip.As16()
		var sb strings.Builder
		sep := byte('.')
		if colons {
			sep = ':'
		}
		for i := 0; i < 16; i += 2 {
			if i > 0 {
				sb.WriteByte(sep)
			}
			fmt.Fprintf(&sb, "%02x%02x", b[i], b[i+1])
		}
		s = sb.String()
	}
	if mask >= 0 {
		s += "/" + strconv.Itoa(mask)
	}
	return s
}

// parseIPItem parses an IP address item with an optional "/mask". A mask
// larger than the address length is the whole address.
func parseIPItem(pat string) (netip.Prefix, bool) {
	addr, mask, hasMask := strings.Cut(pat, "/")
	ip, err := netip.ParseAddr(addr)
	if err != nil || ip.Zone() != "" {
		return netip.Prefix{}, false
	}
	// An IPv4-mapped item stays IPv6 (only subjects are unmapped).
	bits := ip.BitLen()
	if hasMask {
		if mask == "" || len(mask) > 4 {
			return netip.Prefix{}, false
		}
		n, err := strconv.Atoi(mask)
		if err != nil || n < 0 {
			return netip.Prefix{}, false
		}
		bits = min(n, bits)
	}
	p, err := ip.Prefix(bits)
	if err != nil {
		return netip.Prefix{}, false
	}
	return p, true
}
