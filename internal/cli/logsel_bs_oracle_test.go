package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// bsSelConf accepts every recipient and refuses every message after DATA.
const bsSelConf = `primary_hostname = test.example
spool_directory = DIR/spool
log_file_path = DIR/log/%slog
keep_environment =
log_selector = SEL
acl_smtp_rcpt = accept
acl_smtp_data = d
begin acl
d:
  deny message = no thanks
`

// TestBSLogSelectorDifferential runs -bs sessions (with and without
// -oMa; ended by QUIT or by the end of input; with a message refused
// after DATA) through Exim and exigo under several log_selector
// settings, and compares the main and reject logs.
func TestBSLogSelectorDifferential(t *testing.T) {
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	sessions := []bsSession{
		{"EHLO x\r\nQUIT\r\n", nil},
		{"EHLO x\r\n", nil},
		{"EHLO x\r\nMAIL FROM:<a@b.example>\r\n", nil},
		{"EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n", []string{"-oMa", "10.0.0.1"}},
		{"EHLO x\r\n", []string{"-oMa", "10.0.0.1"}},
		// Batched SMTP: only "SMTP connection from" and "no MAIL".
		{"HELO x\r\n", []string{"-bS"}},
		{"HELO x\r\nMAIL FROM:<a@b.example>\r\nRSET\r\nQUIT\r\n", []string{"-bS"}},
		{"HELO x\r\nMAIL FROM:<a@b.example>\r\n", []string{"-bS"}},
		{"HELO x\r\nQUIT\r\n", []string{"-bS"}},
		// The message has the headers a local message would get added
		// (exigo adds them only after the DATA ACL).
		{"EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nSubject: s\r\nX-Foo: bar\r\nMessage-Id: <m@x>\r\nFrom: a@b.example\r\nDate: Fri, 27 Nov 2026 10:00:00 +0000\r\n\r\nbody\r\n.\r\nQUIT\r\n", nil},
	}
	for _, sel := range []string{"", "-all", "+all", "-rejected_header", "+smtp_connection +smtp_no_mail +smtp_incomplete_transaction"} {
		t.Run(strings.ReplaceAll(sel, " ", "_"), func(t *testing.T) {
			conf := strings.ReplaceAll(bsSelConf, "SEL", sel)
			want, got := runBSLogs(t, exim, conf, sessions), runBSLogs(t, exigo, conf, sessions)
			if strings.Join(want, "\n") != strings.Join(got, "\n") {
				t.Errorf("logs differ\n--- exim\n%s\n--- exigo\n%s", strings.Join(want, "\n"), strings.Join(got, "\n"))
			}
		})
	}
}

var rfcDate = regexp.MustCompile(`[A-Z][a-z]{2}, \d\d? [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [-+]\d{4}`)

// maskDate hides the dates of header lines (Received:, Date:).
func maskDate(s string) string { return rfcDate.ReplaceAllString(s, "<DATE>") }

// A bsSession is the input of one -bs run and its extra arguments; a
// first argument that is a -b option (-bS) replaces -bs.
type bsSession struct {
	script string
	args   []string
}

// runBSLogs runs the sessions through bin -bs with the configuration
// conf ("DIR" standing for a fresh directory) and returns its main and
// reject log lines, masked.
func runBSLogs(t *testing.T, bin, conf string, sessions []bsSession) []string {
	t.Helper()
	dir, err := os.MkdirTemp("", "exigo-bssel-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, sub := range []string{"", "spool", "log"} {
		os.MkdirAll(filepath.Join(dir, sub), 0o777)
		os.Chmod(filepath.Join(dir, sub), 0o777)
	}
	path := filepath.Join(dir, "conf")
	os.WriteFile(path, []byte(strings.ReplaceAll(conf, "DIR", dir)), 0o644)
	for _, s := range sessions {
		mode, args := "-bs", s.args
		if len(args) > 0 && strings.HasPrefix(args[0], "-b") {
			mode, args = args[0], args[1:]
		}
		oracletest.Run(t, bin, s.script, append([]string{"-C", path, mode}, args...)...)
	}
	var out []string
	for _, name := range []string{"mainlog", "rejectlog"} {
		b, _ := os.ReadFile(filepath.Join(dir, "log", name))
		for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
			if strings.Contains(l, "Warning:") || strings.HasPrefix(l, " ") {
				continue
			}
			for _, m := range queueSelMasks {
				l = m.re.ReplaceAllString(l, m.with)
			}
			out = append(out, name+": "+maskDate(strings.ReplaceAll(l, dir, "DIR")))
		}
	}
	return out
}

