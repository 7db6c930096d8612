package deliver_test

import (
	"cmp"
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/oracletest"
	"github.com/exigo-mta/exigo/internal/transport/smtptest"
)

// verboseConf routes remote.example to the test server and
// down.example to a port nobody listens on, with the smtp transport's
// options of the case (TRANSPORT_OPTS).
const verboseConf = e2eMain + `begin routers
down:
  driver = manualroute
  domains = down.example
  route_list = * 127.0.0.1
  self = send
  transport = down_smtp
remote:
  driver = manualroute
  domains = remote.example
  route_list = * 127.0.0.1
  self = send
  transport = remote_smtp
lmtp:
  driver = accept
  domains = lmtp.example
  transport = lmtp_socket
begin transports
lmtp_socket:
  driver = lmtp
  socket = LMTPSOCK
  batch_max = 10
  user = Debian-exim
down_smtp:
  driver = smtp
  port = DOWNPORT
  allow_localhost
  hosts_try_fastopen =
remote_smtp:
  driver = smtp
  port = PORT
  allow_localhost
  hosts_try_fastopen =
TRANSPORT_OPTS
begin retry
* * F,1h,10m
`

// verboseCase is one delivery shown with -v.
type verboseCase struct {
	name  string
	srv   *smtptest.Server // default: one with no extensions
	opts  string           // more smtp transport options
	rcpts []string         // default: one at remote.example
	args  []string         // the delivering command after -C conf -v (default -M ID)
	// submit, when set, replaces -odq in the submission, which is then
	// what is compared (-v -odi: delivery as the message arrives).
	submit []string
	body   string
	main   string // more main options
	msgs   int    // messages queued (default 1)
	extra  string // configuration appended (authenticators)
	// lmtp, when set, serves the lmtp transport (recipients at
	// lmtp.example) on a socket at lmtpSock.
	lmtp     *smtptest.Server
	lmtpSock string
	// mainlog compares the main logs too.
	mainlog bool
}

