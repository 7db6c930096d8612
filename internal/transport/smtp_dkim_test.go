package transport

import (
	"bufio"
	"bytes"
	"crypto"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/dkim"
	"github.com/exigo-mta/exigo/internal/message"
	"github.com/exigo-mta/exigo/internal/oracletest"
	"github.com/exigo-mta/exigo/internal/transport/smtptest"
)

// dkimCase is a set of smtp transport dkim_* options; {DIR} in an option
// is the key directory (keys DIR/rsa1024.pem, DIR/rsa2048.pem,
// DIR/ed25519.pem).
type dkimCase struct {
	opts string
	sigs int // DKIM-Signature fields expected
}

var dkimCases = []dkimCase{
	{"dkim_domain = example.org\n  dkim_selector = rsa1024\n  dkim_private_key = {DIR}/$dkim_selector.pem\n", 1},
	{"dkim_domain = Example.ORG\n  dkim_selector = rsa2048\n  dkim_private_key = {DIR}/rsa2048.pem\n  dkim_canon = simple\n", 1},
	{"dkim_domain = example.org\n  dkim_selector = ed25519\n  dkim_private_key = {DIR}/${dkim_selector}.pem\n  dkim_hash = sha512\n", 1},
	{"dkim_domain = a.example : b.example\n  dkim_selector = rsa1024 : ed25519\n  dkim_private_key = {DIR}/$dkim_selector.pem\n  dkim_identity = signer@$dkim_domain\n", 4},
	{"dkim_domain = example.org\n  dkim_selector = rsa1024\n  dkim_private_key = {DIR}/rsa1024.pem\n  dkim_sign_headers = _DKIM_OVERSIGN_HEADERS\n  dkim_timestamps = 3600\n", 1},
	{"dkim_domain = example.org\n  dkim_selector = rsa1024\n  dkim_private_key = {DIR}/rsa1024.pem\n  dkim_sign_headers = From:X-Case:Subject:=Bcc\n  dkim_hash = sha1\n", 1},
	{"dkim_domain = example.org : example.net\n  dkim_selector = rsa1024\n  dkim_private_key = ${if eq{$dkim_domain}{example.net}{0}{{DIR}/rsa1024.pem}}\n", 1},
	{"dkim_domain = example.org\n  dkim_selector = ${if eq{$dkim_domain}{example.org}{ed25519}{}}\n  dkim_private_key = {DIR}/$dkim_selector.pem\n  dkim_canon = ${if eq{$dkim_selector}{ed25519}{simple}{relaxed}}\n", 1},
	{"dkim_domain = example.org\n  dkim_selector = rsa1024\n  dkim_private_key = {DIR}/missing.pem\n", 0},
	{"dkim_domain =\n  dkim_selector = rsa1024\n  dkim_private_key = {DIR}/rsa1024.pem\n", 0},
}

var dkimMessages = []string{
	"From: a@example.org\nTo: b@example.net\nSubject: hello\nDate: Fri, 27 Nov 2026 09:05:51 +0000\nMessage-ID: <m1@example.org>\n\nbody line\n\n\n",
	"from: A <a@example.org>\nSubject:   one  \n\tcontinued\t here \nTo: x@example.net,\n  y@example.net\nMIME-Version: 1.0\n\n  leading and trailing  \t\n.dot line\n\nlast",
}

// dkimKeys writes the three test keys into a new directory that Exim's
// delivery processes can read.
func dkimKeys(t *testing.T) (string, map[string]crypto.Signer) {
	dir := tempDir(t)
	keys := map[string]crypto.Signer{}
	for name, kt := range map[string][2]any{"rsa1024": {"rsa", 1024}, "rsa2048": {"rsa", 2048}, "ed25519": {"ed25519", 0}} {
		k, err := dkim.GenerateKey(kt[0].(string), kt[1].(int))
		if err != nil {
			t.Fatal(err)
		}
		keys[name] = k
		pemb, err := dkim.MarshalPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".pem"), pemb, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, keys
}

