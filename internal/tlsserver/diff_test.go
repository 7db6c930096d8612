package tlsserver

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/mainlog"
	"github.com/exigo-mta/exigo/internal/oracletest"
)

// eximDaemon is a real Exim listening on a loopback port.
type eximDaemon struct {
	port    string
	mainlog string
	cmd     *exec.Cmd
}

// startExim starts "exim -bdf" with a main section (plus spool, log and
// ACL settings) in a temporary directory; the test stops it.
func startExim(t *testing.T, main string) *eximDaemon {
	t.Helper()
	bin := oracletest.Exim(t)
	if os.Geteuid() != 0 {
		oracletest.Missing(t, "root (to run the Exim daemon)")
	}
	u, err := user.Lookup("Debian-exim")
	if err != nil {
		oracletest.Missing(t, "the Debian-exim user")
	}
	dir := t.TempDir()
	openUp(dir)
	run := filepath.Join(dir, "run")
	if err := os.Mkdir(run, 0o755); err != nil {
		t.Fatal(err)
	}
	var uid, gid int
	fmt.Sscan(u.Uid, &uid)
	fmt.Sscan(u.Gid, &gid)
	if err := os.Chown(run, uid, gid); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	conf := filepath.Join(dir, "exim.conf")
	text := "spool_directory = " + run + "/spool\nlog_file_path = " + run + "/%slog\nprimary_hostname = exim.test\n" +
		"log_selector = +tls_peerdn +tls_sni\nqueue_only\nacl_smtp_rcpt = acl_r\nlocal_interfaces = 127.0.0.1\n" + main + "\n" +
		"begin acl\nacl_r:\n  warn logwrite = VARS" + varsLogwrite + "\n  accept\n"
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-C", conf, "-bdf", "-oX", port)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &eximDaemon{port: port, mainlog: filepath.Join(run, "mainlog"), cmd: cmd}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
			c.Close()
			return d
		}
		time.Sleep(50 * time.Millisecond)
	}
	logs, _ := os.ReadFile(filepath.Join(run, "paniclog"))
	t.Fatalf("Exim daemon did not start listening: %s %s", stderr.String(), logs)
	return nil
}

// openUp makes dir and its parent (t.TempDir's per-test directory)
// searchable by the Exim user.
func openUp(dir string) {
	_ = os.Chmod(dir, 0o755)
	_ = os.Chmod(filepath.Dir(dir), 0o755)
}

// sendMail runs one SMTP session with STARTTLS using the Go client
// configuration and returns the server's reply to the final dot.
func sendMail(t *testing.T, port string, ccfg *tls.Config) error {
	t.Helper()
	conn, err := net.DialTimeout("tcp", "127.0.0.1:"+port, 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(conn)
	var rw interface {
		Write([]byte) (int, error)
	} = conn
	read := func() (string, error) {
		var all string
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return all, err
			}
			all += l
			if len(l) < 4 || l[3] != '-' {
				return all, nil
			}
		}
	}
	cmd := func(s string) (string, error) {
		if _, err := fmt.Fprintf(rw, "%s\r\n", s); err != nil {
			return "", err
		}
		return read()
	}
	if _, err := read(); err != nil {
		return err
	}
	if _, err := cmd("EHLO client.test"); err != nil {
		return err
	}
	if rep, err := cmd("STARTTLS"); err != nil || !strings.HasPrefix(rep, "220") {
		return fmt.Errorf("STARTTLS: %q %v", rep, err)
	}
	ccfg.InsecureSkipVerify = true
	tc := tls.Client(conn, ccfg)
	if err := tc.Handshake(); err != nil {
		return err
	}
	rw, r = tc, bufio.NewReader(tc)
	for _, c := range []string{"EHLO client.test", "MAIL FROM:<x@y.test>", "RCPT TO:<a@b.test>", "DATA"} {
		if _, err := cmd(c); err != nil {
			return err
		}
	}
	rep, err := cmd("Subject: t\r\n\r\nhi\r\n.")
	if err != nil || !strings.HasPrefix(rep, "250") {
		return fmt.Errorf("DATA: %q %v", rep, err)
	}
	_, _ = cmd("QUIT")
	return nil
}

// compared lists the variables whose values are compared.
var compared = []string{"tls_in_cipher", "tls_in_cipher_std", "tls_in_bits", "tls_in_ver", "tls_in_peerdn", "tls_in_sni",
	"tls_in_certificate_verified", "tls_in_ocsp", "tls_in_resumption", "tls_cipher", "tls_bits", "tls_peerdn", "tls_sni", "tls_certificate_verified"}

var varsLogwrite = func() string {
	var b strings.Builder
	for _, v := range compared {
		b.WriteString(" " + v + "=[$" + v + "]")
	}
	return b.String()
}()

func varsLine(m map[string]string) string {
	var b strings.Builder
	for _, v := range compared {
		b.WriteString(" " + v + "=[" + m[v] + "]")
	}
	return b.String()
}