// TestVerboseSMTPDifferential compares what -v shows of remote
// deliveries (the SMTP dialogue, "Connecting to ...", the log lines)
// with Exim's, for servers that accept, defer and reject at each stage.
func TestVerboseSMTPDifferential(t *testing.T) {
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	oracletest.EximUser(t)
	cases := []verboseCase{
		{name: "plain"},
		{name: "pipelining", srv: &smtptest.Server{Pipelining: true, Size: true}, rcpts: []string{"a@remote.example", "b@remote.example"}},
		{name: "rcpt_rejects", srv: &smtptest.Server{Rcpt: rcptByName}, rcpts: []string{"a@remote.example", "rej@remote.example", "def@remote.example"}},
		{name: "rcpt_rejects_pipelined", srv: &smtptest.Server{Pipelining: true, Rcpt: rcptByName}, rcpts: []string{"a@remote.example", "rej@remote.example", "def@remote.example"}},
		{name: "all_rejected_pipelined", srv: &smtptest.Server{Pipelining: true, Rcpt: rcptByName}, rcpts: []string{"rej@remote.example", "def@remote.example"}},
		{name: "mail_defer", srv: &smtptest.Server{Mail: func(string) string { return "451 not now" }}},
		{name: "data_reject", srv: &smtptest.Server{Data: func(string, []byte) string { return "550 spam" }}},
		// A 4xx to MAIL or to the data: Exim shows the host's
		// "H=... SMTP error" log line as the reply arrives.
		{name: "data_defer_pipelined", srv: &smtptest.Server{Pipelining: true, Data: func(string, []byte) string { return "451 later" }}},
		{name: "data_defer", srv: &smtptest.Server{Data: func(string, []byte) string { return "452 later" }}, rcpts: []string{"a@remote.example", "b@remote.example"}},
		{name: "mail_defer_pipelined", srv: &smtptest.Server{Pipelining: true, Mail: func(string) string { return "451 not now" }}},
		{name: "chunking_mail_defer", srv: &smtptest.Server{Pipelining: true, Chunking: true, Mail: func(string) string { return "451 not now" }}},
		{name: "chunking_defer", srv: &smtptest.Server{Pipelining: true, Chunking: true, Data: func(string, []byte) string { return "451 later" }}},
		{name: "banner_reject", srv: &smtptest.Server{Banner: "554 go away"}},
		{name: "banner_defer", srv: &smtptest.Server{Banner: "421 busy"}, rcpts: []string{"a@remote.example", "b@remote.example"}},
		{name: "helo_fallback", srv: &smtptest.Server{NoEHLO: true}},
		{name: "chunking", srv: &smtptest.Server{Pipelining: true, Chunking: true}},
		{name: "refused", rcpts: []string{"a@down.example"}},
		{name: "submit_odi", srv: &smtptest.Server{Pipelining: true}, submit: []string{"-v", "-odi"}},
		{name: "submit_odf_refused", rcpts: []string{"a@down.example"}, submit: []string{"-v", "-odf"}},
		{name: "queue_run", srv: &smtptest.Server{Pipelining: true}, args: []string{"-q"}},
		{name: "tls", srv: &smtptest.Server{Pipelining: true, TLS: testTLSConfig(t)}, opts: "  tls_verify_certificates =\n"},
		{name: "auth", srv: &smtptest.Server{AuthPlain: true, User: "u", Pass: "p"}, opts: "  hosts_try_auth = *\n",
			extra: "begin authenticators\nplain:\n  driver = plaintext\n  public_name = PLAIN\n  client_send = ^u^p\n"},
		{name: "auth_cram", srv: &smtptest.Server{CRAM: true, User: "u", Pass: "p"}, opts: "  hosts_try_auth = *\n",
			extra: "begin authenticators\ncram:\n  driver = cram_md5\n  public_name = CRAM-MD5\n  client_name = u\n  client_secret = p\n"},
		{name: "chunking_nopipe", srv: &smtptest.Server{Chunking: true}},
		{name: "two_messages", srv: &smtptest.Server{Pipelining: true}, msgs: 2, args: []string{"-q"}, main: "queue_run_in_order"},
		{name: "two_messages_nopipe", srv: &smtptest.Server{}, msgs: 2, args: []string{"-q"}, main: "queue_run_in_order"},
		// -qq: the first stage routes the three messages, the second
		// delivers the first and hands the connection on to the others
		// (newest first, "*" on their "=>" lines), which -v does not
		// show.
		{name: "two_stage", srv: &smtptest.Server{Pipelining: true}, msgs: 3, args: []string{"-qq"}, main: "queue_run_in_order", mainlog: true},
		// An LMTP server that advertises PIPELINING: Exim does not
		// pipeline, and marks every line of a reply.
		{name: "lmtp", lmtp: &smtptest.Server{LMTP: true, Pipelining: true, Data: func(rcpt string, _ []byte) string {
			if strings.Contains(rcpt, "full@") {
				return "452 4.2.2 mailbox full"
			}
			return "250 2.0.0 delivered"
		}}, rcpts: []string{"a@lmtp.example", "full@lmtp.example"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := c.srv
			if srv == nil {
				srv = &smtptest.Server{}
			}
			if err := srv.Start(); err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			if c.lmtp != nil {
				dir := oracletest.WorkDir(t, "exigo-lmtp-")
				c.lmtpSock = filepath.Join(dir, "lmtp.sock")
				ln, err := net.Listen("unix", c.lmtpSock)
				if err != nil {
					t.Fatal(err)
				}
				os.Chmod(c.lmtpSock, 0o666)
				c.lmtp.Serve(ln)
				defer c.lmtp.Close()
			}
			want := runVerbose(t, exim, &c, srv.Port())
			got := runVerbose(t, exigo, &c, srv.Port())
			if want != got {
				t.Errorf("exim and exigo differ\n--- exim:\n%s\n--- exigo:\n%s", want, got)
			}
		})
	}
}

