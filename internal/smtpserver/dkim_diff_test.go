package smtpserver_test

import (
	"bufio"
	"bytes"
	"crypto"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/dkim"
	"github.com/exigo-mta/exigo/internal/dns/dnstest"
	"github.com/exigo-mta/exigo/internal/message"
	"github.com/exigo-mta/exigo/internal/oracletest"
)

const dkimBase = "From: A <a@example.org>\nTo: b@example.net\nSubject: test message\nDate: Fri, 27 Nov 2026 09:05:51 +0000\nMessage-ID: <1@example.org>\n\nHello,\n\n  this is a body.  \n\n"

// dkimSigned returns msg with signatures made with opts.
func dkimSigned(t *testing.T, msg string, opts ...dkim.SignOptions) string {
	t.Helper()
	hs, _, err := message.ReadHeaders(bufio.NewReader(strings.NewReader(msg)))
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := dkim.Sign(hs, strings.NewReader(msg[strings.Index(msg, "\n\n")+2:]), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(sigs, "") + msg
}

// dkimDiffMessages are the messages of TestDKIMDifferential, by name
// (the recipient's local part).
func dkimDiffMessages(t *testing.T, keys map[string]crypto.Signer) [][2]string {
	now := time.Unix(1795770379, 0)
	o := func(d, s, key, canon string) dkim.SignOptions {
		return dkim.SignOptions{Domain: d, Selector: s, Key: keys[key], Canon: canon, Now: now}
	}
	good := dkimSigned(t, dkimBase, o("example.org", "rsa1024", "rsa1024", "relaxed"))
	return [][2]string{
		{"rsa", good},
		{"ed25519", dkimSigned(t, dkimBase, o("example.org", "ed25519", "ed25519", "simple"))},
		{"rsa2048-simple", dkimSigned(t, dkimBase, o("example.org", "rsa2048", "rsa2048", "simple"))},
		{"body-tampered", strings.Replace(good, "this is a body", "this is a bodY", 1)},
		{"header-tampered", strings.Replace(good, "Subject: test message", "Subject: test massage", 1)},
		{"unsigned", dkimBase},
		{"no-key", dkimSigned(t, dkimBase, o("example.org", "missing", "rsa1024", "relaxed"))},
		{"wrong-key", dkimSigned(t, dkimBase, o("example.org", "rsa2048", "rsa1024", "relaxed"))},
		{"two-sigs", dkimSigned(t, dkimBase, o("example.org", "rsa1024", "rsa1024", "relaxed"), o("other.example", "ed25519", "ed25519", "relaxed"))},
		{"identity", dkimSigned(t, dkimBase, dkim.SignOptions{Domain: "example.org", Selector: "ed25519", Key: keys["ed25519"], Identity: "me@example.org", Timestamps: "3600", Now: now})},
		{"sha1", dkimSigned(t, dkimBase, dkim.SignOptions{Domain: "example.org", Selector: "rsa1024", Key: keys["rsa1024"], Hash: "sha1"})},
		{"deny-me", dkimSigned(t, dkimBase, o("deny.example", "rsa1024", "rsa1024", "relaxed"))},
		{"garbage-sig", "DKIM-Signature: v=1; a=rsa-sha256; d=example.org\n" + dkimBase},
		{"order-rsa-ed-rsa", dkimSigned(t, dkimBase, o("a.example", "rsa1024", "rsa1024", "relaxed"), o("b.example", "ed25519", "ed25519", "relaxed"), o("c.example", "rsa1024", "rsa1024", "relaxed"))},
		{"order-ed-rsa-ed", dkimSigned(t, dkimBase, o("a.example", "ed25519", "ed25519", "relaxed"), o("b.example", "rsa1024", "rsa1024", "relaxed"), o("c.example", "ed25519", "ed25519", "relaxed"))},
		{"order-sha512-sha256", dkimSigned(t, dkimBase, dkim.SignOptions{Domain: "a.example", Selector: "rsa1024", Key: keys["rsa1024"], Hash: "sha512"}, o("b.example", "rsa1024", "rsa1024", "relaxed"))},
		{"order-sha256-sha512", dkimSigned(t, dkimBase, o("a.example", "rsa1024", "rsa1024", "relaxed"), dkim.SignOptions{Domain: "b.example", Selector: "rsa1024", Key: keys["rsa1024"], Hash: "sha512"})},
		{"order-mixed", dkimSigned(t, dkimBase, dkim.SignOptions{Domain: "a.example", Selector: "rsa1024", Key: keys["rsa1024"], Hash: "sha512"}, o("b.example", "ed25519", "ed25519", "relaxed"), o("c.example", "rsa1024", "rsa1024", "relaxed"))},
		{"ed-then-rsa", dkimSigned(t, dkimBase, o("other.example", "ed25519", "ed25519", "relaxed"), o("example.org", "rsa2048", "rsa2048", "simple"))},
	}
}

// dkimpySigned returns messages signed by python3-dkim: one intact, one
// tampered with.
func dkimpySigned(t *testing.T, keys map[string]crypto.Signer) [][2]string {
	if err := exec.Command("/usr/bin/python3", "-c", "import dkim, nacl").Run(); err != nil {
		oracletest.Missing(t, "python3-dkim and python3-nacl")
	}
	pemb, err := dkim.MarshalPrivateKey(keys["rsa1024"])
	if err != nil {
		t.Fatal(err)
	}
	req, _ := json.Marshal([]map[string]string{{"op": "sign", "msg": dkimBase, "key": string(pemb), "domain": "example.org",
		"selector": "rsa1024", "canon": "relaxed", "algo": "rsa-sha256"}})
	cmd := exec.Command("/usr/bin/python3", "../dkim/testdata/dkimpy.py")
	cmd.Stdin = bytes.NewReader(req)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("dkimpy: %v", err)
	}
	var answers []string
	if err := json.Unmarshal(out, &answers); err != nil || len(answers) != 1 {
		t.Fatalf("dkimpy answered %q", out)
	}
	signed := strings.ReplaceAll(answers[0], "\r\n", "\n")
	return [][2]string{
		{"dkimpy", signed},
		{"dkimpy-tampered", strings.Replace(signed, "this is a body", "this is not a body", 1)},
	}
}

