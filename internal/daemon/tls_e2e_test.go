package daemon_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// writeCert writes a self-signed certificate and its key for
// test.example into dir, readable by the Exim user.
func writeCert(t *testing.T, dir string) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "test.example"},
		DNSNames:     []string{"test.example"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o644)
	return cert, key
}

// tlsAuthDir is runDir's configuration with TLS (with a tls_on_connect port), two plaintext
// authenticators (PLAIN and LOGIN, user "user", password "secret") and
// MAIL, RCPT and DATA ACLs that reject on request to runDir's
// configuration.
func tlsAuthDir(t *testing.T, smtpsPort int) (dir, conf string) {
	t.Helper()
	dir, conf = runDir(t, "")
	cert, key := writeCert(t, dir)
	main := fmt.Sprintf(`tls_certificate = %s
tls_privatekey = %s
tls_on_connect_ports = %d
auth_advertise_hosts = *
acl_smtp_mail = acl_m
acl_smtp_data = acl_d
`, cert, key, smtpsPort)
	b, _ := os.ReadFile(conf)
	text := main + strings.Replace(string(b), "acl_r:\n  accept\n", `acl_r:
  accept local_parts = sub
         control = submission/domain=x.y/name=Foo
  deny local_parts = bad
       message = no bad
  accept
acl_m:
  deny senders = bad@b.example
  accept
acl_d:
  deny condition = ${if def:h_X-Reject:}
       message = rejected by X-Reject
  accept
`, 1) + `begin authenticators
plain:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = ${if and {{eq{$auth2}{user}}{eq{$auth3}{secret}}}}
  server_set_id = $auth2
login:
  driver = plaintext
  public_name = LOGIN
  server_prompts = Username:: : Password::
  server_condition = ${if and {{eq{$auth1}{user}}{eq{$auth2}{secret}}}}
  server_set_id = $auth1
`
	os.WriteFile(conf, []byte(text), 0o644)
	return dir, conf
}

// startDaemonPorts starts bin -bdf listening on the two ports (-oX
// "p1 : p2") and waits until both accept.
func startDaemonPorts(t *testing.T, bin, conf string, p1, p2 int) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "-C", conf, "-bdf", "-oX", fmt.Sprintf("%d : %d", p1, p2))
	cmd.Env = append(os.Environ(), "TZ=UTC")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for _, p := range []int{p1, p2} {
		for {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s did not start listening on %d", bin, p)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return cmd
}

// clientCase is one real client's session against a daemon.
type clientCase struct {
	name string
	// run talks to the daemon (SMTP port, SMTPS port) and returns the
	// client's view of the server's replies.
	run func(t *testing.T, port, smtps int) string
}

// swaks runs swaks and returns the server's replies as swaks shows them
// ("<-" in clear, "<~" over TLS) plus its "TLS started" notice.
func swaks(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("swaks", args...).CombinedOutput()
	var keep []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "<") || strings.HasPrefix(l, "=== TLS started") || strings.Contains(l, "***") {
			keep = append(keep, l)
		}
	}
	if err != nil {
		keep = append(keep, "exit: "+err.Error())
	}
	return strings.Join(keep, "\n")
}