// caseSink is an smtptest server that files each message under its
// X-Case: header.
func caseSink(t *testing.T) (*smtptest.Server, func(string) string) {
	var mu sync.Mutex
	got := map[string]string{}
	s := startServer(t, &smtptest.Server{Pipelining: true, Data: func(_ string, msg []byte) string {
		text := strings.ReplaceAll(string(msg), "\r\n", "\n")
		hs, _, _ := message.ReadHeaders(bufio.NewReader(strings.NewReader(text)))
		if v, ok := hs.Raw("X-Case"); ok {
			mu.Lock()
			got[strings.TrimSpace(v)] = text
			mu.Unlock()
		}
		return "250 OK"
	}})
	return s, func(k string) string {
		mu.Lock()
		defer mu.Unlock()
		v := got[k]
		delete(got, k)
		return v
	}
}

// TestSMTPDKIMDifferential sends messages through real Exim's smtp
// transport with dkim_* options, then the same message (Exim's, without
// its signatures) through exigo's with the same options: what reaches the
// server must be identical. Every message exigo sent is then verified by
// python3-dkim.
func TestSMTPDKIMDifferential(t *testing.T) {
	exim := oracletest.Exim(t)
	dir, keys := dkimKeys(t)
	srv, take := caseSink(t)
	var conf strings.Builder
	fmt.Fprintf(&conf, "spool_directory = %s/spool\nlog_file_path = %s/%%slog\nprimary_hostname = mx.example.org\nkeep_environment =\ndeliver_drop_privilege = true\nbegin routers\n", dir, dir)
	for i := range dkimCases {
		fmt.Fprintf(&conf, "r%d:\n  driver = manualroute\n  local_parts = c%d\n  route_list = * 127.0.0.1\n  self = send\n  transport = t%d\n", i, i, i)
	}
	conf.WriteString("begin transports\n")
	var exigoConf strings.Builder
	for i, c := range dkimCases {
		opts := strings.ReplaceAll(c.opts, "{DIR}", dir)
		tr := fmt.Sprintf("  driver = smtp\n  port = %d\n  allow_localhost\n  hosts_avoid_tls = *\n  hosts_try_chunking =\n  hosts_try_fastopen =\n  headers_add = X-Case: c%d\n  %s", srv.Port(), i, opts)
		fmt.Fprintf(&conf, "t%d:\n%s", i, tr)
		fmt.Fprintf(&exigoConf, "t%d:\n%s", i, strings.ReplaceAll(tr, "_DKIM_OVERSIGN_HEADERS", dkim.OversignHeaders))
	}
	cf := filepath.Join(dir, "exim.conf")
	if err := os.WriteFile(cf, []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var pyReqs []map[string]string
	records := map[string]string{}
	for name, k := range keys {
		rec, err := dkim.Record(k.Public())
		if err != nil {
			t.Fatal(err)
		}
		records[name] = rec
	}
	compared := 0
	for mi, msg := range dkimMessages {
		var rcpts []string
		for i := range dkimCases {
			rcpts = append(rcpts, fmt.Sprintf("c%d@example.net", i))
		}
		res := oracletest.Run(t, exim, msg, append([]string{"-C", cf, "-odi", "-f", "a@example.org"}, rcpts...)...)
		if res.Code != 0 {
			t.Fatalf("exim: %d %s %s", res.Code, res.Stdout, res.Stderr)
		}
		for i, c := range dkimCases {
			want := take(fmt.Sprintf("c%d", i))
			if want == "" {
				log, _ := os.ReadFile(filepath.Join(dir, "mainlog"))
				t.Fatalf("message %d case %d: Exim delivered nothing\n%s", mi, i, log)
			}
			hs, _, err := message.ReadHeaders(bufio.NewReader(strings.NewReader(want)))
			if err != nil {
				t.Fatal(err)
			}
			nsig := 0
			for nsig < len(hs) && hs[nsig].Name == "DKIM-Signature" {
				nsig++
			}
			if nsig != c.sigs {
				t.Errorf("message %d case %d: Exim added %d signatures, the test expects %d", mi, i, nsig, c.sigs)
			}
			// The message as Exim's transport got it: no signatures,
			// no X-Case: (headers_add adds it again).
			in := hs[nsig : len(hs)-1]
			body := want[strings.Index(want, "\n\n")+2:]
			var text strings.Builder
			for _, h := range in {
				text.WriteString(h.Text)
			}
			text.WriteString("\n" + body)
			d := smtpDelivery(t, srv.Port(), rcpts[i])
			h, b := newMessage(t, "a@example.org", text.String())
			d.Header, d.Body, d.BodySize = h, bytes.NewReader(b), int64(len(b))
			if nsig > 0 {
				if ts := dkimTag(hs[0].Text, "t"); ts != "" {
					n, _ := strconv.ParseInt(ts, 10, 64)
					d.Now = func() time.Time { return time.Unix(n, 0) }
				}
			}
			tr := newTransport(t, exigoConf.String(), fmt.Sprintf("t%d", i))
			rs := deliver(t, tr, d)
			if rs[0].Status != OK {
				t.Fatalf("message %d case %d: exigo: %+v", mi, i, rs[0])
			}
			got := take(fmt.Sprintf("c%d", i))
			compared++
			if got != want {
				t.Errorf("message %d case %d:\nexigo:\n%s\nexim:\n%s", mi, i, got, want)
			}
			ghs, _, _ := message.ReadHeaders(bufio.NewReader(strings.NewReader(got)))
			for _, gh := range ghs {
				if gh.Name != "DKIM-Signature" {
					break
				}
				// dkimpy verifies the first signature; rotate each
				// one to the top in turn. It knows no ed25519-sha512
				// (RFC 8463 defines ed25519-sha256 only).
				if dkimTag(gh.Text, "a") == "ed25519-sha512" {
					continue
				}
				rest := strings.Replace(got, gh.Text, "", 1)
				pyReqs = append(pyReqs, map[string]string{"op": "verify", "msg": gh.Text + rest, "record": records[dkimTag(gh.Text, "s")]})
			}
		}
	}
	t.Logf("%d messages compared with Exim", compared)
	answers := runDkimpy(t, pyReqs)
	for i, a := range answers {
		if a != "pass" {
			t.Errorf("python3-dkim: %s for\n%s", a, pyReqs[i]["msg"])
		}
	}
	t.Logf("%d signatures verified by python3-dkim", len(answers))
}

// dkimTag returns the value of a tag of a DKIM-Signature field.
func dkimTag(field, name string) string {
	tags, err := dkim.ParseTags(field[strings.IndexByte(field, ':')+1:])
	if err != nil {
		return ""
	}
	for _, tg := range tags {
		if tg.Name == name {
			return tg.Value
		}
	}
	return ""
}

// runDkimpy runs internal/dkim's python3-dkim driver on requests.
func runDkimpy(t *testing.T, reqs []map[string]string) []string {
	if len(reqs) == 0 {
		return nil
	}
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import dkim, nacl").Run(); err != nil {
		oracletest.Missing(t, "python3-dkim and python3-nacl")
	}
	in, _ := json.Marshal(reqs)
	cmd := exec.Command(py, "../dkim/testdata/dkimpy.py")
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("dkimpy: %v", err)
	}
	var answers []string
	if err := json.Unmarshal(out, &answers); err != nil {
		t.Fatal(err)
	}
	return answers
}