const dkimDiffACL = `V $dkim_cur_signer st=$dkim_verify_status r=$dkim_verify_reason d=$dkim_domain s=$dkim_selector i=$dkim_identity a=$dkim_algo c=$dkim_canon_headers/$dkim_canon_body h=$dkim_headernames l=$dkim_bodylength t=$dkim_created x=$dkim_expires kl=$dkim_key_length signers=$dkim_signers`

// dkimDiffConfigs are the configurations compared ({DIR} is the spool
// and log directory).
var dkimDiffConfigs = []string{
	`log_selector = +dkim_verbose
acl_smtp_dkim = dkim_acl
dkim_verify_signers = other.example:$dkim_signers
begin acl
dkim_acl:
  warn logwrite = ` + dkimDiffACL + `
  warn dkim_status = pass
       logwrite = P matched pass
  warn dkim_status = none:invalid:fail
       logwrite = P matched none:invalid:fail
  warn dkim_signers = other.example
       set dkim_verify_status = policy
  deny dkim_signers = deny.example
       message = DKIM says no
  accept
data_acl:
  warn logwrite = D st=$dkim_verify_status signers=$dkim_signers d=$dkim_domain cur=$dkim_cur_signer
  accept
`,
	// No DKIM ACL, default selectors: verification still logs DKIM=.
	`begin acl
data_acl:
  warn logwrite = D st=$dkim_verify_status signers=$dkim_signers
  accept
`,
	// No DKIM ACL; the preference order of hashes reversed.
	`log_selector = +dkim_verbose
dkim_verify_keytypes = ed25519:rsa
dkim_verify_hashes = sha512:sha256
begin acl
data_acl:
  warn logwrite = D st=$dkim_verify_status signers=$dkim_signers
  accept
`,
	// dkim_verify_minimal, only RSA keys, sha256 only.
	`acl_smtp_dkim = dkim_acl
log_selector = +dkim_verbose -dkim
dkim_verify_minimal = true
dkim_verify_keytypes = rsa
dkim_verify_hashes = sha256
begin acl
dkim_acl:
  warn logwrite = ` + dkimDiffACL + `
  accept
data_acl:
  warn logwrite = D st=$dkim_verify_status signers=$dkim_signers
  accept
`,
	// control = dkim_disable_verify.
	`acl_smtp_dkim = dkim_acl
log_selector = +dkim_verbose
begin acl
dkim_acl:
  warn logwrite = ` + dkimDiffACL + `
  accept
rcpt_acl:
  accept control = dkim_disable_verify
data_acl:
  warn logwrite = D st=$dkim_verify_status signers=$dkim_signers
  accept
`,
}

