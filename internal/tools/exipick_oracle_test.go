package tools

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// exipickConf is the configuration the test spool is filled with: mail
// for remote.org is deferred, "alias" expands to two generated
// addresses, everything else is delivered to /dev/null.
const exipickConf = `keep_environment =
spool_directory = DIR/spool
log_file_path = DIR/log/%slog
primary_hostname = test.example
qualify_domain = test.example
exim_user = Debian-exim
exim_group = Debian-exim
trusted_users = root
acl_not_smtp = acl_ns
acl_smtp_rcpt = acl_rcpt
acl_smtp_data = acl_data
begin acl
acl_ns:
  accept set acl_m1 = hello
         remove_header = X-Remove
acl_rcpt:
  accept
acl_data:
  accept set acl_m_foo = smtp value
begin routers
rdefer:
  driver = redirect
  domains = remote.org
  allow_defer
  data = :defer: not now
ralias:
  driver = redirect
  local_parts = alias
  data = gen1@test.example, gen2@test.example
r1:
  driver = accept
  transport = t1
begin transports
t1:
  driver = appendfile
  file = /dev/null
  user = Debian-exim
begin retry
* * F,2d,1m
`

// fillExipickSpool queues a varied set of messages with real Exim:
// bounces, several sizes, partly delivered, generated addresses, one
// frozen, one received over SMTP from a remote host.
func fillExipickSpool(t *testing.T, exim string) string {
	t.Helper()
	dir := oracletest.WorkDir(t, "exipick-", "spool", "log")
	conf := filepath.Join(dir, "exim.conf")
	if err := os.WriteFile(conf, []byte(strings.ReplaceAll(exipickConf, "DIR", dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command(exim, append([]string{"-C", conf}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("exim %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	big := strings.Repeat("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123\n", 400)
	huge := strings.Repeat("The quick brown fox jumps over the lazy dog, again and again.\n", 20000)
	run("Subject: one\nFrom: a@b.c\n\nbody\n", "-odq", "-f", "alice@example.com", "bob@test.example", "carol@remote.org")
	run("Subject: two\n\nbody two\n", "-odq", "-f", "", "pm@remote.org")
	run("Subject: big\n\n"+big, "-odq", "-f", "big@sender.net", "x@remote.org", "y@remote.org", "z@test.example")
	run("Subject: bigger\nReply-To: rt@x.y\n\n"+huge, "-odq", "-f", "Mixed.Case@Example.COM", "UPPER@remote.org")
	run("Subject: alias\n\nhi\n", "-odq", "-f", "someone@else.net", "alias@test.example", "other@remote.org")
	run("Subject: small\n\n"+strings.Repeat("x", 9000)+"\n", "-odq", "-f", "nine@k.example", "nine@remote.org")
	run("EHLO client.example\r\nMAIL FROM:<smtp@sender.org>\r\nRCPT TO:<a1@remote.org>\r\n"+
		"RCPT TO:<a2@test.example>\r\nDATA\r\nSubject: =?UTF-8?Q?caf=C3=A9?=\r\nTo: a1@remote.org\r\n\r\nbody\r\n.\r\nQUIT\r\n",
		"-odq", "-bs", "-oMa", "192.0.2.7.4567", "-oMi", "192.0.2.1.25")
	run("Received: from a by b; Mon, 1 Jan 2024 00:00:00 +0000\nX-Remove: gone\n"+
		"Subject: =?ISO-8859-1?Q?caf=E9?= two\nSubject: second\nTo: a@b,\n c@d\nTo: e@f\n\nline1\nline2\n",
		"-odq", "-f", "multi@h.example", "mh@remote.org")
	for _, line := range strings.Split(run("", "-bpr"), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && strings.HasSuffix(f[0], "m") {
			run("", "-M", f[2])
			if strings.Contains(line, "Mixed.Case") {
				run("", "-Mf", f[2])
			}
		}
	}
	return filepath.Join(dir, "spool")
}

// craftExipickSpool makes a second spool holding a copy of the message
// from multi@h.example whose -H file gains the option lines Exim writes
// for SMTP, TLS, spam scanning, an untrusted caller and the rarer flags.
func craftExipickSpool(t *testing.T, spoolDir string) string {
	t.Helper()
	in := filepath.Join(spoolDir, "input")
	names, err := os.ReadDir(in)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "spool")
	if err := os.MkdirAll(filepath.Join(dir, "input"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if !strings.HasSuffix(n.Name(), "-H") {
			continue
		}
		h, err := os.ReadFile(filepath.Join(in, n.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(h, []byte("<multi@h.example>")) {
			continue
		}
		text := strings.Replace(string(h), "root 0 0\n", "nobody 65534 65534\n", 1)
		text = strings.Replace(text, "-received_protocol local\n", "-received_protocol local\n"+exipickExtraOptions, 1)
		id := strings.TrimSuffix(n.Name(), "-H")
		d, err := os.ReadFile(filepath.Join(in, id+"-D"))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "input", n.Name()), []byte(text), 0o644)
		os.WriteFile(filepath.Join(dir, "input", id+"-D"), d, 0o644)
		return dir
	}
	t.Fatal("no message from multi@h.example")
	return ""
}

// agedExipickSpool copies the crafted message under new ids with
// arrival times from minutes to weeks ago (each well inside a step of
// the age column), and one copy without its -D file.
func agedExipickSpool(t *testing.T, crafted string) string {
	t.Helper()
	in := filepath.Join(crafted, "input")
	names, _ := filepath.Glob(filepath.Join(in, "*-H"))
	if len(names) != 1 {
		t.Fatalf("crafted spool: %v", names)
	}
	h, err := os.ReadFile(names[0])
	if err != nil {
		t.Fatal(err)
	}
	d, err := os.ReadFile(strings.TrimSuffix(names[0], "H") + "D")
	if err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSuffix(filepath.Base(names[0]), "-H")
	dir := filepath.Join(t.TempDir(), "spool")
	os.MkdirAll(filepath.Join(dir, "input"), 0o755)
	now := time.Now().Unix()
	lines := strings.SplitN(string(h), "\n", 5)
	for i, age := range []int64{200, 5000, 7000, 90000, 250000, 270000, 400000, 3000000} {
		nid := id[:len(id)-1] + string(rune('a'+i))
		_, rest, _ := strings.Cut(lines[3], " ")
		text := nid + "-H\n" + lines[1] + "\n" + lines[2] + "\n" + strconv.FormatInt(now-age, 10) + " " + rest + "\n" + lines[4]
		os.WriteFile(filepath.Join(dir, "input", nid+"-H"), []byte(text), 0o644)
		if i != 3 {
			os.WriteFile(filepath.Join(dir, "input", nid+"-D"), d, 0o644)
		}
	}
	return dir
}

// splitExipickSpool copies a spool into the split layout
// (split_spool_directory): every other message goes into input/<c>/,
// c being the sixth character of its id.
func splitExipickSpool(t *testing.T, from string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "spool")
	names, _ := filepath.Glob(filepath.Join(from, "input", "*-H"))
	for i, n := range names {
		id := strings.TrimSuffix(filepath.Base(n), "-H")
		to := filepath.Join(dir, "input")
		if i%2 == 0 {
			to = filepath.Join(to, id[5:6])
		}
		os.MkdirAll(to, 0o755)
		for _, suffix := range []string{"-H", "-D"} {
			if b, err := os.ReadFile(filepath.Join(from, "input", id+suffix)); err == nil {
				os.WriteFile(filepath.Join(to, id+suffix), b, 0o644)
			}
		}
	}
	return dir
}

// exipickExtraOptions are the option lines craftExipickSpool adds.
const exipickExtraOptions = `-helo_name heloname
-host_address [2001:db8::1]:2525
-interface_address [2001:db8::2]:587
-host_name h.example
-host_auth plainauth
-host_auth_pubname PLAIN
-active_hostname act.example
-auth_id authid
-auth_sender as@x.y
-local_scan lsdata
-spam_score_int 55
-spam_score 5.5
-spam_bar +++++
-tls_cipher TLS1.3:AES
-tls_peerdn CN=peer
-tls_sni sni.example
-tls_ver TLS1.3
-body_zerocount 3
-aclc 0 3
c00
-aclm _bar 7
two
lin
-N
-local
-localerror
-manual_thaw
-sender_set_untrusted
-host_lookup_failed
-host_lookup_deferred
-tls_certificate_verified
-deliver_firsttime
`

// normalizeExipick makes Perl's hash order irrelevant: the lines of
// each message block of a -bp listing after its first are sorted, and
// the words of a one-line entry (-b, --flatq) are sorted.
func normalizeExipick(s string, lineMode bool) string {
	if lineMode {
		lines := strings.Split(s, "\n")
		for i, l := range lines {
			w := strings.FieldsFunc(l, func(r rune) bool { return r == ' ' || r == ';' })
			sort.Strings(w)
			lines[i] = strings.Join(w, " ")
		}
		return strings.Join(lines, "\n")
	}
	blocks := strings.Split(s, "\n\n")
	for i, b := range blocks {
		lines := strings.Split(b, "\n")
		if len(lines) > 1 {
			sort.Strings(lines[1:])
		}
		blocks[i] = strings.Join(lines, "\n")
	}
	return strings.Join(blocks, "\n\n")
}

// TestExipickOracle compares exigo's exipick with Debian's on a spool
// filled by real Exim.
func TestExipickOracle(t *testing.T) {
	perl := needScript(t, "exipick")
	exim := oracletest.Exim(t)
	spoolDir := fillExipickSpool(t, exim)
	crafted := craftExipickSpool(t, spoolDir)
	aged := agedExipickSpool(t, crafted)
	split := splitExipickSpool(t, aged)
	cases := []struct {
		args     []string
		lineMode bool
		words    bool
		spool    string
	}{
		{args: []string{"--flatq"}, spool: aged},
		{args: []string{"-b"}, spool: split},
		{args: []string{"-i", "--show-vars", "header_path,data_path"}, spool: split},
		{args: []string{"-bp", "-R"}, spool: aged},
		{args: []string{"-i", "-o", "2h"}, spool: aged},
		{args: []string{"-i", "-y", "3d"}, spool: aged},
		{args: []string{"-i", "$message_age >= 1d", "$message_age < 4d"}, spool: aged},
		{args: []string{"-c", "--size", "$message_body_missing"}, spool: aged},
		{args: []string{"-i", "--show-vars", "message_size,message_body_size,shown_message_size", "$message_body_missing"}, spool: aged},
		{args: []string{"-bpa"}, spool: crafted},
		{args: []string{"-b", "-bpa"}, spool: crafted},
		{args: []string{"--flatq"}, spool: crafted},
		{args: []string{"-i", "--show-vars", "^."}, spool: crafted, words: true},
		{args: []string{"-i", "--show-vars", "^header_"}, words: true},
		{args: []string{"-i", "--show-vars", "sender_host_address,sender_host_port,received_port,first_delivery,dont_deliver",
			"$sender_local", "$local_error_message", "$manually_thawed", "$spam_score_int > 50", "$tls_sni =~ /^sni\\./"}, spool: crafted},
		{args: nil},
		{args: []string{"-bpa"}},
		{args: []string{"-bpu"}},
		{args: []string{"-bp", "-R"}},
		{args: []string{"-i"}},
		{args: []string{"-c"}},
		{args: []string{"-bpc"}},
		{args: []string{"-bpc", "--size"}},
		{args: []string{"-c", "--size", "-x"}},
		{args: []string{"--size"}},
		{args: []string{"-b"}, lineMode: true},
		{args: []string{"--flatq"}, lineMode: true},
		{args: []string{"-zi"}},
		{args: []string{"-x", "-i"}},
		{args: []string{"-c", "--not", "-z"}},
		{args: []string{"-i", "-f", "alice"}},
		{args: []string{"-i", "-f", "Alice"}},
		{args: []string{"-i", "-r", "remote"}},
		{args: []string{"-i", "-s", "8.9K"}},
		{args: []string{"-i", "-o", "3600"}},
		{args: []string{"-i", "-y", "1h"}},
		{args: []string{"-i", "$message_size > 1K"}},
		{args: []string{"-i", "$message_size >= 27K", "--or", "$sender_address eq"}},
		{args: []string{"-i", "$message_size < 0.3K"}},
		{args: []string{"-i", "$message_size == 1.5M"}},
		{args: []string{"-i", "$sender_address = EXAMPLE"}},
		{args: []string{"-i", "--caseful", "$sender_address = EXAMPLE"}},
		{args: []string{"-i", "$sender_address =~ /^[a-z]+@/"}},
		{args: []string{"-i", "$sender_address !~ m{\\.org$}i"}},
		{args: []string{"-i", "!$sender_address ne ''"}},
		{args: []string{"-i", "$received_protocol eq esmtp"}},
		{args: []string{"-i", "$sender_host_address eq 192.0.2.7"}},
		{args: []string{"-i", "$received_port == 25"}},
		{args: []string{"-i", "$h_subject = caf"}},
		{args: []string{"-i", "$bh_Reply-To eq rt@x.y"}},
		{args: []string{"-i", "$acl_m1 eq hello"}},
		{args: []string{"-i", "$acl_m_foo = smtp"}},
		{args: []string{"-i", "$recipients_count == 2"}},
		{args: []string{"-i", "$recipients_del_count >= 1"}},
		{args: []string{"-i", "$recipients_undel_count > 1"}},
		{args: []string{"-i", "$message_body = lazy"}},
		{args: []string{"-i", "$deliver_freeze"}},
		{args: []string{"-i", "$each_recipients = remote"}},
		{args: []string{"-i", "$allow_unqualified_sender"}},
		{args: []string{"-i", "foo"}},
		{args: []string{"-i", "--sort", "message_size"}},
		{args: []string{"-i", "--sort", "sender_address", "-R"}},
		{args: []string{"-i", "--sort", "recipients_count,message_size"}},
		{args: []string{"-i", "--sort", "sender_address_domain"}},
		{args: []string{"-c", "--show-rules", "$message_size > 1.5K", "!$deliver_freeze", "$sender_address = a.b",
			"$recipients =~ /Remote/i", "$Message_Size >= 3d", "$x eq a@b", "$y ne \"q\"", "-f", "z", "-s", "1K", "-o", "5", "-x"}},
		{args: []string{"-c", "--show-rules", "--not", "$message_size > 1", "$deliver_freeze"}},
		{args: []string{"-i", "--show-tests", "$message_size > 1K", "$deliver_freeze"}},
		{args: []string{"-i", "--show-tests", "--or", "$message_size > 1K", "$tls_cipher eq x"}},
		{args: []string{"-b", "--show-vars", "sender_host_address,message_size,foo,recipients_count"}, lineMode: true},
		{args: []string{"-i", "--show-vars", "message_size,sender_address"}},
		{args: []string{"--flatq", "-z", "--show-vars", "message_size,shown_message_size"}},
		{args: []string{"-z", "--show-vars", "message_body_size,message_linecount,body_linecount,originator_uid"}},
		{args: []string{"-i", "--show-vars", "^sender_", "$sender_host_address eq 192.0.2.7"}, words: true},
		{args: []string{"-i", "--show-vars", "^header_|^rheader_|^bheader_|^tls|^host_|^interface", "$message_size > 100K"}, words: true},
		{args: []string{"-c", "$message_size > abc"}},
		{args: []string{"-c", "$message_size >"}},
		{args: []string{"-c", "-o", "abc"}},
		{args: []string{"-c", "! $deliver_freeze"}},
		{args: []string{"--bogus"}},
		{args: []string{"-zq"}},
		{args: []string{"--sort"}},
		{args: []string{"--help"}},
		{args: []string{"--show-rules", "-i", "$sender_address = alice@example.com", "--or", "$sender_address =~ /smtp@sender/", "$sender_address eq alice@example.co$b"}},
		{args: []string{"--show-rules", "-i", "$sender_address eq alice\\@example.com"}},
		{args: []string{"--show-rules", "-i", "$sender_address =~ /a$foo/"}},
		{args: []string{"--show-rules", "-i", "$sender_address = e$|^s", "$sender_address ne a\\b"}},
		{args: []string{"-c", "$message_size > 0", "$message_size > ."}},
		{args: []string{"-i", "--show-tests", "--not", "$message_size > 0", "$sender_address =~ abc", "$message_size > 1"}},
		{args: []string{"-c", "$message_size > 08", "--or", "$message_size > 1.2.3"}},
		{args: []string{"-i", "$sender_address =~ a", "--or", "$sender_address =~ /a"}},
		{args: []string{"-i", "$sender_address =~ m{a", "--or", "$sender_address =~ /a/q", "$sender_address =~ 5"}},
		{args: []string{"--help", "--bogus"}},
		{args: []string{"--bogus", "-zq", "--version"}},
		{args: []string{"--man"}},
		{args: []string{"-i", "--show-tests", "--or", "--and", "$message_size > 1K", "$deliver_freeze"}},
		{args: []string{"-i", "--show-tests", "--not", "--or", "$message_size > 1K", "$deliver_freeze"}},
		{args: []string{"-bpqz"}},
		{args: []string{"--sh"}},
		{args: []string{"--bp="}},
		{args: []string{"--SIZE", "-c"}},
		{args: []string{"--un", "-i"}},
		{args: []string{"-i", "--show-vars", "message_body", "$message_size < 300"}},
		{args: []string{"--spool", "/nonexistent", "-c"}},
	}
	// --freeze and --thaw: each tool reads back its own file.
	tmp := t.TempDir()
	cases = append(cases, []struct {
		args     []string
		lineMode bool
		words    bool
		spool    string
	}{
		{args: []string{"--freeze", tmp + "/F", "-x", "-i", "$message_size > 1K"}},
		{args: []string{"--thaw", tmp + "/F", "-bpa", "--show-vars", "message_size"}},
		{args: []string{"--thaw", tmp + "/F", "-c", "-R", "--sort", "message_size"}},
		{args: []string{"--thaw", tmp + "/none", "-c"}},
		{args: []string{"--freeze", tmp + "/none/F", "-c"}},
	}...)
	for _, c := range cases {
		name := strings.Join(c.args, " ")
		t.Run(name, func(t *testing.T) {
			dir := spoolDir
			if c.spool != "" {
				dir = c.spool
			}
			argv := []string{perl, "--spool", dir}
			for _, a := range c.args {
				// Perl's freeze file is its own (Storable), apart from exigo's.
				argv = append(argv, strings.Replace(a, tmp+"/F", tmp+"/P", 1))
			}
			// Ages are in whole seconds: exigo is given the second
			// Perl ran in, and Perl runs again if its run spanned two.
			var want, wantErr string
			var wantCode int
			var now int64
			for try := 0; try < 5; try++ {
				now = time.Now().Unix()
				want, wantErr, wantCode = runScript(t, "", argv...)
				if time.Now().Unix() == now {
					break
				}
			}
			var out, errb bytes.Buffer
			code := ExipickMain(append([]string{"--spool", dir}, c.args...),
				ExipickEnv{Now: now, Stdout: &out, Stderr: &errb, Version: "4.96"})
			got := out.String()
			if c.words {
				// Perl's hash order decides the order of the variables.
				w, g := strings.Fields(want), strings.Fields(got)
				sort.Strings(w)
				sort.Strings(g)
				want, got = strings.Join(w, " "), strings.Join(g, " ")
			} else if !c.lineMode && strings.Contains(want, "\n\n") {
				want, got = normalizeExipick(want, false), normalizeExipick(got, false)
			} else if c.lineMode {
				want, got = normalizeExipick(want, true), normalizeExipick(got, true)
			}
			if got != want {
				t.Errorf("stdout differs\n--- exipick\n%s--- exigo\n%s", want, got)
			}
			if code != wantCode {
				t.Errorf("exit code %d, want %d", code, wantCode)
			}
			if errb.String() != wantErr {
				t.Errorf("stderr %q, want %q", errb.String(), wantErr)
			}
		})
	}
}
