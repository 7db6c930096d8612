package dns_test

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/exigo-mta/exigo/internal/dns"
	"github.com/exigo-mta/exigo/internal/dns/dnstest"
	"github.com/exigo-mta/exigo/internal/oracletest"
)

const zone = `
a.example. 120 A 192.0.2.1
a.example. 60 A 192.0.2.2
a.example. AAAA 2001:db8::1
m.example. MX 10 mx.example.
c.example. CNAME a.example.
t.example. TXT "one" "two"
big.example. TXT "` + "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789" + `"
`

func bigZone() string {
	var b strings.Builder
	b.WriteString(zone)
	for i := 0; i < 40; i++ {
		b.WriteString("big.example. TXT \"record number " + strings.Repeat("x", 40) + string(rune('A'+i%26)) + "\"\n")
	}
	return b.String()
}

func TestStatuses(t *testing.T) {
	srv := dnstest.Start(t, "127.0.0.1:0", bigZone())
	srv.ServFail("fail.example.")
	r := dns.New(srv.Addr)
	r.Timeout = time.Second
	ctx := context.Background()
	for _, c := range []struct {
		name  string
		qtype uint16
		want  dns.Status
		n     int
	}{
		{"a.example", mdns.TypeA, dns.Succeed, 2},
		{"a.example.", mdns.TypeA, dns.Succeed, 2},
		{"a.example", mdns.TypeMX, dns.NoData, 0},
		{"example", mdns.TypeA, dns.NoData, 0}, // exists: has names below it
		{"nx.example", mdns.TypeA, dns.NXDomain, 0},
		{"fail.example", mdns.TypeA, dns.Again, 0},
		{"c.example", mdns.TypeA, dns.Succeed, 2},      // through the CNAME
		{"big.example", mdns.TypeTXT, dns.Succeed, 41}, // truncated over UDP, retried over TCP
		{"bad..name", mdns.TypeA, dns.Fail, 0},
	} {
		a := r.Lookup(ctx, c.name, c.qtype, dns.Options{})
		if a.Status != c.want || len(a.Records) != c.n {
			t.Errorf("%s/%s: status %v, %d records (err %v); want %v, %d", c.name, mdns.TypeToString[c.qtype], a.Status, len(a.Records), a.Err, c.want, c.n)
		}
	}
	if a := r.Lookup(ctx, "a.example", mdns.TypeA, dns.Options{}); a.TTL != 60 {
		t.Errorf("TTL %d, want the smallest, 60", a.TTL)
	}
}

func TestADBit(t *testing.T) {
	srv := dnstest.Start(t, "127.0.0.1:0", zone)
	r := dns.New(srv.Addr)
	ctx := context.Background()
	if a := r.Lookup(ctx, "a.example", mdns.TypeA, dns.Options{DNSSEC: true, RequireAD: true}); a.Status != dns.Again {
		t.Errorf("no AD with RequireAD: %v, want Again", a.Status)
	}
	srv.SetAD(true)
	a := r.Lookup(ctx, "a.example", mdns.TypeA, dns.Options{DNSSEC: true, RequireAD: true})
	if a.Status != dns.Succeed || !a.AD {
		t.Errorf("AD set: %v AD=%v", a.Status, a.AD)
	}
}

func TestTimeoutIsAgain(t *testing.T) {
	r := dns.New("127.0.0.1:9") // nothing listens on the discard port
	r.Timeout, r.Retries = 200*time.Millisecond, 1
	if a := r.Lookup(context.Background(), "a.example", mdns.TypeA, dns.Options{}); a.Status != dns.Again || a.Err == nil {
		t.Errorf("got %v (%v), want Again", a.Status, a.Err)
	}
}

