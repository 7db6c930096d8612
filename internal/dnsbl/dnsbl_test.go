package dnsbl

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/dns"
	"github.com/exigo-mta/exigo/internal/dns/dnstest"
)

func TestKeyName(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"192.0.2.10", "10.2.0.192"},
		{"2001:db8::1", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"},
		{"sender.example", "sender.example"},
		{"sender.example.", "sender.example"},
	} {
		if got := keyName(c.in); got != c.want {
			t.Errorf("keyName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestRestriction(t *testing.T) {
	two := []netip.Addr{netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.3")}
	for _, c := range []struct {
		spec string
		ok   bool
	}{
		{"=127.0.0.2", true}, {"=127.0.0.9", false}, {"==127.0.0.2", false},
		{"==127.0.0.2,127.0.0.3", true}, {"!=127.0.0.2", false}, {"!==127.0.0.2", true},
		{"&0.0.0.1", true}, {"=&0.0.0.2", true}, {"=&0.0.0.1", false},
		{"!&0.0.0.1", false}, {"!=&0.0.0.1", true}, {"!&0.0.0.4", true},
	} {
		r := parseRestriction(c.spec)
		if got := r.reject(two) == ""; got != c.ok {
			t.Errorf("%s: accepted %v, want %v (%s)", c.spec, got, c.ok, r.reject(two))
		}
	}
}

func TestCheck(t *testing.T) {
	srv := dnstest.Start(t, "127.0.0.1:0", `
10.2.0.192.bl.example. 60 A 127.0.0.2
10.2.0.192.bl.example. 60 TXT "listed" " here"
`)
	res := dns.New(srv.Addr)
	var trace []string
	e := &Env{Resolver: res, Cache: &Cache{}, HostAddress: "192.0.2.10",
		Trace: func(f string, a ...any) { trace = append(trace, f) }}
	ok, m, err := Check(context.Background(), e, "nx.example : bl.example")
	if err != nil || !ok || m.Domain != "bl.example" || m.Value != "127.0.0.2" || m.Text != "listed here" || m.Matched != "192.0.2.10" {
		t.Fatalf("got %v %+v %v", ok, m, err)
	}
	ok, _, _ = Check(context.Background(), e, "bl.example=127.0.0.3")
	if ok {
		t.Error("=127.0.0.3 matched")
	}
	if !strings.Contains(strings.Join(trace, "\n"), "using result of previous lookup") {
		t.Error("second lookup not cached")
	}
	e.HostAddress = ""
	if ok, _, _ := Check(context.Background(), e, "bl.example"); ok {
		t.Error("no host address matched")
	}
}

func FuzzParseItem(f *testing.F) {
	for _, s := range []string{"bl.example", "a,b=127.0.0.2/<;1.2.3.4;x", "x!=&0.0.0.1,0.0.0.2/y::z", "=", "/", "!"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		it := parseItem(s, "192.0.2.1")
		if it.restrict != nil {
			it.restrict.reject([]netip.Addr{netip.MustParseAddr("127.0.0.2")})
		}
		for _, k := range it.keys {
			keyName(k)
		}
	})
}
