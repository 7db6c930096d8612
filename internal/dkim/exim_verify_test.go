package dkim

import (
	"bufio"
	"context"
	"crypto"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/dns"
	"github.com/exigo-mta/exigo/internal/dns/dnstest"
	"github.com/exigo-mta/exigo/internal/message"
	"github.com/exigo-mta/exigo/internal/oracletest"
)

// verifyCase is one message given to Exim and exigo for verification.
type verifyCase struct {
	name string
	msg  string // with DKIM-Signature fields made by exigo
}

// verifyZone returns the key records for the test keys, under the
// selectors rsa1024, rsa2048, ed25519 of example.org, plus broken ones.
func verifyZone(t testing.TB, keys map[string]crypto.Signer) string {
	var b strings.Builder
	for name, k := range keys {
		rec, err := Record(k.Public())
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(ZoneLine(name, "example.org", rec) + "\n")
		b.WriteString(ZoneLine(name, "flags.example", rec+"; t=y:s; g=*; s=email; n=some notes") + "\n")
	}
	b.WriteString(`bad._domainkey.example.org. 300 IN TXT "v=DKIM1; k=rsa; p=!!notbase64"` + "\n")
	b.WriteString(`revoked._domainkey.example.org. 300 IN TXT "v=DKIM1; k=rsa; p="` + "\n")
	return b.String()
}

const verifyBase = "Received: from x by y; Fri, 27 Nov 2026 09:05:51 +0000\nFrom: A <a@example.org>\nTo: b@example.net\nSubject: test message\nDate: Fri, 27 Nov 2026 09:05:51 +0000\nMessage-ID: <1@example.org>\n\nHello,\n\n  this is a body.  \n\n"

