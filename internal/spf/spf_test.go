package spf

import (
	"context"
	"net/netip"
	"testing"

	"github.com/exigo-mta/exigo/internal/dns"
	"github.com/exigo-mta/exigo/internal/dns/dnstest"
)

func TestValidRecord(t *testing.T) {
	for _, c := range []struct {
		rec string
		ok  bool
	}{
		{"v=spf1 -all", true}, {"v=spf1", true}, {"V=SPF1 +ALL", true},
		{"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 a mx/24 a:x.example//64 ptr ~all", true},
		{"v=spf1 include:%{d}.x.example exists:%{ir}.%{l1r+-}.x.example ?all", true},
		{"v=spf1 redirect=x.example exp=e.%{d} foo=bar", true},
		{"v=spf1 foo:bar -all", false}, {"v=spf1 ip4:300.1.1.1 -all", false},
		{"v=spf1 a:%{z}.example -all", false}, {"v=spf1 all:x", false},
		{"v=spf1 ip4:1.2.3.4/33", false}, {"v=spf1 include:", false}, {"spf2.0/pra", false},
	} {
		if got := validRecord(c.rec); got != c.ok {
			t.Errorf("validRecord(%q) = %v, want %v", c.rec, got, c.ok)
		}
	}
}

func TestCheck(t *testing.T) {
	srv := dnstest.Start(t, "127.0.0.1:0", `
pass.example. TXT "v=spf1 ip4:192.0.2.10 -all"
fail.example. TXT "v=spf1 -all"
`)
	res := dns.New(srv.Addr)
	ip := netip.MustParseAddr("192.0.2.10")
	for _, c := range []struct{ sender, want string }{
		{"u@pass.example", "pass"}, {"u@fail.example", "fail"}, {"u@nx.example", "none"},
	} {
		r := Check(context.Background(), res, Request{IP: ip, Helo: "h.example", Sender: c.sender, Hostname: "mx"})
		if r.Result != c.want {
			t.Errorf("%s: %s (%s), want %s", c.sender, r.Result, r.HeaderComment, c.want)
		}
	}
	r := Check(context.Background(), res, Request{IP: netip.MustParseAddr("127.0.0.1"), Helo: "h", Sender: "u@fail.example", Hostname: "mx"})
	want := "Received-SPF: pass (mx: localhost is always allowed.) client-ip=127.0.0.1; envelope-from=u@fail.example; helo=h;"
	if r.Received != want {
		t.Errorf("loopback: %q", r.Received)
	}
}

func FuzzValidRecord(f *testing.F) {
	for _, s := range []string{"v=spf1 -all", "v=spf1 a:%{d1r-}.x/24//64", "v=spf1 %{", "v=spf1 exists:%{i}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		validRecord(s)
		expandTemplate(s, Request{}, "u@d", "d")
	})
}
