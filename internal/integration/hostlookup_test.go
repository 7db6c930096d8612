package integration

import (
	"os"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/dns/dnstest"
)

// hostLookupZones give the client's address (clientIP) a PTR name that
// maps back to it (with a second, unverified alias), a PTR name that
// does not, and no PTR record at all.
var hostLookupZones = []struct{ name, zone string }{
	{"verified", `10.2.0.192.in-addr.arpa. PTR client.example.
10.2.0.192.in-addr.arpa. PTR other.example.
client.example. A 192.0.2.10
other.example. A 192.0.2.99
`},
	{"mismatch", `10.2.0.192.in-addr.arpa. PTR liar.example.
liar.example. A 192.0.2.99
`},
	{"none", `client.example. A 192.0.2.10
`},
}

// hostLookupConf looks up every client's name (host_lookup overrides
// the harness's empty setting) and shows what it found in the headers
// and the log.
const hostLookupConf = `host_lookup = *
queue_only = true
acl_smtp_rcpt = rcpt
begin acl
rcpt:
  warn logwrite = name=[$sender_host_name] failed=[$host_lookup_failed] deferred=[$host_lookup_deferred]
  warn add_header = X-Host: $sender_host_name
  accept
`

// TestHostLookup gives Exim's and exigo's daemons a client whose address
// has a verified name, a name that does not map back, and no name, and
// compares the replies, the logs (H= fields, "no host name found") and
// the queued messages' headers; then the same with the PTR lookup
// failing temporarily.
func TestHostLookup(t *testing.T) {
	if !inNamespace(t, "TestHostLookup") {
		return
	}
	dns := dnstest.Start(t, "127.0.0.1:53", hostLookupZones[0].zone)
	// The scenario's own host_lookup replaces the harness's empty one: a
	// main option may not be set twice.
	p := startPair(t, strings.Replace(hostLookupConf, "host_lookup = *\n", "", 1))
	for _, d := range p {
		d.stop()
		b, err := os.ReadFile(d.conf)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(d.conf, []byte(strings.Replace(string(b), "host_lookup =\n", "host_lookup = *\n", 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		d.start(t)
	}
	n := 0
	for _, z := range hostLookupZones {
		if err := dns.SetZone(z.zone); err != nil {
			t.Fatal(err)
		}
		n += p.session(t, z.name, append([]string{"-f", "a@client.example", "-t", "rcpt@test.example",
			"--ehlo", "helo.example", "--header", "Subject: host " + z.name}, fixedHeaders...)...)
	}
	// A temporary DNS failure of the PTR lookup.
	dns.ServFail("10.2.0.192.in-addr.arpa.")
	n += p.session(t, "servfail", append([]string{"-f", "a@client.example", "-t", "rcpt@test.example",
		"--ehlo", "helo.example", "--header", "Subject: host servfail"}, fixedHeaders...)...)
	lines := p.compareLogs(t, nil)
	hs := compareLists(t, "queued messages' headers", p[0].spoolMessages(t, false), p[1].spoolMessages(t, false))
	t.Logf("%d sessions, %d log lines, %d messages compared", n, lines, hs)
}

// reverseVerifyConf does no host_lookup at connection: verify =
// reverse_host_lookup looks the name up itself.
const reverseVerifyConf = `queue_only = true
acl_smtp_rcpt = rcpt
begin acl
rcpt:
  deny !verify = reverse_host_lookup
       message = no verified name for $sender_host_address
  warn logwrite = name=[$sender_host_name] failed=[$host_lookup_failed]
  accept
`

// TestReverseHostLookupVerify compares verify = reverse_host_lookup for
// a client with a verified name, a name that does not map back, no
// name, and a temporary DNS failure.
func TestReverseHostLookupVerify(t *testing.T) {
	if !inNamespace(t, "TestReverseHostLookupVerify") {
		return
	}
	dns := dnstest.Start(t, "127.0.0.1:53", hostLookupZones[0].zone)
	p := startPair(t, reverseVerifyConf)
	n := 0
	for _, z := range hostLookupZones {
		if err := dns.SetZone(z.zone); err != nil {
			t.Fatal(err)
		}
		n += p.session(t, z.name, append([]string{"-f", "a@client.example", "-t", "rcpt@test.example",
			"--ehlo", "helo.example", "--header", "Subject: verify " + z.name}, fixedHeaders...)...)
	}
	dns.ServFail("10.2.0.192.in-addr.arpa.")
	n += p.session(t, "servfail", append([]string{"-f", "a@client.example", "-t", "rcpt@test.example",
		"--ehlo", "helo.example", "--header", "Subject: verify servfail"}, fixedHeaders...)...)
	lines := p.compareLogs(t, nil)
	t.Logf("%d sessions, %d log lines compared", n, lines)
}