var tlsFields = regexp.MustCompile(` X=\S+ CV=\S+(?: DN="(?:[^"\\]|\\.)*")?(?: SNI=\S+)?`)

// eximFields returns the TLS fields of the <= lines logged so far.
func (d *eximDaemon) fields(t *testing.T) []string {
	data, err := os.ReadFile(d.mainlog)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, " <= ") {
			out = append(out, tlsFields.FindString(l))
		}
		if _, v, ok := strings.Cut(l, " VARS"); ok {
			out = append(out, v)
		}
	}
	return out
}

// TestDifferential compares the X=, CV=, DN= and SNI= fields real Exim
// logs for a set of Go client settings, and the $tls_in_* variables an
// ACL logwrite shows, with what this package reports for the same
// settings against a Go server built from the same options.
func TestDifferential(t *testing.T) {
	oracletest.Exim(t)
	pki := standardPKI(t)
	openUp(pki.dir)
	for _, f := range []string{"rsa", "p256", "p384", "ed25519", "client", "self"} {
		_ = os.Chmod(pki.key(f), 0o644)
	}
	tls12 := func(suites ...uint16) *tls.Config {
		return &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: suites}
	}
	self := pki.clientCert("self")
	sendSelf := func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &self, nil }
	setups := []struct {
		name    string
		main    string
		clients []*tls.Config
	}{
		{"rsa", "tls_certificate = " + pki.crt("rsa") + "\ntls_privatekey = " + pki.key("rsa"), []*tls.Config{
			{}, tls12(), &tls.Config{MinVersion: tls.VersionTLS13, CurvePreferences: []tls.CurveID{tls.CurveP384}},
			&tls.Config{CurvePreferences: []tls.CurveID{tls.CurveP521}},
			tls12(tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256), tls12(tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384),
			tls12(tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA), tls12(tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA),
			tls12(tls.TLS_RSA_WITH_AES_128_GCM_SHA256), tls12(tls.TLS_RSA_WITH_AES_256_CBC_SHA),
			&tls.Config{MaxVersion: tls.VersionTLS12, CurvePreferences: []tls.CurveID{tls.CurveP256}}, &tls.Config{ServerName: "sni.example"},
		}},
		{"p256", "tls_certificate = " + pki.crt("p256") + "\ntls_privatekey = " + pki.key("p256"), []*tls.Config{
			{}, tls12(), tls12(tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256), tls12(tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA),
			&tls.Config{MaxVersion: tls.VersionTLS12, CurvePreferences: []tls.CurveID{tls.CurveP384}},
		}},
		{"p384", "tls_certificate = " + pki.crt("p384") + "\ntls_privatekey = " + pki.key("p384"), []*tls.Config{{}, tls12()}},
		{"ed25519", "tls_certificate = " + pki.crt("ed25519") + "\ntls_privatekey = " + pki.key("ed25519"), []*tls.Config{{}, tls12()}},
		{"dual", "tls_certificate = " + pki.crt("rsa") + ":" + pki.crt("p256") + "\ntls_privatekey = " + pki.key("rsa") + ":" + pki.key("p256"), []*tls.Config{
			{}, tls12(), tls12(tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256), tls12(tls.TLS_RSA_WITH_AES_128_CBC_SHA),
		}},
		{"verify", "tls_certificate = " + pki.crt("rsa") + "\ntls_privatekey = " + pki.key("rsa") + "\ntls_verify_certificates = " + pki.crt("ca") + "\ntls_try_verify_hosts = *", []*tls.Config{
			{}, &tls.Config{Certificates: []tls.Certificate{pki.clientCert("client")}},
			&tls.Config{MaxVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pki.clientCert("client")}},
			&tls.Config{GetClientCertificate: sendSelf},
		}},
	}
	sel := mainlog.SelTLSCipher | mainlog.SelTLSCertificateVerified | mainlog.SelTLSPeerDN | mainlog.SelTLSSNI
	for _, s := range setups {
		t.Run(s.name, func(t *testing.T) {
			d := startExim(t, s.main)
			c := newConfig(t, s.main)
			var want []string
			for i := range s.clients {
				cc := s.clients[i]
				if err := sendMail(t, d.port, cc.Clone()); err != nil {
					t.Fatalf("client %d against Exim: %v", i, err)
				}
				st, err, _, cerr := serve(t, c, cc.Clone())
				if err != nil || cerr != nil {
					t.Fatalf("client %d against exigo: %v / %v", i, err, cerr)
				}
				want = append(want, varsLine(st.Vars()), st.LogFields(sel))
			}
			got := d.fields(t)
			if len(got) != len(want) {
				t.Fatalf("Exim logged %d lines, want %d", len(got), len(want))
			}
			for i := range want {
				t.Logf("client %d:%s", i, got[i])
				if got[i] != want[i] {
					t.Errorf("client %d:\n exim %s\nexigo %s", i, got[i], want[i])
				}
			}
		})
	}
}