// TestSMTPDKIMKeyProblems: dkim_strict and an unreadable key defer the
// delivery as Exim 4.96 does (errno 13, "Permission denied", two log
// lines); without dkim_strict the message goes unsigned; an inline key
// signs.
func TestSMTPDKIMKeyProblems(t *testing.T) {
	dir, keys := dkimKeys(t)
	pemb, _ := os.ReadFile(filepath.Join(dir, "ed25519.pem"))
	inline := strings.ReplaceAll(strings.TrimSpace(string(pemb)), "\n", "\\n")
	srv, take := caseSink(t)
	tests := []struct {
		name, opts string
		status     Status
		errno      int
		log        []string
		sigs       int
	}{
		{"strict", "dkim_private_key = {DIR}/missing.pem\n  dkim_strict = ${if eq{$dkim_domain}{example.org}{true}}\n", Defer, 13,
			[]string{"unable to open file for reading: {DIR}/missing.pem", "DKIM: message could not be signed, and dkim_strict is set. Deferring message delivery."}, 0},
		{"not-strict", "dkim_private_key = {DIR}/missing.pem\n", OK, 0, []string{"unable to open file for reading: {DIR}/missing.pem"}, 0},
		{"disabled-strict", "dkim_private_key = 0\n  dkim_strict = true\n", OK, 0, nil, 0},
		{"inline", "dkim_private_key = \"" + inline + "\"\n", OK, 0, nil, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conf := fmt.Sprintf("t:\n  driver = smtp\n  allow_localhost\n  hosts_try_chunking =\n  headers_add = X-Case: %s\n  dkim_domain = example.org\n  dkim_selector = ed25519\n  %s", tc.name, strings.ReplaceAll(tc.opts, "{DIR}", dir))
			tr := newTransport(t, conf, "t")
			d := smtpDelivery(t, srv.Port(), "x@example.net")
			var logged []string
			d.Log = func(s string) { logged = append(logged, s) }
			rs := deliver(t, tr, d)
			if rs[0].Status != tc.status || rs[0].Errno != tc.errno {
				t.Errorf("result %+v, want status %v errno %d", rs[0], tc.status, tc.errno)
			}
			if tc.status == Defer && rs[0].Message != "Permission denied" {
				t.Errorf("message %q", rs[0].Message)
			}
			var want []string
			for _, l := range tc.log {
				want = append(want, strings.ReplaceAll(l, "{DIR}", dir))
			}
			if strings.Join(logged, "\n") != strings.Join(want, "\n") {
				t.Errorf("logged %q, want %q", logged, want)
			}
			got := take(tc.name)
			if n := strings.Count(got, "DKIM-Signature:"); tc.status == OK && n != tc.sigs {
				t.Errorf("%d signatures in\n%s", n, got)
			}
			if tc.sigs > 0 {
				rec, _ := dkim.Record(keys["ed25519"].Public())
				if a := runDkimpy(t, []map[string]string{{"op": "verify", "msg": got, "record": rec}}); a[0] != "pass" {
					t.Errorf("python3-dkim: %s\n%s", a[0], got)
				}
			}
		})
	}
}

// TestSMTPDKIMSize: SIZE= does not count the DKIM signatures (Exim 4.96
// sends the same SIZE= with and without dkim_domain).
func TestSMTPDKIMSize(t *testing.T) {
	dir, _ := dkimKeys(t)
	var mu sync.Mutex
	var mails []string
	srv := startServer(t, &smtptest.Server{Size: true, Mail: func(line string) string {
		mu.Lock()
		mails = append(mails, line)
		mu.Unlock()
		return "250 OK"
	}})
	for _, opts := range []string{"", "dkim_domain = example.org\n  dkim_selector = rsa1024\n  dkim_private_key = " + dir + "/rsa1024.pem\n"} {
		tr := newTransport(t, "t:\n  driver = smtp\n  allow_localhost\n  hosts_try_chunking =\n  "+opts, "t")
		if rs := deliver(t, tr, smtpDelivery(t, srv.Port(), "x@example.net")); rs[0].Status != OK {
			t.Fatalf("%+v", rs[0])
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(mails) != 2 || mails[0] != mails[1] || !strings.Contains(mails[0], "SIZE=") {
		t.Errorf("MAIL commands %q", mails)
	}
}