// mailAuthConf has a PLAIN authenticator that accepts anyone and an
// RCPT ACL that logs $authenticated_sender.
const mailAuthConf = `primary_hostname = test.example
spool_directory = DIR/spool
log_file_path = DIR/log/%slog
keep_environment =
log_selector = SEL
acl_smtp_rcpt = r
queue_only = true
begin acl
r:
  warn logwrite = AS=[$authenticated_sender]
  accept
begin authenticators
plain:
  driver = plaintext
  public_name = PLAIN
  server_condition = yes
  server_set_id = $auth2
`

// TestMailAuthDifferential compares the AUTH= parameter of MAIL
// (ignored before AUTH, xtext-decoded into $authenticated_sender after)
// and the A= field of "<=" lines with and without smtp_mailauth.
func TestMailAuthDifferential(t *testing.T) {
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	plain := "AHVzZXIAcHc=" // \0user\0pw
	sessions := []bsSession{{
		"EHLO x\r\nMAIL FROM:<a@b.example> AUTH=<z@x.example>\r\nRCPT TO:<c@d.example>\r\nRSET\r\n" +
			"AUTH PLAIN " + plain + "\r\nMAIL FROM:<a@b.example> AUTH=s+2Bt@x.example\r\nRCPT TO:<c@d.example>\r\n" +
			"DATA\r\nSubject: s\r\n\r\nbody\r\n.\r\nMAIL FROM:<a@b.example> AUTH=<>\r\nRCPT TO:<c@d.example>\r\n" +
			"DATA\r\nSubject: s\r\n\r\nbody\r\n.\r\nQUIT\r\n",
		[]string{"-oMa", "10.0.0.1"},
	}}
	// A session that authenticates and sends no MAIL ("no MAIL" with A=).
	sessions = append(sessions, bsSession{"EHLO x\r\nAUTH PLAIN " + plain + "\r\nQUIT\r\n", []string{"-oMa", "10.0.0.1"}})
	for _, sel := range []string{"", "+smtp_mailauth", "+smtp_mailauth +smtp_no_mail +smtp_connection"} {
		conf := strings.ReplaceAll(mailAuthConf, "SEL", sel)
		want, got := runBSLogs(t, exim, conf, sessions), runBSLogs(t, exigo, conf, sessions)
		if strings.Join(want, "\n") != strings.Join(got, "\n") {
			t.Errorf("log_selector %q: logs differ\n--- exim\n%s\n--- exigo\n%s", sel, strings.Join(want, "\n"), strings.Join(got, "\n"))
		}
	}
}

// perConnConf queues past two messages per connection and refuses MAIL
// past three (smtp_accept_queue_per_connection and
// smtp_accept_max_per_connection, expanded).
const perConnConf = `primary_hostname = test.example
spool_directory = DIR/spool
log_file_path = DIR/log/%slog
keep_environment =
smtp_accept_queue_per_connection = 2
smtp_accept_max_per_connection = ${if eq{$sender_helo_name}{unlimited}{0}{3}}
acl_smtp_rcpt = accept
begin routers
r:
  driver = redirect
  data = :blackhole:
`

// TestPerConnectionLimitsDifferential sends five messages in one -bs
// session: the first two are delivered at once, the third is queued
// ("no immediate delivery: more than 2 messages received in one
// connection"), and the fourth MAIL and the one after RSET get 421 with
// a log line each, the session going on. A HELO name that lifts the
// expanded limit lets all five through.
func TestPerConnectionLimitsDifferential(t *testing.T) {
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	msg := "MAIL FROM:<a@b.example>\r\nRCPT TO:<x@test.example>\r\nDATA\r\nSubject: s\r\n\r\nx\r\n.\r\n"
	for _, helo := range []string{"limited", "unlimited", "odq"} {
		script := "EHLO " + helo + "\r\n" + strings.Repeat(msg, 4) + "RSET\r\n" + msg + "QUIT\r\n"
		sessions := []bsSession{{script, []string{"-oMa", "10.0.0.1"}}}
		if helo == "odq" {
			// Nothing is said of messages that wait anyway.
			sessions[0].args = append(sessions[0].args, "-odq")
		}
		clean := func(lines []string) []string {
			var out []string
			for _, l := range lines {
				if !strings.Contains(l, "lost privilege") {
					out = append(out, l)
				}
			}
			sort.Strings(out)
			return out
		}
		want, got := clean(runBSLogs(t, exim, perConnConf, sessions)), clean(runBSLogs(t, exigo, perConnConf, sessions))
		if strings.Join(want, "\n") != strings.Join(got, "\n") {
			t.Errorf("HELO %s: logs differ\n--- exim\n%s\n--- exigo\n%s", helo, strings.Join(want, "\n"), strings.Join(got, "\n"))
		}
		if n := strings.Count(strings.Join(got, "\n"), "no immediate delivery"); helo == "limited" && n != 1 {
			t.Errorf("HELO %s: %d messages queued, want 1", helo, n)
		}
	}
}
