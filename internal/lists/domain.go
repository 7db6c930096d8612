package lists

import (
	"net/netip"
	"strings"
)

// MatchDomain matches domain against a domain list (already expanded by the
// caller; named lists it references are expanded here). It serves the
// domains= router option and ACL condition (Data is $domain_data) and the
// match_domain expansion condition (Data is $value).
//
// Items: "@", "@[]", "@mx_any", "@mx_primary", "@mx_secondary" (optionally
// "/ignore=<host list>"), "*suffix", "^regex" (caseless), "type;file" and
// "type;query" lookups keyed by the domain, "+name", "/file", and literal
// domains compared caselessly. Exim specification chapter "Domain, host,
// address, and local part lists", section "Domain lists".
//
// A *DeferError means Exim would DEFER; a *ConfigError is a configuration
// problem that Exim writes to the panic log.
func MatchDomain(env *Env, list, domain string) (Match, error) {
	m := &matcher{env: env, caseless: true}
	r, err := m.walk(DomainList, list, domain, strings.ToLower(domain), m.domainFunc(domain, true, true), 0)
	return finish(list, r, err)
}

func (m *matcher) domainFunc(domain string, caseless, specials bool) itemFunc {
	return func(pat string) (itemRes, error) { return m.domainItem(pat, domain, caseless, specials) }
}

// domainItem matches one domain list item. caseless is false only inside
// address lists after "+caseful"; specials enables the items that refer to
// the local host (not in local part lists).
func (m *matcher) domainItem(pat, domain string, caseless, specials bool) (itemRes, error) {
	if specials && strings.HasPrefix(pat, "@") {
		switch {
		case pat == "@":
			// The value is the primary host name.
			return itemRes{ok: strings.EqualFold(domain, m.env.PrimaryHostname), data: m.env.PrimaryHostname}, nil
		case pat == "@[]":
			return itemRes{ok: m.isLocalLiteral(domain), data: pat}, nil
		case strings.HasPrefix(pat, "@mx_"):
			return m.mxItem(pat, domain)
		}
	}
	return m.stringItem(pat, domain, caseless, DomainList)
}

// stringItem matches the item forms that domain and local part lists
// share: "*suffix", "^regex", lookups and literal text.
func (m *matcher) stringItem(pat, s string, caseless bool, k Kind) (itemRes, error) {
	switch {
	case strings.HasPrefix(pat, "*"):
		suffix := pat[1:]
		if len(s) < len(suffix) {
			return itemRes{}, nil
		}
		tail := s[len(s)-len(suffix):]
		if tail == suffix || caseless && strings.EqualFold(tail, suffix) {
			return itemRes{ok: true, data: pat, vars: []string{s, s[:len(s)-len(suffix)]}}, nil
		}
		return itemRes{}, nil
	case strings.HasPrefix(pat, "^"):
		re, err := m.env.Regexps.compile(pat, caseless)
		if err != nil {
			return itemRes{}, err
		}
		sm := re.FindStringSubmatch(s)
		if sm == nil {
			return itemRes{}, nil
		}
		return itemRes{ok: true, data: pat, vars: sm}, nil
	case isLookupItem(pat):
		li, err := m.parseLookupItem(pat, false)
		if err != nil {
			return itemRes{}, err
		}
		spec := li.spec
		if k != DomainList {
			spec = withoutPartial(spec)
		}
		data, found, err := m.do(li, spec, s)
		if err != nil || !found {
			return itemRes{}, err
		}
		return itemRes{ok: true, data: data}, nil
	}
	if pat == s || caseless && strings.EqualFold(pat, s) {
		return itemRes{ok: true, data: pat}, nil
	}
	return itemRes{}, nil
}

// isLocalLiteral reports whether domain is a domain literal ("[1.2.3.4]"
// or "[IPv6:...]") naming a local interface address.
func (m *matcher) isLocalLiteral(domain string) bool {
	if len(domain) < 3 || domain[0] != '[' || domain[len(domain)-1] != ']' {
		return false
	}
	s := domain[1 : len(domain)-1]
	if len(s) > 5 && strings.EqualFold(s[:5], "ipv6:") {
		s = s[5:]
	}
	ip, err := netip.ParseAddr(s)
	if err != nil || ip.Zone() != "" {
		return false
	}
	return m.isInterface(ip)
}

func (m *matcher) isInterface(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, a := range m.env.Interfaces {
		if a.Unmap() == ip {
			return true
		}
	}
	return false
}

// mxItem matches "@mx_any", "@mx_primary" and "@mx_secondary", with an
// optional "/ignore=<host list>" of addresses to disregard. A primary MX is
// one with the lowest preference. Specification section "Domain lists".
func (m *matcher) mxItem(pat, domain string) (itemRes, error) {
	base, ignore := pat, ""
	if i := strings.Index(pat, "/ignore="); i >= 0 {
		base, ignore = pat[:i], pat[i+len("/ignore="):]
	}
	if base != "@mx_any" && base != "@mx_primary" && base != "@mx_secondary" {
		return m.stringItem(pat, domain, true, DomainList)
	}
	if m.env.Resolver == nil {
		return itemRes{}, nil
	}
	mxs, err := m.env.Resolver.MX(domain)
	if err != nil {
		return itemRes{}, &DeferError{Msg: "DNS lookup of " + domain + " (MX) gave DEFER: " + err.Error()}
	}
	if len(mxs) == 0 {
		return itemRes{}, nil
	}
	minPref := mxs[0].Pref
	for _, mx := range mxs {
		minPref = min(minPref, mx.Pref)
	}
	localPrimary, localOther := false, false
	for _, mx := range mxs {
		local, err := m.mxTargetIsLocal(mx.Host, ignore)
		if err != nil {
			return itemRes{}, err
		}
		if !local {
			continue
		}
		if mx.Pref == minPref {
			localPrimary = true
		} else {
			localOther = true
		}
	}
	var ok bool
	switch base {
	case "@mx_any":
		ok = localPrimary || localOther
	case "@mx_primary":
		ok = localPrimary
	default:
		ok = !localPrimary && localOther
	}
	return itemRes{ok: ok, data: pat}, nil
}

// mxTargetIsLocal reports whether an MX target is the local host: listed in
// hosts_treat_as_local, or with an address (not in the ignore list) that is
// a local interface.
func (m *matcher) mxTargetIsLocal(host, ignore string) (bool, error) {
	if m.env.HostsTreatAsLocal != "" {
		r, err := MatchDomain(&Env{Lookups: m.env.Lookups, NamedList: m.env.NamedList, Expand: m.env.Expand,
			Regexps: m.env.Regexps, Debug: m.env.Debug, PrimaryHostname: m.env.PrimaryHostname}, m.env.HostsTreatAsLocal, host)
		if err != nil {
			return false, err
		}
		if r.Matched {
			return true, nil
		}
	}
	addrs, err := m.env.Resolver.HostAddrs(host)
	if err != nil {
		return false, &DeferError{Msg: "DNS lookup of " + host + " gave DEFER: " + err.Error()}
	}
	for _, a := range addrs {
		if ignore != "" {
			r, err := MatchIP(m.env, ignore, a.Unmap().String())
			if err != nil {
				return false, err
			}
			if r.Matched {
				continue
			}
		}
		if m.isInterface(a) {
			return true, nil
		}
	}
	return false, nil
}