var (
	dkimLogStamp = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d `)
	dkimTod      = regexp.MustCompile(`\d\d? [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [-+]\d{4}`)
)

// TestDKIMDifferential gives DKIM-signed messages to real Exim and to
// exigo (-bs, acl_smtp_dkim and the DATA ACL logging the $dkim_*
// variables) and compares the replies and the main logs. Both read only
// /etc/resolv.conf, so the test re-runs itself in new mount and network
// namespaces with a resolv.conf naming 127.0.0.1, where the key records
// are served.
func TestDKIMDifferential(t *testing.T) {
	exim := oracletest.Exim(t)
	if os.Getenv("EXIGO_DKIM_NETNS") == "" {
		unshare, err := exec.LookPath("unshare")
		if err != nil || os.Geteuid() != 0 {
			oracletest.Missing(t, "root and unshare(1) (to give Exim a private DNS server)")
		}
		cmd := exec.Command(unshare, "-m", "-n", os.Args[0], "-test.run=^TestDKIMDifferential$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "EXIGO_DKIM_NETNS=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("in namespaces: %v\n%s", err, out)
		}
		if strings.Contains(string(out), "--- SKIP") {
			t.Skipf("child skipped:\n%s", out)
		}
		t.Logf("%s", out)
		return
	}
	exigo := oracletest.Exigo(t)
	if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("ip link: %v %s", err, out)
	}
	top, err := os.MkdirTemp("", "exigo-dkimdiff-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(top) })
	os.Chmod(top, 0o777)
	resolv := filepath.Join(top, "resolv.conf")
	os.WriteFile(resolv, []byte("nameserver 127.0.0.1\n"), 0o644)
	if out, err := exec.Command("mount", "--bind", resolv, "/etc/resolv.conf").CombinedOutput(); err != nil {
		t.Fatalf("mount: %v %s", err, out)
	}
	keys := map[string]crypto.Signer{}
	var zone strings.Builder
	for name, kt := range map[string][2]any{"rsa1024": {"rsa", 1024}, "rsa2048": {"rsa", 2048}, "ed25519": {"ed25519", 0}} {
		k, err := dkim.GenerateKey(kt[0].(string), kt[1].(int))
		if err != nil {
			t.Fatal(err)
		}
		keys[name] = k
		rec, _ := dkim.Record(k.Public())
		for _, d := range []string{"example.org", "other.example", "deny.example", "a.example", "b.example", "c.example"} {
			zone.WriteString(dkim.ZoneLine(name, d, rec) + "\n")
		}
	}
	dnstest.Start(t, "127.0.0.1:53", zone.String())
	msgs := append(dkimDiffMessages(t, keys), dkimpySigned(t, keys)...)
	var smtp strings.Builder
	smtp.WriteString("EHLO client.example\r\n")
	for _, m := range msgs {
		smtp.WriteString("MAIL FROM:<a@example.org>\r\nRCPT TO:<" + m[0] + "@example.net>\r\nDATA\r\n")
		for _, l := range strings.SplitAfter(m[1], "\n") {
			if l == "" {
				continue
			}
			if strings.HasPrefix(l, ".") {
				l = "." + l
			}
			smtp.WriteString(strings.TrimSuffix(l, "\n") + "\r\n")
		}
		smtp.WriteString(".\r\n")
	}
	smtp.WriteString("QUIT\r\n")
	compared := 0
	for ci, conf := range dkimDiffConfigs {
		run := func(bin, name string, args ...string) (string, string) {
			dir := filepath.Join(top, fmt.Sprintf("%s%d%s", name, ci, args[0]))
			os.MkdirAll(dir, 0o777)
			os.Chmod(dir, 0o777)
			text := fmt.Sprintf("spool_directory = %s/spool\nlog_file_path = %s/%%slog\nprimary_hostname = mx.example.org\nkeep_environment =\nacl_smtp_rcpt = %s\nacl_smtp_data = data_acl\n%s",
				dir, dir, map[bool]string{true: "rcpt_acl", false: "accept"}[strings.Contains(conf, "rcpt_acl:")], conf)
			cf := filepath.Join(dir, "exim.conf")
			os.WriteFile(cf, []byte(text), 0o644)
			res := oracletest.Run(t, bin, smtp.String(), append([]string{"-C", cf}, args...)...)
			logb, _ := os.ReadFile(filepath.Join(dir, "mainlog"))
			mask := func(s string) string { return dkimNormalize(strings.ReplaceAll(s, dir, "<DIR>")) }
			return mask(res.Stdout), mask(res.Stderr + string(logb))
		}
		wantOut, wantLog := run(exim, "exim", "-bs", "-odq")
		gotOut, gotLog := run(exigo, "exigo", "-bs", "-odq")
		compared++
		if wantOut != gotOut {
			t.Errorf("config %d: replies differ\n--- exim\n%s\n--- exigo\n%s", ci, wantOut, gotOut)
		}
		if wantLog != gotLog {
			t.Errorf("config %d: logs differ\n--- exim\n%s\n--- exigo\n%s", ci, wantLog, gotLog)
		}
		// -bh: the same from a remote host, log lines on stderr.
		wantOut, wantLog = run(exim, "exim", "-bh", "192.0.2.1")
		gotOut, gotLog = run(exigo, "exigo", "-bh", "192.0.2.1")
		compared++
		if wantOut != gotOut {
			t.Errorf("config %d: replies differ\n--- exim\n%s\n--- exigo\n%s", ci, wantOut, gotOut)
		}
		if wantLog != gotLog {
			t.Errorf("config %d: logs differ\n--- exim\n%s\n--- exigo\n%s", ci, wantLog, gotLog)
		}
	}
	t.Logf("%d sessions (configurations x -bs/-bh) of %d messages compared", compared, len(msgs))
}

// dkimNormalize masks time stamps, dates and message ids.
func dkimNormalize(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		l = dkimLogStamp.ReplaceAllString(l, "")
		l = dkimTod.ReplaceAllString(l, "<DATE>")
		l = maskID.ReplaceAllString(l, "<ID>")
		out = append(out, strings.TrimRight(l, "\r"))
	}
	return strings.Join(out, "\n")
}
