package deliver_test

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// Bounces and delay warnings pass acl_not_smtp_start and acl_not_smtp:
// Exim 4.96 submits them through a child "exim -t -oem -oi -f <>"
// process, which runs the non-SMTP ACLs like any local submission
// (spec chapter "Access control lists", section "The non-SMTP ACLs").
// Each case runs real Exim and exigo on the same configuration and
// compares the main log, the reject log and the -H files left.

const baclConf = `primary_hostname = test.example
spool_directory = DIR/spool
log_file_path = DIR/log/%slog
queue_only = true
deliver_drop_privilege = true
keep_environment =
delay_warning = 30m
acl_not_smtp_start = acl_start
acl_not_smtp = acl_ns
begin acl
acl_start:
  warn logwrite = START s=<$sender_address>
acl_ns:
  warn logwrite = NOTSMTP s=<$sender_address> id=$message_exim_id rc=$recipients_count
VERDICT
  accept
begin routers
r:
  driver = redirect
  allow_fail
  allow_defer
  data = ${if eq{$local_part}{defer}{:defer: wait}{:fail: gone}}
RETRY`

// baclCases are the ACL verdicts for messages from <> and the
// recipient: "x" fails (a bounce), "defer" defers an old message (a
// delay warning; it needs a retry rule); retry is the retry section.
var baclCases = []struct {
	name, verdict, rcpt, retry string
}{
	{"bounce-accepted", "  accept condition = ${if eq{$sender_address}{}}\n       add_header = X-NS: yes\n       set acl_m_k = v", "x@y", ""},
	{"bounce-denied", "  deny condition = ${if eq{$sender_address}{}}\n       message = no bounces", "x@y", ""},
	{"bounce-denied-log-message", "  deny condition = ${if eq{$sender_address}{}}\n       message = no bounces\n       log_message = refused here", "x@y", ""},
	{"bounce-discarded", "  discard condition = ${if eq{$sender_address}{}}\n       log_message = gone", "x@y", ""},
	{"warning-accepted", "  accept condition = ${if eq{$sender_address}{}}\n       add_header = X-NS: yes", "defer@y", ""},
	{"warning-denied", "  deny condition = ${if eq{$sender_address}{}}\n       message = no warnings", "defer@y", ""},
	// With retry rules, a refused bounce freezes the message unless it
	// is older than the longest retry time of all the rules.
	{"bounce-denied-retry-young", "  deny condition = ${if eq{$sender_address}{}}\n       message = no bounces", "x@y", "begin retry\n* * F,1d,1m\n"},
	{"bounce-denied-retry-old", "  deny condition = ${if eq{$sender_address}{}}\n       message = no bounces", "x@y", "begin retry\n* * F,30m,1m\nother.example * F,20m,1m\n"},
	{"bounce-denied-retry-longest", "  deny condition = ${if eq{$sender_address}{}}\n       message = no bounces", "x@y", "begin retry\nother.example * F,2h,1m\n* * F,30m,1m\n"},
	// Another address deferred: the failed one stays, nothing freezes.
	{"bounce-denied-retry-deferred", "  deny condition = ${if eq{$sender_address}{}}\n       message = no bounces", "x@y defer@y", "begin retry\n* * F,1d,1m\n"},
	{"bounce-discarded-retry", "  discard condition = ${if eq{$sender_address}{}}", "x@y", "begin retry\n* * F,1d,1m\n"},
}

