package integration

import (
	"os"
	"testing"

	"github.com/exigo-mta/exigo/internal/dns/dnstest"
)

// resolvConfConf verifies recipients by routing them with dnslookup;
// accepted messages stay queued.
const resolvConfConf = `queue_only = true
acl_smtp_rcpt = rcpt
begin acl
rcpt:
  accept verify = recipient
begin routers
dnslookup:
  driver = dnslookup
  transport = remote
begin transports
remote:
  driver = smtp
`

// TestResolvConfChange changes /etc/resolv.conf under running daemons:
// the next SMTP session routes with the new name server, in exigo as in
// Exim (whose C library reads the file again when it changes).
func TestResolvConfChange(t *testing.T) {
	if !inNamespace(t, "TestResolvConfChange") {
		return
	}
	dnstest.Start(t, "127.0.0.1:53", "old.test. MX 10 mx.old.test.\nmx.old.test. A 192.0.2.1\n")
	dnstest.Start(t, "127.0.0.2:53", "new.test. MX 10 mx.new.test.\nmx.new.test. A 192.0.2.2\n")
	p := startPair(t, resolvConfConf)
	n := 0
	for _, rc := range []string{"", "nameserver 127.0.0.2\n", "nameserver 127.0.0.1\n"} {
		if rc != "" {
			// Written in place: /etc/resolv.conf is a bind mount here.
			if err := os.WriteFile("/etc/resolv.conf", []byte(rc), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		for _, to := range []string{"u@old.test", "u@new.test"} {
			n += p.session(t, rc+" "+to, append([]string{"-f", "a@client.example", "-t", to,
				"--ehlo", "client.example", "--header", "Subject: " + to}, fixedHeaders...)...)
		}
	}
	lines := p.compareLogs(t, nil)
	t.Logf("%d sessions and %d log lines compared", n, lines)
}
