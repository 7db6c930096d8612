package integration

import (
	"testing"

	"github.com/exigo-mta/exigo/internal/dns/dnstest"
)

// spfZone has one sender domain for each SPF result the client
// (clientIP) can get.
const spfZone = `pass.example. TXT "v=spf1 ip4:192.0.2.10 -all"
fail.example. TXT "v=spf1 ip4:192.0.2.99 -all"
softfail.example. TXT "v=spf1 ~all"
neutral.example. TXT "v=spf1 ?all"
none.example. A 192.0.2.1
perm.example. TXT "v=spf1 foo:bar -all"
permmulti.example. TXT "v=spf1 -all"
permmulti.example. TXT "v=spf1 +all"
amx.example. TXT "v=spf1 a mx -all"
amx.example. A 192.0.2.10
inc.example. TXT "v=spf1 include:pass.example -all"
temp.example. TXT "v=spf1 include:servfail.example -all"
exp.example. TXT "v=spf1 -all exp=explain.exp.example"
explain.exp.example. TXT "Go away %{i} from %{s}"
redir.example. TXT "v=spf1 redirect=softfail.example"
helo.example. TXT "v=spf1 ip4:192.0.2.10 -all"
badhelo.example. TXT "v=spf1 -all"
`

// spfConf rejects fail and permerror, defers temperror, and adds
// Received-SPF (from $spf_received) and other headers naming the result
// to accepted messages, which stay queued.
const spfConf = `queue_only = true
acl_smtp_rcpt = rcpt
begin acl
rcpt:
  deny spf = fail
       message = SPF check failed:\n\
                 $sender_host_address is not allowed to send mail from \
                 ${if def:sender_address_domain{$sender_address_domain}{$sender_helo_name}}.\n\
                 $spf_smtp_comment
       log_message = SPF $spf_result: $spf_header_comment
  defer spf = temperror
       message = Temporary SPF error ($spf_result), please try later
  deny spf = permerror
       message = The SPF record of $sender_address_domain is broken: $spf_smtp_comment
  warn spf = softfail
       add_header = X-SPF-Warning: $sender_host_address is not a designated sender
       log_message = SPF softfail for <$sender_address>
  warn spf = !pass
       add_header = X-SPF-Not-Pass: $spf_result
  warn add_header = $spf_received
       add_header = X-SPF: result=$spf_result guessed=$spf_result_guessed \
                    comment="$spf_header_comment"
  accept
`

// TestSPF gives Exim's and exigo's daemons messages from senders whose
// domains get each SPF result (and the null sender, checked by its HELO
// name) and compares the replies, the logs and the headers of the
// queued messages.
func TestSPF(t *testing.T) {
	if !inNamespace(t, "TestSPF") {
		return
	}
	dns := dnstest.Start(t, "127.0.0.1:53", spfZone)
	dns.ServFail("servfail.example.")
	p := startPair(t, spfConf)
	n := 0
	for _, s := range []string{"pass", "fail", "softfail", "neutral", "none", "nx", "perm", "permmulti",
		"amx", "inc", "temp", "exp", "redir"} {
		n += p.session(t, s, append([]string{"-f", "user@" + s + ".example", "-t", "rcpt@test.example,second@test.example",
			"--ehlo", "client.example", "--header", "Subject: SPF " + s}, fixedHeaders...)...)
	}
	for _, helo := range []string{"helo.example", "badhelo.example"} {
		n += p.session(t, "null sender "+helo, append([]string{"-f", "<>", "-t", "rcpt@test.example",
			"--ehlo", helo, "--header", "Subject: SPF bounce from " + helo}, fixedHeaders...)...)
	}
	lines := p.compareLogs(t, nil)
	hs := compareLists(t, "queued messages' headers", p[0].spoolMessages(t, false), p[1].spoolMessages(t, false))
	t.Logf("%d sessions, %d log lines, %d queued messages compared", n, lines, hs)
}