var (
	// verboseDrainRe is what Exim shows of data it drains at close.
	verboseDrainRe = regexp.MustCompile(`  SMTP\(drain \d+ bytes\)<< [^\n]*\n\n(0x[0-9a-f]{2}\n)*`)
	// verboseStampRe is the time stamp of a log line.
	verboseStampRe  = regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d `)
	verboseIDRe     = regexp.MustCompile(`\b[0-9A-Za-z]{6}-[0-9A-Za-z]{6}-[0-9A-Za-z]{2}\b`)
	verbosePIDRe    = regexp.MustCompile(`pid[ =]\d+`)
	verboseSizeRe   = regexp.MustCompile(`SIZE=\d+|BDAT \d+| S=\d+`)
	verboseDigitsRe = regexp.MustCompile(`\d+`)
)

// runVerbose queues the case's message and delivers it with -v; it
// returns the standard output and error, masked.
func runVerbose(t *testing.T, bin string, c *verboseCase, port int) string {
	downPort := closedPort(t)
	dir := oracletest.WorkDir(t, "exigo-verbose-", "spool", "mail")
	conf := strings.Replace(verboseConf, "RETRY_MAIN", c.main, 1)
	conf = strings.Replace(conf, "TRANSPORT_OPTS", c.opts, 1)
	conf = strings.ReplaceAll(conf, "DIR", dir)
	conf = strings.ReplaceAll(conf, "DOWNPORT", strconv.Itoa(downPort))
	conf = strings.ReplaceAll(conf, "PORT", strconv.Itoa(port))
	conf = strings.ReplaceAll(conf, "LMTPSOCK", cmp.Or(c.lmtpSock, dir+"/no-lmtp.sock"))
	conf += c.extra
	cf := filepath.Join(dir, "conf")
	os.WriteFile(cf, []byte(conf), 0o644)
	oracletest.Trust(t, cf)
	rcpts := c.rcpts
	if rcpts == nil {
		rcpts = []string{"a@remote.example"}
	}
	body := c.body
	if body == "" {
		body = "line one\n"
	}
	msg := "From: sender@test.example\nSubject: verbose " + c.name + "\n\n" + body
	msgs := max(c.msgs, 1)
	submit := []string{"-odq"}
	if c.submit != nil {
		submit = c.submit
	}
	var r oracletest.Result
	for range msgs {
		r = oracletest.Run(t, bin, msg, append(append(append([]string{"-C", cf}, submit...), "-f", "sender@test.example"), rcpts...)...)
	}
	ids := logIDs(dir)
	if len(ids) != msgs {
		t.Fatalf("%s: queued %d messages, want %d", bin, len(ids), msgs)
	}
	args := c.args
	if args == nil {
		args = []string{"-M", ids[0]}
	}
	if c.submit == nil {
		r = oracletest.Run(t, bin, "", append([]string{"-C", cf, "-v"}, args...)...)
	}
	// Exim reads and shows what has come in when it closes a
	// connection with a reply left unread ("SMTP(drain ...)" and a dump
	// of the bytes), as it happens: that depends on timing.
	stderr := verboseDrainRe.ReplaceAllString(r.Stderr, "")
	out := r.Stdout + "--- stderr\n" + sortAfterBounce(stderr) + "--- rc " + strconv.Itoa(r.Code) + "\n"
	if c.mainlog {
		b, _ := os.ReadFile(filepath.Join(dir, "spool/log/mainlog"))
		out += "--- mainlog\n" + verboseStampRe.ReplaceAllString(string(b), "")
	}
	for i, id := range ids {
		out = strings.ReplaceAll(out, id, "ID"+strconv.Itoa(i+1))
	}
	out = verboseIDRe.ReplaceAllString(out, "ID")
	out = verbosePIDRe.ReplaceAllString(out, "pid N")
	// A bounce's size varies with its time and boundary.
	out = verboseSizeRe.ReplaceAllStringFunc(out, func(s string) string { return verboseDigitsRe.ReplaceAllString(s, "N") })
	out = strings.ReplaceAll(out, strconv.Itoa(port), "PORT")
	out = strings.ReplaceAll(out, strconv.Itoa(downPort), "DOWNPORT")
	return out
}

// testTLSConfig is a server TLS configuration with a certificate made
// for the test.
func testTLSConfig(t *testing.T) *tls.Config {
	t.Helper()
	cert, err := smtptest.SelfSigned("test.server")
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}}
}

// sortAfterBounce sorts the log lines shown after the delivery of a
// bounce starts (a "delivering" line after the first line). Exim
// delivers a bounce in a process of its own, so its lines and the last
// ones of the message that caused it ("Completed") come in either
// order; exigo's order is one of them.
func sortAfterBounce(s string) string {
	i := strings.Index(s, "\ndelivering ")
	if i < 0 {
		return s
	}
	i += 1 + strings.IndexByte(s[i+1:], '\n') + 1
	tail := s[i:]
	if !strings.HasPrefix(tail, "LOG:") {
		return s
	}
	blocks := strings.SplitAfter(tail, "\nLOG:")
	// SplitAfter leaves "LOG:" at the end of each block: move it to
	// the start of the next, so that each block is one log line.
	for j := range blocks {
		blocks[j] = strings.TrimSuffix(blocks[j], "LOG:")
		if j > 0 {
			blocks[j] = "LOG:" + blocks[j]
		}
	}
	slices.Sort(blocks)
	return s[:i] + strings.Join(blocks, "")
}