var baclMask = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d `), ""},
	{regexp.MustCompile(`[0-9A-Za-z]{6}-[0-9A-Za-z]{6}-[0-9A-Za-z]{2}\b`), "ID"},
	{regexp.MustCompile(`\w\w\w, \d\d? \w\w\w \d{4} \d\d:\d\d:\d\d [+-]\d{4}`), "DATE"},
	{regexp.MustCompile(`(?m)^\d{9,} `), "TIME "},
	{regexp.MustCompile(`(?m)^-frozen \d+$`), "-frozen TIME"},
	{regexp.MustCompile(`(?m)^-received_time_(usec|complete) .*\n`), ""},
	{regexp.MustCompile(`\d+-eximdsn-\d+`), "BOUNDARY"},
	// The boundary's width moves the sizes.
	{regexp.MustCompile(`(?m)^\d{3}([A-Z* ]) `), "NNN$1 "},
	{regexp.MustCompile(` S=\d+`), " S=N"},
	{regexp.MustCompile(`(?m)^-body_linecount \d+\n-max_received_linelength \d+\n`), ""},
	// Exim's re-exec with -C loses root and says so.
	{regexp.MustCompile(`(?m)^.*(purging the environment|se keep_environment).*\n`), ""},
}

func baclMasked(s string) string {
	for _, m := range baclMask {
		s = m.re.ReplaceAllString(s, m.with)
	}
	return s
}

// runBACL submits a message from a@b to rcpt with bin, ages it by an
// hour, delivers it with -M, and returns the logs and the -H files.
func runBACL(t *testing.T, bin, verdict, retry, rcpt string) string {
	t.Helper()
	dir := oracletest.WorkDir(t, "exigo-bacl-", "spool", "log")
	conf := filepath.Join(dir, "conf")
	text := strings.ReplaceAll(strings.NewReplacer("VERDICT", verdict, "RETRY", retry).Replace(baclConf), "DIR", dir)
	os.WriteFile(conf, []byte(text), 0o644)
	args := append([]string{"-C", conf, "-f", "a@b"}, strings.Fields(rcpt)...)
	res := oracletest.Run(t, bin, "Subject: s\n\nbody\n", args...)
	names, _ := filepath.Glob(filepath.Join(dir, "spool", "input", "*-H"))
	if len(names) != 1 {
		t.Fatalf("%s: %d messages after submission: %s", bin, len(names), res.Stderr)
	}
	h, _ := os.ReadFile(names[0])
	old := strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)
	h = regexp.MustCompile(`(?m)^\d{9,} `).ReplaceAll(h, []byte(old+" "))
	os.WriteFile(names[0], h, 0o640)
	id := strings.TrimSuffix(filepath.Base(names[0]), "-H")
	oracletest.Run(t, bin, "", "-C", conf, "-M", id)
	var b strings.Builder
	for _, l := range []string{"mainlog", "rejectlog"} {
		data, _ := os.ReadFile(filepath.Join(dir, "log", l))
		b.WriteString("== " + l + "\n" + string(data))
	}
	names, _ = filepath.Glob(filepath.Join(dir, "spool", "input", "*-H"))
	for _, n := range names {
		data, _ := os.ReadFile(n)
		fmt.Fprintf(&b, "== -H\n%s", data)
	}
	return baclMasked(b.String())
}

// TestGeneratedMessagesNotSMTPACL compares Exim's and exigo's handling
// of acl_not_smtp for bounces and delay warnings: the ACL runs (its
// logwrite lines), a refused bounce is logged with "Process failed (1)
// when writing error message", a refused warning is not counted, a
// discarded bounce is "delivered" to a blackhole.
func TestGeneratedMessagesNotSMTPACL(t *testing.T) {
	exim := oracletest.Exim(t)
	bin := oracletest.Exigo(t)
	for _, c := range baclCases {
		t.Run(c.name, func(t *testing.T) {
			retry := c.retry
			if c.rcpt == "defer@y" {
				retry = "begin retry\n* * F,1d,1m\n"
			}
			want := runBACL(t, exim, c.verdict, retry, c.rcpt)
			got := runBACL(t, bin, c.verdict, retry, c.rcpt)
			if !strings.Contains(want, "NOTSMTP s=<>") {
				t.Fatalf("exim ran no ACL for the generated message:\n%s", want)
			}
			if got != want {
				t.Errorf("differs\n--- exim\n%s\n--- exigo\n%s", want, got)
			}
		})
	}
}

const arACLConf = `primary_hostname = test.example
spool_directory = DIR/spool
log_file_path = DIR/log/%slog
queue_only = true
deliver_drop_privilege = true
keep_environment =
acl_not_smtp = acl_ns
begin acl
acl_ns:
VERDICT
  accept
begin routers
r:
  driver = accept
  transport = reply
begin transports
reply:
  driver = autoreply
  user = Debian-exim
  to = $sender_address
  subject = auto
  text = hello
`

// arAddr masks the address of a local delivery's defer and fail lines:
// Exim 4.96 writes "x@y" there, exigo "x <x@y>" (a difference of the
// log line format, not of the autoreply transport).
var arAddr = regexp.MustCompile(`(?m)^(ID (==|\*\*)) [^\s:]+( <[^\s>]+>)?`)

// TestAutoreplyNotSMTPACL compares the log of an autoreply that
// acl_not_smtp refuses or discards: Exim's child process exits 1, and
// the transport defers with "Failed to send message from reply
// transport (1)" (spec chapter "The autoreply transport").
func TestAutoreplyNotSMTPACL(t *testing.T) {
	exim := oracletest.Exim(t)
	bin := oracletest.Exigo(t)
	for _, c := range []struct{ name, verdict string }{
		{"denied", "  deny condition = ${if eq{$sender_address}{}}\n       message = no replies"},
		{"discarded", "  discard condition = ${if eq{$sender_address}{}}"},
		{"accepted", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			run := func(bin string) string {
				dir, err := os.MkdirTemp("", "exigo-aracl-")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { os.RemoveAll(dir) })
				os.Chmod(dir, 0o755)
				uid, gid := -1, -1
				if u, err := user.Lookup("Debian-exim"); err == nil {
					uid, _ = strconv.Atoi(u.Uid)
					gid, _ = strconv.Atoi(u.Gid)
				}
				for _, sub := range []string{"spool", "log"} {
					p := filepath.Join(dir, sub)
					os.Mkdir(p, 0o750)
					os.Chown(p, uid, gid)
				}
				conf := filepath.Join(dir, "conf")
				text := strings.ReplaceAll(strings.ReplaceAll(arACLConf, "VERDICT", c.verdict), "DIR", dir)
				os.WriteFile(conf, []byte(text), 0o644)
				oracletest.Run(t, bin, "Subject: s\n\nbody\n", "-C", conf, "-f", "a@b", "x@y")
				names, _ := filepath.Glob(filepath.Join(dir, "spool", "input", "*-H"))
				if len(names) != 1 {
					t.Fatalf("%s: %d messages after submission", bin, len(names))
				}
				id := strings.TrimSuffix(filepath.Base(names[0]), "-H")
				oracletest.Run(t, bin, "", "-C", conf, "-M", id)
				data, _ := os.ReadFile(filepath.Join(dir, "log", "mainlog"))
				out := string(data)
				// The reply left on the queue (queue_only).
				names, _ = filepath.Glob(filepath.Join(dir, "spool", "input", "*-H"))
				for _, n := range names {
					data, _ := os.ReadFile(n)
					out += "== -H\n" + string(data)
				}
				return arAddr.ReplaceAllString(baclMasked(out), "$1 ADDR")
			}
			want, got := run(exim), run(bin)
			if c.verdict != "" && !strings.Contains(want, "Failed to send message from reply transport (1)") {
				t.Fatalf("exim did not refuse the reply:\n%s", want)
			}
			if got != want {
				t.Errorf("differs\n--- exim\n%s\n--- exigo\n%s", want, got)
			}
		})
	}
}
