package router

import (
	"net/netip"
	"testing"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/dns"
	"github.com/exigo-mta/exigo/internal/dns/dnstest"
)

// TestDNSLookup routes by MX and address records, widening a short
// domain, a domain that does not exist, a DNS failure and an MX list
// that starts with the local host.
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
	// A real DNS server on loopback answers the router through exigo's
	// resolver; slow.test fails.
	srv := dnstest.Start(t, "127.0.0.1:0", `mx.test. MX 20 b.mx.test.
mx.test. MX 10 a.mx.test.
self.test. MX 5 me.test.
self.test. MX 10 other.test.
a.mx.test. A 192.0.2.1
b.mx.test. A 192.0.2.2
plain.test. A 192.0.2.3
me.test. A 192.0.2.9
other.test. A 192.0.2.10
short.wide.test. A 192.0.2.4
`)
	srv.ServFail("slow.test.")
	res := dns.New(srv.Addr)
	res.Retries = 1
	env := &Env{Resolver: DNSResolver{R: res}, Interfaces: []netip.Addr{netip.MustParseAddr("192.0.2.9")}}
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
