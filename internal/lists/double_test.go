package lists

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
)

// fakeLookups is a TEST DOUBLE standing in for the lookup package's
// registry until it exists: lsearch (caseless keys, indented continuation
// lines), iplsearch (address and CIDR keys) with Exim's partial-, "*" and
// "*@" decorations, and a query-style "testdb" whose query is the answer
// ("defer" defers, "none" finds nothing). It is not a lookup
// implementation and covers only what these tests need.
type fakeLookups struct{}

func (fakeLookups) QueryStyle(typ string) (bool, error) {
	switch typ {
	case "lsearch", "iplsearch":
		return false, nil
	case "testdb":
		return true, nil
	}
	return false, fmt.Errorf("unknown lookup type %q", typ)
}

func (f fakeLookups) Query(typ, query string, _ func(string) (string, error)) (string, bool, error) {
	switch query {
	case "defer":
		return "", false, errors.New("testdb deferred")
	case "none":
		return "", false, nil
	}
	return query, true, nil
}

func (f fakeLookups) Find(spec, file, key string, _ func(string) (string, error)) (string, bool, error) {
	spec, _, _ = strings.Cut(spec, ",")
	partial, minParts := false, 2
	if strings.HasPrefix(spec, "partial") {
		partial = true
		rest := spec[len("partial"):]
		if rest != "" && rest[0] >= '0' && rest[0] <= '9' {
			minParts = int(rest[0] - '0')
			rest = rest[1:]
		}
		spec = strings.TrimPrefix(rest, "-")
	}
	star, starAt := false, false
	switch {
	case strings.HasSuffix(spec, "*@"):
		starAt, spec = true, strings.TrimSuffix(spec, "*@")
	case strings.HasSuffix(spec, "*"):
		star, spec = true, strings.TrimSuffix(spec, "*")
	}
	text, err := os.ReadFile(file)
	if err != nil {
		return "", false, err
	}
	one := func(k string) (string, bool) {
		if spec == "iplsearch" {
			return ipFind(string(text), k)
		}
		return lsFind(string(text), k)
	}
	keys := []string{key}
	if partial {
		parts := strings.Split(key, ".")
		for i := 0; len(parts)-i >= minParts; i++ {
			keys = append(keys, "*."+strings.Join(parts[i:], "."))
		}
	}
	if starAt {
		if i := strings.LastIndexByte(key, '@'); i >= 0 {
			keys = append(keys, "*"+key[i:])
		}
	}
	if star || starAt {
		keys = append(keys, "*")
	}
	for _, k := range keys {
		if d, ok := one(k); ok {
			return d, true, nil
		}
	}
	return "", false, nil
}

func lsFind(text, key string) (string, bool) {
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if l == "" || l[0] == '#' || l[0] == ' ' || l[0] == '\t' {
			continue
		}
		var k, rest string
		if l[0] == '"' {
			j := strings.IndexByte(l[1:], '"')
			if j < 0 {
				continue
			}
			k, rest = l[1:j+1], l[j+2:]
		} else {
			j := strings.IndexAny(l, ": \t")
			if j < 0 {
				j = len(l)
			}
			k, rest = l[:j], l[j:]
		}
		if !strings.EqualFold(k, key) {
			continue
		}
		rest = strings.TrimLeft(rest, " \t")
		rest = strings.TrimPrefix(rest, ":")
		data := strings.TrimSpace(rest)
		for i+1 < len(lines) && len(lines[i+1]) > 0 && (lines[i+1][0] == ' ' || lines[i+1][0] == '\t') {
			i++
			data += " " + strings.TrimSpace(lines[i])
		}
		return data, true
	}
	return "", false
}

func ipFind(text, key string) (string, bool) {
	ip, err := netip.ParseAddr(strings.ReplaceAll(key, ".", "."))
	if err != nil {
		return "", false
	}
	for _, l := range strings.Split(text, "\n") {
		if l == "" || l[0] == '#' {
			continue
		}
		k, d, _ := strings.Cut(l, ":")
		if strings.HasPrefix(l, "\"") {
			j := strings.IndexByte(l[1:], '"')
			k, d = l[1:j+1], strings.TrimPrefix(strings.TrimLeft(l[j+2:], " \t"), ":")
		}
		k = strings.TrimSpace(k)
		if p, err := netip.ParsePrefix(k); err == nil && p.Contains(ip) {
			return strings.TrimSpace(d), true
		}
		if a, err := netip.ParseAddr(k); err == nil && a == ip {
			return strings.TrimSpace(d), true
		}
	}
	return "", false
}

// fakeResolver is a TEST DOUBLE for DNS: fixed tables; names listed in
// fail give temporary errors.
type fakeResolver struct {
	names map[netip.Addr][]string
	addrs map[string][]netip.Addr
	mx    map[string][]MX
	fail  map[string]bool
}

func (r *fakeResolver) HostNames(ip netip.Addr) ([]string, error) {
	if r.fail[ip.String()] {
		return nil, errors.New("timed out")
	}
	return r.names[ip], nil
}

func (r *fakeResolver) HostAddrs(name string) ([]netip.Addr, error) {
	if r.fail[name] {
		return nil, errors.New("timed out")
	}
	return r.addrs[strings.ToLower(name)], nil
}

func (r *fakeResolver) MX(domain string) ([]MX, error) {
	if r.fail[domain] {
		return nil, errors.New("timed out")
	}
	return r.mx[domain], nil
}
