package lookup

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/dns"
	"github.com/exigo-mta/exigo/internal/dns/dnstest"
	"github.com/exigo-mta/exigo/internal/oracletest"
)

func dnsRegistry(t *testing.T, addr string) *Registry {
	res := dns.New(addr)
	res.Timeout, res.Retries = 2*time.Second, 1
	return New(Options{Resolver: res})
}

func TestDnsdbCases(t *testing.T) {
	srv := dnstest.Start(t, "127.0.0.1:0", dnsZone)
	srv.ServFail("fail.example.")
	r := dnsRegistry(t, srv.Addr)
	for _, c := range dnsdbCases {
		if got := render(r.Query("dnsdb", c.query, nil)); got != c.want {
			t.Errorf("dnsdb{%s}:\n got %q\nwant %q", c.query, got, c.want)
		}
	}
}

func TestDnsdbAD(t *testing.T) {
	srv := dnstest.Start(t, "127.0.0.1:0", dnsZone)
	srv.SetAD(true)
	r := dnsRegistry(t, srv.Addr)
	got := render(r.Query("dnsdb", "dnssec_strict,a=h1.example", nil))
	if got != "F<192.0.2.1\n192.0.2.2>" {
		t.Errorf("dnssec_strict with AD: got %q", got)
	}
}

func TestDnsdbNoResolver(t *testing.T) {
	r := New(Options{})
	_, _, err := r.Query("dnsdb", "a=x.example", nil)
	if !isDefer(err) {
		t.Errorf("no resolver: got %v, want a DeferError", err)
	}
}

func TestDnsdbCacheTTL(t *testing.T) {
	srv := dnstest.Start(t, "127.0.0.1:0", "x.example. 60 A 192.0.2.1\n")
	now := time.Unix(1e9, 0)
	res := dns.New(srv.Addr)
	r := New(Options{Resolver: res, Now: func() time.Time { return now }})
	q := func() string { return render(r.Query("dnsdb", "a=x.example", nil)) }
	if got := q(); got != "F<192.0.2.1>" {
		t.Fatalf("first: %q", got)
	}
	if err := srv.SetZone("x.example. 60 A 192.0.2.2\n"); err != nil {
		t.Fatal(err)
	}
	if got := q(); got != "F<192.0.2.1>" {
		t.Errorf("within TTL: got %q, want the cached answer", got)
	}
	now = now.Add(61 * time.Second)
	if got := q(); got != "F<192.0.2.2>" {
		t.Errorf("after TTL: got %q, want the new answer", got)
	}
}

// TestDnsdbOracle compares exigo's dnsdb answers with real Exim's. Exim
// reads only /etc/resolv.conf, so the test re-runs itself inside new mount
// and network namespaces (unshare -m -n) where it brings lo up, bind-mounts
// a resolv.conf naming 127.0.0.1 and serves the zone on port 53.
func TestDnsdbOracle(t *testing.T) {
	exim := oracletest.Exim(t)
	if os.Getenv("EXIGO_DNSDB_NETNS") == "" {
		unshare, err := exec.LookPath("unshare")
		if err != nil || os.Geteuid() != 0 {
			oracletest.Missing(t, "root and unshare(1) (to give Exim a private DNS server)")
		}
		cmd := exec.Command(unshare, "-m", "-n", os.Args[0], "-test.run=^TestDnsdbOracle$", "-test.count=1")
		cmd.Env = append(os.Environ(), "EXIGO_DNSDB_NETNS=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("in namespaces: %v\n%s", err, out)
		}
		if strings.Contains(string(out), "SKIP") {
			t.Skipf("child skipped:\n%s", out)
		}
		return
	}
	for _, c := range [][]string{{"ip", "link", "set", "lo", "up"}} {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v %s", c, err, out)
		}
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	resolv := writeFile(t, dir, "resolv.conf", "nameserver 127.0.0.1\n")
	if out, err := exec.Command("mount", "--bind", resolv, "/etc/resolv.conf").CombinedOutput(); err != nil {
		t.Fatalf("mount: %v %s", err, out)
	}
	srv := dnstest.Start(t, "127.0.0.1:53", dnsZone)
	srv.ServFail("fail.example.")
	conf := writeFile(t, dir, "exim.conf", "\n")
	var exprs []string
	for _, c := range dnsdbCases {
		exprs = append(exprs, fmt.Sprintf("${lookup dnsdb{%s}{F<$value>}{N}}", eximQuote(c.query)))
	}
	answers := eximBatch(t, exim, filepath.Clean(conf), exprs)
	r := dnsRegistry(t, "127.0.0.1:53")
	for i, c := range dnsdbCases {
		if got := render(r.Query("dnsdb", c.query, nil)); got != answers[i] {
			t.Errorf("dnsdb{%s}:\n exigo %q\n  exim %q", c.query, got, answers[i])
		}
	}
}
