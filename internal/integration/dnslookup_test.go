package integration

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/exigo-mta/exigo/internal/dns/dnstest"
	"github.com/exigo-mta/exigo/internal/oracletest"
)

// dnslookupZone has MX and address records for the dnslookup router:
// me.test is this host (clientIP is one of its addresses in the test's
// network namespace), the other hosts are elsewhere.
const dnslookupZone = `mx.test. MX 10 a.mx.test.
mx.test. MX 20 b.mx.test.
a.mx.test. A 192.0.2.1
b.mx.test. A 192.0.2.2
plain.test. A 192.0.2.3
me.test. A ` + clientIP + `
other.test. A 192.0.2.4
loopback.test. A 127.0.0.1
nohost.test. MX 10 gone.test.
local.freeze.test. MX 10 me.test.
local.send.test. MX 10 me.test.
local.pass.test. MX 10 me.test.
local.fail.test. MX 10 me.test.
local.defer.test. MX 10 me.test.
first.freeze.test. MX 10 me.test.
first.freeze.test. MX 20 other.test.
second.freeze.test. MX 10 other.test.
second.freeze.test. MX 20 me.test.
second.freeze.test. MX 30 b.mx.test.
equal.freeze.test. MX 10 other.test.
equal.freeze.test. MX 10 me.test.
loopback.freeze.test. A 127.0.0.1
`

// dnslookupConf has a dnslookup router for each self option, chosen by
// the domain's last two labels, and a router after them for self = pass.
const dnslookupConf = `primary_hostname = test.example
keep_environment =
begin routers
freeze:
  driver = dnslookup
  domains = ! *.send.test : ! *.pass.test : ! *.fail.test : ! *.defer.test
  transport = remote
send:
  driver = dnslookup
  domains = *.send.test
  self = send
  transport = remote
pass:
  driver = dnslookup
  domains = *.pass.test
  self = pass
  transport = remote
fail:
  driver = dnslookup
  domains = *.fail.test
  self = fail
  transport = remote
defer:
  driver = dnslookup
  domains = *.defer.test
  self = defer
  transport = remote
passed:
  driver = accept
  domains = *.pass.test
  transport = remote
begin transports
remote:
  driver = smtp
`

// logStamp is the time stamp of a log line.
var logStamp = regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d `)

// TestDNSLookupRouting compares -bt and -bv for addresses the dnslookup
// router routes by MX and address records, with the local host among
// the MX hosts (lowest, in the middle, tied) or as the only host, for
// each self option, and with hosts that do not exist or a DNS failure.
func TestDNSLookupRouting(t *testing.T) {
	if !inNamespace(t, "TestDNSLookupRouting") {
		return
	}
	dns := dnstest.Start(t, "127.0.0.1:53", dnslookupZone)
	dns.ServFail("slow.test.")
	exim := oracletest.Exim(t)
	exigo := os.Getenv(binEnv)
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	conf := filepath.Join(dir, "exim.conf")
	// Main options go before the first "begin".
	text := "spool_directory = " + dir + "/spool\nlog_file_path = " + dir + "/%slog\n" + dnslookupConf
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	addrs := []string{
		"u@mx.test", "u@plain.test", "u@none.test", "u@slow.test", "u@nohost.test",
		"u@local.freeze.test", "u@local.send.test", "u@local.pass.test", "u@local.fail.test", "u@local.defer.test",
		"u@first.freeze.test", "u@second.freeze.test", "u@equal.freeze.test", "u@loopback.freeze.test",
		"u@loopback.test", "u@me.test",
	}
	for _, mode := range []string{"-bt", "-bv"} {
		for _, a := range addrs {
			t.Run(mode+" "+a, func(t *testing.T) {
				want := oracletest.Run(t, exim, "", "-C", conf, mode, a)
				got := oracletest.Run(t, exigo, "", "-C", conf, mode, a)
				// -bv's log lines on stderr carry the time: the two
				// runs may fall in different seconds.
				for _, r := range []*oracletest.Result{&want, &got} {
					r.Stderr = logStamp.ReplaceAllString(r.Stderr, "TIME ")
				}
				if want != got {
					t.Errorf("exim:\n%s%s(rc %d)\nexigo:\n%s%s(rc %d)", want.Stdout, want.Stderr, want.Code, got.Stdout, got.Stderr, got.Code)
				}
			})
		}
	}
}