func signFor(t testing.TB, msg string, opts ...SignOptions) string {
	t.Helper()
	hs, _, err := message.ReadHeaders(bufio.NewReader(strings.NewReader(msg)))
	if err != nil {
		t.Fatal(err)
	}
	body := msg[strings.Index(msg, "\n\n")+2:]
	sigs, err := Sign(hs, strings.NewReader(body), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(sigs, "") + msg
}

func verifyCases(t testing.TB, keys map[string]crypto.Signer) []verifyCase {
	o := func(d, s, key, canon string) SignOptions {
		return SignOptions{Domain: d, Selector: s, Key: keys[key], Canon: canon, Now: time.Unix(1795770379, 0)}
	}
	var cs []verifyCase
	for _, k := range []string{"rsa1024", "rsa2048", "ed25519"} {
		for _, c := range []string{"relaxed", "simple"} {
			cs = append(cs, verifyCase{k + "-" + c, signFor(t, verifyBase, o("example.org", k, k, c))})
		}
	}
	good := signFor(t, verifyBase, o("example.org", "rsa1024", "rsa1024", "relaxed"))
	cs = append(cs,
		verifyCase{"body-tampered", strings.Replace(good, "this is a body", "this is a bodY", 1)},
		verifyCase{"header-tampered", strings.Replace(good, "Subject: test message", "Subject: test massage", 1)},
		verifyCase{"unsigned", verifyBase},
		verifyCase{"no-key", signFor(t, verifyBase, o("example.org", "missing", "rsa1024", "relaxed"))},
		verifyCase{"bad-key", signFor(t, verifyBase, o("example.org", "bad", "rsa1024", "relaxed"))},
		verifyCase{"revoked-key", signFor(t, verifyBase, o("example.org", "revoked", "rsa1024", "relaxed"))},
		verifyCase{"wrong-key", signFor(t, verifyBase, o("example.org", "rsa2048", "rsa1024", "relaxed"))},
		verifyCase{"flags", signFor(t, verifyBase, SignOptions{Domain: "flags.example", Selector: "ed25519", Key: keys["ed25519"], Identity: "me@flags.example", Timestamps: "3600", Now: time.Unix(1795770379, 0)})},
		verifyCase{"two-sigs", signFor(t, verifyBase, o("example.org", "rsa1024", "rsa1024", "relaxed"), o("flags.example", "ed25519", "ed25519", "simple"))},
		verifyCase{"sha1", signFor(t, verifyBase, SignOptions{Domain: "example.org", Selector: "rsa2048", Key: keys["rsa2048"], Hash: "sha1"})},
		verifyCase{"sha512", signFor(t, verifyBase, SignOptions{Domain: "example.org", Selector: "rsa2048", Key: keys["rsa2048"], Hash: "sha512"})},
		verifyCase{"garbage-sig", "DKIM-Signature: v=1; a=rsa-sha256; d=example.org\n" + verifyBase},
	)
	return cs
}

const verifyACL = `V signer=$dkim_cur_signer status=$dkim_verify_status reason=$dkim_verify_reason d=$dkim_domain s=$dkim_selector i=$dkim_identity a=$dkim_algo c=$dkim_canon_headers/$dkim_canon_body h=$dkim_headernames l=$dkim_bodylength t=$dkim_created x=$dkim_expires kl=$dkim_key_length kt=$dkim_key_testing kn=$dkim_key_nosubdomains ks=$dkim_key_srvtype kg=$dkim_key_granularity knotes=$dkim_key_notes`

// TestEximVerifyDifferential gives messages signed by exigo to real Exim
// (-bs, acl_smtp_dkim logging the $dkim_* variables, +dkim_verbose) and
// compares its log lines with exigo's Verify. Exim reads only
// /etc/resolv.conf, so the test re-runs itself inside new mount and network
// namespaces where a resolv.conf naming 127.0.0.1 is bind-mounted and the
// key records are served on port 53.
func TestEximVerifyDifferential(t *testing.T) {
	exim := oracletest.Exim(t)
	if os.Getenv("EXIGO_DKIM_NETNS") == "" {
		unshare, err := exec.LookPath("unshare")
		if err != nil || os.Geteuid() != 0 {
			oracletest.Missing(t, "root and unshare(1) (to give Exim a private DNS server)")
		}
		cmd := exec.Command(unshare, "-m", "-n", os.Args[0], "-test.run=^TestEximVerifyDifferential$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "EXIGO_DKIM_NETNS=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("in namespaces: %v\n%s", err, out)
		}
		if strings.Contains(string(out), "SKIP") {
			t.Skipf("child skipped:\n%s", out)
		}
		t.Logf("%s", lastLines(string(out), 3))
		return
	}
	if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("ip link: %v %s", err, out)
	}
	dir := eximDir(t)
	resolv := filepath.Join(dir, "resolv.conf")
	os.WriteFile(resolv, []byte("nameserver 127.0.0.1\n"), 0o644)
	if out, err := exec.Command("mount", "--bind", resolv, "/etc/resolv.conf").CombinedOutput(); err != nil {
		t.Fatalf("mount: %v %s", err, out)
	}
	keys := testKeys(t)
	dnstest.Start(t, "127.0.0.1:53", verifyZone(t, keys))
	conf := fmt.Sprintf(`spool_directory = %s/spool
log_file_path = %s/%%slog
primary_hostname = mx.example.org
keep_environment =
log_selector = +dkim_verbose
acl_smtp_rcpt = accept
acl_smtp_dkim = dkim_acl
dkim_verify_signers = other.example:$dkim_signers
begin acl
dkim_acl:
  warn logwrite = %s
  warn dkim_status = pass
       logwrite = P dkim_status matched pass
  warn dkim_status = none:invalid:fail
       logwrite = P dkim_status matched none:invalid:fail
  accept
`, dir, dir, verifyACL)
	cf := filepath.Join(dir, "exim.conf")
	os.WriteFile(cf, []byte(conf), 0o644)
	cases := verifyCases(t, keys)
	var smtp strings.Builder
	smtp.WriteString("EHLO client.example\r\n")
	for _, c := range cases {
		smtp.WriteString("MAIL FROM:<a@example.org>\r\nRCPT TO:<" + c.name + "@example.net>\r\nDATA\r\n")
		for _, l := range strings.SplitAfter(c.msg, "\n") {
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
	res := oracletest.Run(t, exim, smtp.String(), "-C", cf, "-bs", "-odq", "-oMa", "192.0.2.1")
	logb, _ := os.ReadFile(filepath.Join(dir, "mainlog"))
	eximLines := eximVerifyLines(string(logb))
	if len(eximLines) != len(cases) {
		t.Fatalf("got log for %d messages, want %d\n%s\n%s", len(eximLines), len(cases), res.Stdout, logb)
	}
	lookup := ResolverLookup(dns.New("127.0.0.1:53"))
	compared := 0
	for i, c := range cases {
		got := exigoVerifyLines(t, c.msg, lookup)
		compared++
		if strings.Join(got, "\n") != strings.Join(eximLines[i], "\n") {
			t.Errorf("%s:\nexigo:\n%s\nexim:\n%s", c.name, strings.Join(got, "\n"), strings.Join(eximLines[i], "\n"))
		}
	}
	t.Logf("%d messages compared", compared)
}

var logPrefix = regexp.MustCompile(`^\S+ \S+ (\S+) `)

// eximVerifyLines groups the DKIM log lines (V ... from the ACL, P ...
// from dkim_status, DKIM: from dkim_verbose, and the DKIM= field of the
// <= line) by message, in log order.
func eximVerifyLines(log string) [][]string {
	var out [][]string
	var cur []string
	for _, l := range strings.Split(log, "\n") {
		m := logPrefix.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		rest := l[len(m[0]):]
		switch {
		case strings.HasPrefix(rest, "V ") || strings.HasPrefix(rest, "P ") || strings.HasPrefix(rest, "DKIM: "):
			cur = append(cur, rest)
		case strings.HasPrefix(rest, "<= "):
			dk := "DKIM="
			if i := strings.Index(rest, " DKIM="); i >= 0 {
				dk += strings.Fields(rest[i+6:])[0]
			}
			cur = append(cur, dk)
			out = append(out, cur)
			cur = nil
		}
	}
	return out
}

// exigoVerifyLines produces the same lines from exigo's Verify, running
// the ACL of TestEximVerifyDifferential by hand.
func exigoVerifyLines(t *testing.T, msg string, lookup KeyLookup) []string {
	hs, _, err := message.ReadHeaders(bufio.NewReader(strings.NewReader(msg)))
	if err != nil {
		t.Fatal(err)
	}
	body := msg[strings.Index(msg, "\n\n")+2:]
	results := Verify(context.Background(), hs, strings.NewReader(body), lookup, VerifyOptions{})
	var out []string
	for i := range results {
		out = append(out, results[i].Notes...)
	}
	signers := Signers(results)
	for _, run := range ACLRuns("other.example:"+signers, results) {
		v := run.Vars()
		out = append(out, expandVars(verifyACL, v))
		if MatchStatus("pass", v["dkim_verify_status"]) {
			out = append(out, "P dkim_status matched pass")
		}
		if MatchStatus("none:invalid:fail", v["dkim_verify_status"]) {
			out = append(out, "P dkim_status matched none:invalid:fail")
		}
		if run.Result != nil {
			out = append(out, run.Result.LogLine())
		}
	}
	out = append(out, "DKIM="+LogField(results))
	return out
}

var varRef = regexp.MustCompile(`\$([a-z_]+)`)

func expandVars(s string, v map[string]string) string {
	return varRef.ReplaceAllStringFunc(s, func(m string) string { return v[m[1:]] })
}

func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}