var tlsClientCases = []clientCase{
	{"swaks-tls-plain", func(t *testing.T, port, _ int) string {
		return swaks(t, "--server", fmt.Sprintf("127.0.0.1:%d", port), "--tls", "--auth", "PLAIN", "--auth-user", "user", "--auth-password", "secret", "-f", "a@b.example", "-t", "x@y.example", "--header", "Message-Id: <plain@x>")
	}},
	{"swaks-tls-login", func(t *testing.T, port, _ int) string {
		return swaks(t, "--server", fmt.Sprintf("127.0.0.1:%d", port), "--tls", "--auth", "LOGIN", "--auth-user", "user", "--auth-password", "secret", "-f", "a@b.example", "-t", "x@y.example", "--header", "Message-Id: <login@x>")
	}},
	{"swaks-tlsc-plain", func(t *testing.T, _, smtps int) string {
		return swaks(t, "--server", fmt.Sprintf("127.0.0.1:%d", smtps), "--tlsc", "--auth", "PLAIN", "--auth-user", "user", "--auth-password", "secret", "-f", "a@b.example", "-t", "x@y.example", "--header", "Message-Id: <tlsc@x>")
	}},
	{"swaks-tls-badpass", func(t *testing.T, port, _ int) string {
		return swaks(t, "--server", fmt.Sprintf("127.0.0.1:%d", port), "--tls", "--auth", "PLAIN", "--auth-user", "user", "--auth-password", "wrong", "-f", "a@b.example", "-t", "x@y.example")
	}},
	{"swaks-data-reject", func(t *testing.T, port, _ int) string {
		return swaks(t, "--server", fmt.Sprintf("127.0.0.1:%d", port), "-f", "a@b.example", "-t", "x@y.example,bad@y.example,z@y.example", "--data",
			"From: a@b\nFrom: c@d\nSender: s@b\nReply-To: r@b\nMessage-ID: <1@x>\nMessage-Id: <2@x>\nTo: a\nCc: c\nBcc: d\nX-Reject: 1\n\nbody\n")
	}},
	{"swaks-data-reject-resent", func(t *testing.T, port, _ int) string {
		return swaks(t, "--server", fmt.Sprintf("127.0.0.1:%d", port), "-f", "a@b.example", "-t", "x@y.example", "--data",
			"Resent-Message-ID: <r1@x>\nResent-Message-ID: <r2@x>\nMessage-ID: <1@x>\nResent-From: x@y\nResent-To: a\nResent-Reply-To: d\nX-Reject: 1\n\nbody\n")
	}},
	{"swaks-submission", func(t *testing.T, port, _ int) string {
		return swaks(t, "--server", fmt.Sprintf("127.0.0.1:%d", port), "-f", "a@b.example", "-t", "sub@y.example", "--data", "Subject: hi\nTo: sub@y.example\n\nbody\n")
	}},
	{"swaks-submission-auth", func(t *testing.T, port, _ int) string {
		return swaks(t, "--server", fmt.Sprintf("127.0.0.1:%d", port), "--tls", "--auth", "PLAIN", "--auth-user", "user", "--auth-password", "secret", "-f", "<>", "-t", "sub@y.example", "--data", "Subject: hi\nTo: sub@y.example\n\nbody\n")
	}},
	{"swaks-mail-reject", func(t *testing.T, port, _ int) string {
		return swaks(t, "--server", fmt.Sprintf("127.0.0.1:%d", port), "-f", "bad@b.example", "-t", "x@y.example")
	}},
	{"smtplib-starttls-login", func(t *testing.T, port, _ int) string {
		py := fmt.Sprintf(`import smtplib, ssl
s = smtplib.SMTP("127.0.0.1", %d)
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
print(s.ehlo("py.example"))
print(s.starttls(context=ctx))
print(s.ehlo("py.example"))
print(s.login("user", "secret"))
print(s.sendmail("py@b.example", ["x@y.example"], "Subject: py\r\nMessage-ID: <py@x>\r\n\r\nfrom Python\r\n"))
print(s.quit())
`, port)
		out, err := exec.Command("/usr/bin/python3", "-c", py).CombinedOutput()
		if err != nil {
			return fmt.Sprintf("error %v: %s", err, out)
		}
		return string(out)
	}},
	{"openssl-starttls", func(t *testing.T, port, _ int) string {
		cmd := exec.Command("openssl", "s_client", "-starttls", "smtp", "-connect", fmt.Sprintf("127.0.0.1:%d", port), "-quiet")
		pr, pw, _ := os.Pipe()
		cmd.Stdin = pr
		go func() {
			time.Sleep(500 * time.Millisecond)
			pw.WriteString("EHLO os.example\r\nQUIT\r\n")
			time.Sleep(500 * time.Millisecond)
			pw.Close()
		}()
		out, _ := cmd.Output()
		pr.Close()
		return string(out)
	}},
	{"lost-connections", func(t *testing.T, port, _ int) string {
		var b strings.Builder
		for _, data := range []string{"", "Subj", "Subject: x\r\nFrom: y\r\n", "Subject: x\r\n\r\nbody", "-"} {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err != nil {
				return err.Error()
			}
			buf := make([]byte, 4096)
			c.Read(buf)
			cmds := "EHLO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\nDATA\r\n" + data
			if data == "-" {
				cmds = "EHLO a\r\nMAIL FROM:<a@b>\r\n"
			}
			c.Write([]byte(cmds))
			time.Sleep(200 * time.Millisecond)
			n, _ := c.Read(buf)
			b.Write(buf[:n])
			c.Close()
			// Let the daemon log before the next connection.
			time.Sleep(100 * time.Millisecond)
		}
		return b.String()
	}},
}

