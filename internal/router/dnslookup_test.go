package router

import (
	"net/netip"
	"testing"

	"github.com/exigo-mta/exigo/internal/config"
)

type fakeDNS struct {
	mx    map[string][]MX
	addrs map[string][]string
	fail  map[string]bool
}

func (f fakeDNS) MX(n string) ([]MX, error) {
	if f.fail[n] {
		return nil, errTemp
	}
	if m, ok := f.mx[n]; ok {
		return m, nil
	}
	if _, ok := f.addrs[n]; ok {
		return nil, ErrNoData
	}
	return nil, ErrNoSuchDomain
}
func (f fakeDNS) SRV(string) ([]SRV, error) { return nil, ErrNoData }
func (f fakeDNS) Addrs(n string) ([]netip.Addr, error) {
	a, ok := f.addrs[n]
	if !ok {
		return nil, ErrNoSuchDomain
	}
	var out []netip.Addr
	for _, s := range a {
		out = append(out, netip.MustParseAddr(s))
	}
	return out, nil
}
func (f fakeDNS) HostByName(n string) ([]netip.Addr, error) { return f.Addrs(n) }

type tempErr struct{}

func (tempErr) Error() string { return "timeout" }

var errTemp = tempErr{}

func TestDNSLookup(t *testing.T) {
	conf := `primary_hostname = test.example
begin routers
r1:
  driver = dnslookup
  widen_domains = wide.test
  transport = remote
begin transports
remote:
  driver = smtp
`
	cfg, err := config.LoadBytes("t.conf", []byte(conf), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dns := fakeDNS{
		mx: map[string][]MX{
			"mx.test":   {{"b.mx.test", 20}, {"a.mx.test", 10}},
			"self.test": {{"me.test", 5}, {"other.test", 10}},
		},
		addrs: map[string][]string{
			"a.mx.test": {"192.0.2.1"}, "b.mx.test": {"192.0.2.2"}, "plain.test": {"192.0.2.3"},
			"me.test": {"192.0.2.9"}, "other.test": {"192.0.2.10"}, "short.wide.test": {"192.0.2.4"},
		},
		fail: map[string]bool{"slow.test": true},
	}
	env := &Env{Resolver: dns, Interfaces: []netip.Addr{netip.MustParseAddr("192.0.2.9")}}
	s, err := New(cfg, env)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		addr   string
		status Status
		hosts  []string
	}{
		{"x@mx.test", Accept, []string{"a.mx.test/192.0.2.1", "b.mx.test/192.0.2.2"}},
		{"x@plain.test", Accept, []string{"plain.test/192.0.2.3"}},
		{"x@short", Accept, []string{"short.wide.test/192.0.2.4"}},
		{"x@none.test", Fail, nil},
		{"x@slow.test", Defer, nil},
		{"x@self.test", Defer, nil},
	}
	for _, tt := range tests {
		r := s.Route(NewAddress(tt.addr), Mode{})
		if r.Status != tt.status {
			t.Errorf("%s: status %v (%s), want %v", tt.addr, r.Status, r.Message, tt.status)
			continue
		}
		var got []string
		for _, h := range r.Hosts {
			got = append(got, h.Name+"/"+h.Addr)
		}
		if len(got) != len(tt.hosts) {
			t.Errorf("%s: hosts %v, want %v", tt.addr, got, tt.hosts)
			continue
		}
		for i := range got {
			if got[i] != tt.hosts[i] {
				t.Errorf("%s: hosts %v, want %v", tt.addr, got, tt.hosts)
			}
		}
	}
}
