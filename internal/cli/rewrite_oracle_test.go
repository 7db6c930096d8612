package cli_test

import (
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// rwConf is the configuration of the rewriting differential: a
// Debian-style rule through an lsearch file of local senders (Ffrs), an
// envelope-recipient rule, a header-only rule, an SMTP-time rule,
// redirections with and without rewriting, and deliveries into one mbox
// through a transport with headers_rewrite. @DIR@ is the case directory,
// @SEL@ the log_selector.
const rwConf = `primary_hostname = vm
qualify_domain = vm
spool_directory = @DIR@/spool
log_file_path = @DIR@/log/%s
keep_environment =
log_selector = @SEL@
acl_smtp_mail = mail
acl_smtp_rcpt = rcpt
acl_smtp_data = data
begin acl
mail:
  warn logwrite = MAIL s=$sender_address
  warn condition = ${if eq{$sender_address}{bob@vm}}
       verify = sender
  warn logwrite = MAIL after verify s=$sender_address
  accept
rcpt:
  warn logwrite = RCPT lp=$local_part d=$domain s=$sender_address
  warn verify = recipient
  accept
data:
  warn logwrite = DATA s=$sender_address r=$recipients
  accept
begin routers
alias:
  driver = redirect
  local_parts = alias
  data = root@vm, x@old.example
norw:
  driver = redirect
  local_parts = norw
  data = y@old.example
  no_rewrite
trr:
  driver = accept
  local_parts = tr
  transport = trt
  headers_add = X-Router: 1\nBcc: r@old.example
local:
  driver = accept
  transport = mbox
begin transports
mbox:
  driver = appendfile
  file = @DIR@/mail/mbox
  user = @USER@
trt:
  driver = appendfile
  file = @DIR@/mail/mbox
  user = @USER@
  headers_rewrite = *@new.example $1@tr.example c : *@old.example "Some One <$1@tr.example>" tw : *@vm ${lookup{$local_part}lsearch{@DIR@/email-addresses}{$value}fail} f
  headers_add = To: q@old.example
begin rewrite
*@vm ${lookup{$1}lsearch{@DIR@/email-addresses}{$value}fail} Ffrs
*@old.example $1@new.example T
*@hdr.example $1@new.example tc
\N^<?x-([^@]*)@smtp\.example>?$\N <$1@smtp.example> S
`

// rwCase is one submission: command-line arguments and standard input.
type rwCase struct {
	name  string
	sel   string
	args  []string
	stdin string
}

var rwCases = []rwCase{
	{"bm-t-login-from", "+address_rewrite", []string{"-odi", "-oi", "-t"},
		"From: root\nTo: bob, carol@old.example\nCc: root@vm, d@hdr.example\nSubject: hi\n\nbody\n"},
	{"bm-args", "+address_rewrite", []string{"-odi", "-oi", "-f", "root", "a@old.example", "bob@vm"},
		"From: bob\nReply-To: root\nTo: x@old.example, y@hdr.example\nSender: bob@vm\nSubject: hi\n\nbody\n"},
	{"bm-f-login", "", []string{"-odi", "-oi", "-t", "-f", "bob@vm"},
		"From: root\nTo: bob\nSubject: hi\n\nbody\n"},
	{"bm-resent", "+address_rewrite", []string{"-odi", "-oi", "-t"},
		"Resent-From: bob@vm\nResent-To: carol@old.example\nFrom: x@y.example\nTo: z@y.example\nSubject: hi\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n\nbody\n"},
	{"bs", "+address_rewrite", []string{"-odi", "-bs"},
		"HELO x\r\nMAIL FROM:<root@vm>\r\nRCPT TO:<a@old.example>\r\nRCPT TO:<bob@vm>\r\nRCPT TO:<x-y@smtp.example>\r\nDATA\r\nFrom: bob\r\nTo: a@old.example, d@hdr.example\r\nSubject: hi\r\n\r\nbody\r\n.\r\nQUIT\r\n"},
	{"bs-default-selector", "", []string{"-odi", "-bs"},
		"HELO x\r\nMAIL FROM:<bob@vm>\r\nRCPT TO:<a@old.example>\r\nDATA\r\nFrom: root@vm\r\n\r\nbody\r\n.\r\nQUIT\r\n"},
	{"bs-smtp-sender", "+address_rewrite", []string{"-odq", "-bs"},
		"EHLO x\r\nMAIL FROM:<x-bob@smtp.example> SIZE=10\r\nRCPT TO:<x-a@smtp.example>\r\nDATA\r\nSubject: s\r\n\r\nbody\r\n.\r\nQUIT\r\n"},
	{"redirect", "+address_rewrite", []string{"-odi", "-oi", "-f", "bob@y.example", "alias@vm", "norw@vm"}, "Subject: x\n\nb\n"},
	{"redirect-default-selector", "", []string{"-odi", "-oi", "-f", "bob@y.example", "alias@vm", "norw@vm"}, "Subject: x\n\nb\n"},
	{"bt", "+address_rewrite", []string{"-bt", "a@old.example", "alias@vm", "norw@vm", "bob"}, ""},
	{"bv", "+address_rewrite", []string{"-bv", "a@old.example", "alias@vm"}, ""},
	{"bvs", "+address_rewrite", []string{"-bvs", "root"}, ""},
	{"bt-default-selector", "", []string{"-bt", "a@old.example", "alias@vm"}, ""},
	{"headers-rewrite", "+address_rewrite", []string{"-odi", "-oi", "-f", "root@vm", "tr@vm"},
		"From: bob\nTo: tr@vm, a@old.example, \"X\" <b@old.example>\nCc: d@hdr.example, e@new.example\nReply-To: bob@vm\n\nbody\n"},
	{"headers-rewrite-default-selector", "", []string{"-odi", "-oi", "-f", "s@y.example", "tr@vm"},
		"From: root@vm\nTo: a@old.example\n\nbody\n"},
	{"bm-no-from", "+address_rewrite", []string{"-odi", "-oi", "a@old.example"}, "Subject: s\n\nbody\n"},
	{"bm-no-from-f", "+address_rewrite", []string{"-odi", "-oi", "-f", "root@vm", "a@old.example"}, "Subject: s\n\nbody\n"},
	{"bs-no-from", "", []string{"-odi", "-bs"},
		"HELO x\r\nMAIL FROM:<root@vm>\r\nRCPT TO:<a@old.example>\r\nDATA\r\nSubject: s\r\n\r\nbody\r\n.\r\nQUIT\r\n"},
	{"bS", "+address_rewrite", []string{"-odi", "-bS"},
		"MAIL FROM:<root@vm>\nRCPT TO:<a@old.example>\nDATA\nFrom: bob\nTo: c@hdr.example\nSubject: batch\n\nbody\n.\n"},
}

var (
	rwMboxFrom = regexp.MustCompile(`(?m)^From (\S+) [A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}$`)
	rwPid      = regexp.MustCompile(`\[\d+\]`)
)

// runRewrite runs one case with bin in a fresh directory and returns
// what is compared: output, logs, spool files left and mailboxes,
// with ids, dates and times masked.
func runRewrite(t *testing.T, bin string, c rwCase) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "exigo-rewrite-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	uid, gid, name := -1, -1, "root"
	if u, err := user.Lookup("Debian-exim"); err == nil {
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		name = u.Username
	}
	for _, d := range []string{"spool", "log", "mail"} {
		p := filepath.Join(dir, d)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if uid >= 0 {
			os.Chown(p, uid, gid)
		} else {
			os.Chmod(p, 0o777)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "email-addresses"), []byte("root: Root.User@example.org\nbob: bob.smith@example.org\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := strings.NewReplacer("@DIR@", dir, "@SEL@", c.sel, "@USER@", name)
	cf := filepath.Join(dir, "exim.conf")
	if err := os.WriteFile(cf, []byte(r.Replace(rwConf)), 0o644); err != nil {
		t.Fatal(err)
	}
	res := oracletest.Run(t, bin, c.stdin, append([]string{"-C", cf}, c.args...)...)
	var b strings.Builder
	b.WriteString("== stdout\n" + res.Stdout + "\n== stderr\n" + nsStamp.ReplaceAllString(res.Stderr, "") + "\n== rc " + strconv.Itoa(res.Code) + "\n")
	for _, l := range []string{"main", "reject", "panic"} {
		data, _ := os.ReadFile(filepath.Join(dir, "log", l))
		b.WriteString("== " + l + "\n" + rwPid.ReplaceAllString(nsStamp.ReplaceAllString(string(data), ""), "[PID]"))
	}
	var files []string
	for _, g := range []string{"spool/input/*-H", "mail/*"} {
		m, _ := filepath.Glob(filepath.Join(dir, g))
		files = append(files, m...)
	}
	sort.Strings(files)
	for _, f := range files {
		data, _ := os.ReadFile(f)
		s := nsHLine.ReplaceAllString(string(data), "")
		s = rwMboxFrom.ReplaceAllString(s, "From $1 <DATE>")
		b.WriteString("== " + filepath.Base(filepath.Dir(f)) + "\n" + s)
	}
	return nsMask(b.String())
}

// TestRewriteOracle compares the rewrite section's effect on incoming
// messages with Exim 4.96's: -bm (with and without -t), -bs and -bS
// submissions, the spooled -H file, the delivered mbox and the main
// log with and without log_selector +address_rewrite.
func TestRewriteOracle(t *testing.T) {
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	for _, c := range rwCases {
		t.Run(c.name, func(t *testing.T) {
			want := runRewrite(t, exim, c)
			got := runRewrite(t, exigo, c)
			if want != got {
				t.Errorf("differs\n--- exim\n%s\n--- exigo\n%s", want, got)
			}
		})
	}
}