func TestTyped(t *testing.T) {
	srv := dnstest.Start(t, "127.0.0.1:0", zone)
	r := dns.New(srv.Addr)
	ctx := context.Background()
	ips, _ := r.LookupA(ctx, "a.example", dns.Options{})
	if len(ips) != 2 || ips[0] != netip.MustParseAddr("192.0.2.1") {
		t.Errorf("A: %v", ips)
	}
	ip6, _ := r.LookupAAAA(ctx, "a.example", dns.Options{})
	if len(ip6) != 1 || ip6[0].String() != "2001:db8::1" {
		t.Errorf("AAAA: %v", ip6)
	}
	mx, _ := r.LookupMX(ctx, "m.example", dns.Options{})
	if len(mx) != 1 || mx[0] != (dns.MX{10, "mx.example"}) {
		t.Errorf("MX: %v", mx)
	}
	txt, _ := r.LookupTXT(ctx, "t.example", dns.Options{})
	if len(txt) != 1 || strings.Join(txt[0], ",") != "one,two" {
		t.Errorf("TXT: %v", txt)
	}
	names, _ := r.LookupNames(ctx, "c.example", mdns.TypeCNAME, dns.Options{})
	if len(names) != 1 || names[0] != "a.example" {
		t.Errorf("CNAME: %v", names)
	}
}

func TestReverseName(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":        "1.2.0.192.in-addr.arpa",
		"::ffff:192.0.2.1": "1.2.0.192.in-addr.arpa",
		"2001:db8::1":      "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
	} {
		if got := dns.ReverseName(netip.MustParseAddr(in)); got != want {
			t.Errorf("%s: %s", in, got)
		}
	}
}

func TestFromResolvConf(t *testing.T) {
	p := filepath.Join(t.TempDir(), "resolv.conf")
	os.WriteFile(p, []byte("nameserver 127.0.0.1\nnameserver ::1\noptions timeout:3 attempts:4\n"), 0o644)
	r, err := dns.FromResolvConf(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.Servers(), " "); got != "127.0.0.1:53 [::1]:53" || r.Timeout != 3*time.Second || r.Retries != 4 {
		t.Errorf("servers %q timeout %v retries %d", got, r.Timeout, r.Retries)
	}
	if _, err := dns.FromResolvConf(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("missing file: no error")
	}
	if got := dns.New("10.0.0.1", "[::1]:5353").Servers(); strings.Join(got, " ") != "10.0.0.1:53 [::1]:5353" {
		t.Errorf("New: %v", got)
	}
}

// TestSystemFollowsFile checks that a resolver from System sees a change
// to its file at the next query, and that dns_retrans and dns_retry
// (non-zero arguments) win over the file's options.
func TestSystemFollowsFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "resolv.conf")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := dns.System(p, 0, 0)
	if got := strings.Join(r.Servers(), " "); got != "127.0.0.1:53" {
		t.Errorf("no file: servers %q", got)
	}
	write("nameserver 127.0.83.1\n")
	if got := strings.Join(r.Servers(), " "); got != "127.0.83.1:53" {
		t.Errorf("file created: servers %q", got)
	}
	// The same size, written within the same clock tick: the inode
	// change time or the modification time still tells.
	write("nameserver 127.0.83.2\n")
	if got := strings.Join(r.Servers(), " "); got != "127.0.83.2:53" {
		t.Errorf("file changed: servers %q", got)
	}
	write("nameserver 127.0.83.1\nnameserver 127.0.83.2\noptions timeout:1 attempts:1\n")
	if got := strings.Join(r.Servers(), " "); got != "127.0.83.1:53 127.0.83.2:53" {
		t.Errorf("file grown: servers %q", got)
	}
	// Servers that read queries and never answer: a query takes the
	// file's timeout and attempts, one second for each of the two.
	for _, a := range []string{"127.0.83.1:53", "127.0.83.2:53"} {
		c, err := net.ListenPacket("udp", a)
		if err != nil {
			oracletest.Missing(t, "a UDP socket on "+a+" (root, and the port free): "+err.Error())
		}
		t.Cleanup(func() { c.Close() })
	}
	start := time.Now()
	a := r.Lookup(context.Background(), "a.example", mdns.TypeA, dns.Options{})
	if a.Status != dns.Again {
		t.Errorf("unanswered query: %v", a.Status)
	}
	if d := time.Since(start); d < 1900*time.Millisecond || d > 5*time.Second {
		t.Errorf("unanswered query took %v, want about 2s", d)
	}
	over := dns.System(p, 300*time.Millisecond, 2)
	start = time.Now()
	over.Lookup(context.Background(), "a.example", mdns.TypeA, dns.Options{})
	if d := time.Since(start); d < 1100*time.Millisecond || d > 4*time.Second {
		t.Errorf("with dns_retrans=300ms and dns_retry=2, an unanswered query took %v, want about 1.2s", d)
	}
}