// e2eMask hides what differs between the two daemons' runs: times, ids,
// ports, client message ids, and the TLS 1.3 cipher (Go's TLS prefers
// AES-128-GCM where GnuTLS prefers AES-256-GCM; neither is configurable
// for TLS 1.3 in Go).
var e2eMask = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d`), "DATE"},
	{regexp.MustCompile(`\w\w\w, \d\d? \w\w\w \d{4} \d\d:\d\d:\d\d [+-]\d{4}`), "RFCDATE"},
	{regexp.MustCompile(`\b[0-9A-Za-z]{6}-[0-9A-Za-z]{6}-[0-9A-Za-z]{2}\b`), "ID"},
	{regexp.MustCompile(`pid=\d+`), "pid=N"},
	{regexp.MustCompile(`port \d+`), "port N"},
	{regexp.MustCompile(`<\d{14}\.\d+@[^>]*>`), "<SWAKSID>"},
	{regexp.MustCompile(`id=\d{14}\.\d+@\S+`), "id=SWAKSID"},
	{regexp.MustCompile(`AES_128_GCM:128|AES_256_GCM:256`), "AES_GCM"},
	{regexp.MustCompile(`TLS_AES_128_GCM_SHA256:128|TLS_AES_256_GCM_SHA384:256`), "TLS_AES_GCM"},
}

func e2eMasked(s string) string {
	for _, m := range e2eMask {
		s = m.re.ReplaceAllString(s, m.with)
	}
	return s
}

// daemonRun is what one daemon produced for the client cases.
type daemonRun struct {
	replies         []string
	mainlog, reject string
}

// interesting are the main log lines the test compares.
var interesting = regexp.MustCompile(` <= | rejected |authenticator failed|lost while reading|unexpected disconnection|daemon started`)

func runTLSClients(t *testing.T, bin string) daemonRun {
	t.Helper()
	port, smtps := freePort(t), freePort(t)
	dir, conf := tlsAuthDir(t, smtps)
	cmd := startDaemonPorts(t, bin, conf, port, smtps)
	var r daemonRun
	for _, c := range tlsClientCases {
		r.replies = append(r.replies, e2eMasked(c.run(t, port, smtps)))
		time.Sleep(50 * time.Millisecond)
	}
	waitArrivals(t, dir, 4)
	time.Sleep(200 * time.Millisecond)
	stop(t, cmd)
	b, _ := os.ReadFile(filepath.Join(dir, "log", "mainlog"))
	var keep []string
	for _, l := range strings.Split(string(b), "\n") {
		if interesting.MatchString(l) {
			keep = append(keep, e2eMasked(l))
		}
	}
	r.mainlog = strings.Join(keep, "\n")
	rb, _ := os.ReadFile(filepath.Join(dir, "log", "rejectlog"))
	r.reject = e2eMasked(string(rb))
	return r
}

// TestDaemonTLSAuthDifferential runs real clients (swaks with STARTTLS,
// tls_on_connect and AUTH PLAIN/LOGIN, Python's smtplib with starttls()
// and login(), openssl s_client -starttls smtp, raw sockets dropping the
// connection) against real Exim's daemon and exigo's with the same
// configuration, and compares the replies the clients saw, the main log
// lines and the reject log after masking.
func TestDaemonTLSAuthDifferential(t *testing.T) {
	if testing.Short() {
		t.Skip("live daemons: slow")
	}
	exim := oracletest.Exim(t)
	for _, tool := range []string{"swaks", "openssl", "/usr/bin/python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			oracletest.Missing(t, tool)
		}
	}
	bin := oracletest.Exigo(t)
	want := runTLSClients(t, exim)
	got := runTLSClients(t, bin)
	for i, c := range tlsClientCases {
		if got.replies[i] != want.replies[i] {
			t.Errorf("%s: replies differ\nexim:\n%s\nexigo:\n%s", c.name, want.replies[i], got.replies[i])
		}
	}
	if got.mainlog != want.mainlog {
		t.Errorf("main log differs\nexim:\n%s\nexigo:\n%s", want.mainlog, got.mainlog)
	}
	if got.reject != want.reject {
		t.Errorf("reject log differs\nexim:\n%s\nexigo:\n%s", want.reject, got.reject)
	}
	for _, l := range []string{"P=esmtpsa X=TLS1.3:ECDHE_X25519__", "A=plain:user", "A=login:user"} {
		if !strings.Contains(got.mainlog, l) {
			t.Errorf("exigo's main log lacks %q:\n%s", l, got.mainlog)
		}
	}
}
