package queue_test

import (
	"bufio"
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
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// The -H files exigo writes compared with real Exim 4.96's for the same
// messages: over SMTP to each daemon (plain, STARTTLS, AUTH, both, a
// client certificate with SNI, a long line), from -bs, -bS and -bm with
// the -oM options of a trusted caller, and $max_received_linelength at
// delivery. Spec chapter "Format of spool files".

// shDir makes a world-readable directory with spool/ and log/ owned by
// the Exim user (both daemons run as it), a server certificate, a client
// certificate and the configuration; it returns the directory.
func shDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "exigo-spoolh-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	writeCert(t, dir, "server", "test.example")
	writeCert(t, dir, "client", "client.example")
	conf := fmt.Sprintf(`primary_hostname = test.example
spool_directory = %[1]s/spool
log_file_path = %[1]s/log/%%slog
acl_smtp_rcpt = acl_r
queue_only = true
host_lookup =
deliver_drop_privilege = true
tls_certificate = %[1]s/server.pem
tls_privatekey = %[1]s/server.key
tls_try_verify_hosts = *
tls_verify_certificates = %[1]s/client.pem
auth_advertise_hosts = *
begin acl
acl_r:
  accept
begin routers
r:
  driver = redirect
  allow_fail
  data = :fail: MRL $max_received_linelength BL $body_linecount
begin authenticators
plain:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = ${if and {{eq{$auth2}{user}}{eq{$auth3}{secret}}}}
  server_set_id = $auth2
fixed:
  driver = plaintext
  public_name = LOGIN
  server_prompts = Username:: : Password::
  server_condition = ${if and {{eq{$auth1}{user}}{eq{$auth2}{secret}}}}
  server_set_id = fixedid
`, dir)
	os.WriteFile(filepath.Join(dir, "conf"), []byte(conf), 0o644)
	return dir
}

// resetSpool empties spool/ and log/ and gives them to the Exim user.
func resetSpool(t *testing.T, dir string) {
	t.Helper()
	for _, sub := range []string{"spool", "log"} {
		p := filepath.Join(dir, sub)
		os.RemoveAll(p)
		os.Mkdir(p, 0o750)
		if os.Getuid() == 0 {
			if u, err := user.Lookup("Debian-exim"); err == nil {
				var uid, gid int
				fmt.Sscan(u.Uid, &uid)
				fmt.Sscan(u.Gid, &gid)
				os.Chown(p, uid, gid)
			}
		}
	}
}

// writeCert writes a self-signed certificate NAME.pem and its key
// NAME.key for cn into dir.
func writeCert(t *testing.T, dir, name, cn string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"Org, Inc"}},
		DNSNames:     []string{cn},
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
	os.WriteFile(filepath.Join(dir, name+".pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(filepath.Join(dir, name+".key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o644)
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// shMask hides what must differ between the two programs' -H files:
// ids, times, ports, and the TLS 1.3 cipher (Go's TLS prefers AES-128
// where GnuTLS prefers AES-256; not configurable in Go).
var shMask = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`[0-9A-Za-z]{6}-[0-9A-Za-z]{6}-[0-9A-Za-z]{2}\b`), "ID"},
	{regexp.MustCompile(`(?m)^\d{9,} `), "TIME "},
	{regexp.MustCompile(`(?m)^-received_time_(usec|complete) .*\n`), ""},
	{regexp.MustCompile(`\]:\d+`), "]:PORT"},
	{regexp.MustCompile(`\w\w\w, \d\d? \w\w\w \d{4} \d\d:\d\d:\d\d [+-]\d{4}`), "DATE"},
	{regexp.MustCompile(`AES_128_GCM:128|AES_256_GCM:256`), "AES_GCM"},
	{regexp.MustCompile(`AES_128_GCM_SHA256|AES_256_GCM_SHA384`), "AES_GCM_SHA"},
	// Header lines: the length prefix moves with the masked parts.
	{regexp.MustCompile(`(?m)^\d{3}([A-Z* ]) `), "NNN$1 "},
}

func shMasked(s string) string {
	for _, m := range shMask {
		s = m.re.ReplaceAllString(s, m.with)
	}
	return s
}

// headerFiles returns the -H files of dir's spool, oldest first.
func headerFiles(t *testing.T, dir string) []string {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(dir, "spool", "input", "*-H"))
	sort.Slice(names, func(i, j int) bool {
		a, _ := os.Stat(names[i])
		b, _ := os.Stat(names[j])
		return a.ModTime().Before(b.ModTime())
	})
	var out []string
	for _, n := range names {
		b, _ := os.ReadFile(n)
		out = append(out, string(b))
	}
	return out
}

// smtpCase is one message sent with swaks, or (raw) as these lines
// over a plain connection, or (ocsp) with openssl s_client asking for
// an OCSP status.
type smtpCase struct {
	name string
	args []string
	raw  []string
	ocsp bool
}

var smtpCases = []smtpCase{
	{name: "plain"},
	{name: "tls", args: []string{"--tls"}},
	{name: "auth", args: []string{"--auth", "PLAIN", "--auth-user", "user", "--auth-password", "secret"}},
	{name: "tls-auth", args: []string{"--tls", "--auth", "PLAIN", "--auth-user", "user", "--auth-password", "secret"}},
	{name: "tls-cert-sni-login", args: []string{"--tls", "--tls-sni", "sni.example", "--auth", "LOGIN", "--auth-user", "user", "--auth-password", "secret"}},
	// AUTH= on MAIL (RFC 4954) gives --auth_sender, xtext-decoded.
	{name: "auth-sender", raw: []string{"EHLO client.test", "AUTH PLAIN AHVzZXIAc2VjcmV0", "MAIL FROM:<a@b.example> AUTH=a+2Bs@b.example", "RCPT TO:<x@y.example>", "DATA",
		"Subject: as\r\nMessage-ID: <as@x>\r\n\r\nbody\r\n.", "QUIT"}},
	{name: "tls-ocsp-request", ocsp: true},
	{name: "long-line", args: []string{"--data", "Subject: long\nMessage-ID: <long@x>\nX-Folded: a\n\t" + strings.Repeat("f", 300) + "\n\n.." + strings.Repeat("d", 600) + "\n" + strings.Repeat("b", 400) + "\n"}},
}

// runSMTPCases starts bin's daemon on dir's configuration, sends every
// case and returns the -H files, one per case.
func runSMTPCases(t *testing.T, bin, dir string) []string {
	t.Helper()
	resetSpool(t, dir)
	port := freePort(t)
	cmd := exec.Command(bin, "-C", filepath.Join(dir, "conf"), "-bdf", "-oX", fmt.Sprint(port))
	cmd.Env = append(os.Environ(), "TZ=UTC")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not start listening", bin)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i, c := range smtpCases {
		args := []string{"--server", fmt.Sprintf("127.0.0.1:%d", port), "--ehlo", "client.test", "-f", "a@b.example", "-t", "x@y.example"}
		if !strings.Contains(strings.Join(c.args, " "), "--data") {
			args = append(args, "--data", "Subject: "+c.name+"\nMessage-ID: <"+c.name+"@x>\n\nbody\n")
		}
		if c.name == "tls-cert-sni-login" {
			args = append(args, "--tls-cert", filepath.Join(dir, "client.pem"), "--tls-key", filepath.Join(dir, "client.key"))
		}
		switch {
		case c.ocsp:
			opensslSession(t, port)
		case c.raw != nil:
			rawSession(t, port, c.raw)
		default:
			if out, err := exec.Command("swaks", append(args, c.args...)...).CombinedOutput(); err != nil {
				t.Fatalf("%s: swaks %s: %v\n%s", bin, c.name, err, out)
			}
		}
		for start := time.Now(); len(headerFiles(t, dir)) <= i; {
			if time.Since(start) > 5*time.Second {
				t.Fatalf("%s: no -H file for %s", bin, c.name)
			}
			time.Sleep(20 * time.Millisecond)
		}
		// Distinct modification times keep the files in order.
		time.Sleep(20 * time.Millisecond)
	}
	return headerFiles(t, dir)
}

// opensslSession sends a message over STARTTLS with openssl s_client,
// which asks for an OCSP status (-status) and sends SNI.
func opensslSession(t *testing.T, port int) {
	t.Helper()
	cmd := exec.Command("openssl", "s_client", "-starttls", "smtp", "-connect", fmt.Sprintf("127.0.0.1:%d", port), "-status", "-servername", "sni.example", "-quiet")
	pr, pw, _ := os.Pipe()
	cmd.Stdin = pr
	go func() {
		time.Sleep(500 * time.Millisecond)
		pw.WriteString("EHLO client.test\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@y.example>\r\nDATA\r\nSubject: ocsp\r\nMessage-ID: <ocsp@x>\r\n\r\nbody\r\n.\r\nQUIT\r\n")
		time.Sleep(500 * time.Millisecond)
		pw.Close()
	}()
	cmd.Output()
	pr.Close()
}

// rawSession sends lines one at a time, reading each reply (all lines
// of a multi-line one) before the next.
func rawSession(t *testing.T, port int, lines []string) {
	t.Helper()
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	readReply := func() string {
		for {
			l, err := r.ReadString('\n')
			if err != nil || len(l) < 4 || l[3] != '-' {
				return l
			}
		}
	}
	readReply()
	for _, l := range lines {
		fmt.Fprintf(c, "%s\r\n", l)
		if reply := readReply(); strings.HasPrefix(reply, "5") || strings.HasPrefix(reply, "4") {
			t.Fatalf("%s: %s", l, reply)
		}
	}
}

// TestSpoolHeaderSMTPDifferential sends the same messages to real
// Exim's daemon and to exigo's and compares the -H files line by line.
func TestSpoolHeaderSMTPDifferential(t *testing.T) {
	if testing.Short() {
		t.Skip("live daemons: slow")
	}
	exim := oracletest.Exim(t)
	for _, tool := range []string{"swaks", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			oracletest.Missing(t, tool)
		}
	}
	bin := oracletest.Exigo(t)
	dir := shDir(t)
	want := runSMTPCases(t, exim, dir)
	got := runSMTPCases(t, bin, dir)
	if len(got) != len(want) {
		t.Fatalf("exim wrote %d -H files, exigo %d", len(want), len(got))
	}
	for i, c := range smtpCases {
		compareLines(t, c.name, shMasked(want[i]), shMasked(got[i]))
	}
	// The lines this comparison is about must be there at all.
	all := strings.Join(got, "")
	for _, l := range []string{"-host_auth_pubname PLAIN", "-host_auth_pubname LOGIN", "--auth_id fixedid", "-tls_ver TLS1.3",
		"-tls_ourcert -----BEGIN CERTIFICATE-----\\n", "--tls_peercert -----BEGIN", "--tls_peerdn O=Org\\, Inc,CN=client.example",
		"--tls_sni sni.example", "-tls_certificate_verified", "-tls_resumption B", "-max_received_linelength 602", "--auth_sender a+s@b.example", "-tls_ocsp 1"} {
		if !strings.Contains(all, l) {
			t.Errorf("exigo's -H files lack %q:\n%s", l, all)
		}
	}
}

// compareLines reports the first differing line of two masked files.
func compareLines(t *testing.T, name, want, got string) {
	t.Helper()
	if want == got {
		return
	}
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for j := 0; j < max(len(wl), len(gl)); j++ {
		var w, g string
		if j < len(wl) {
			w = wl[j]
		}
		if j < len(gl) {
			g = gl[j]
		}
		if w != g {
			t.Errorf("%s: -H line %d differs\nexim:  %q\nexigo: %q\n--- exim\n%s\n--- exigo\n%s", name, j+1, w, g, want, got)
			return
		}
	}
}

// localCases are local submissions by root (a trusted caller).
var localCases = []struct {
	name, input string
	args        []string
}{
	{"bs-oMr", "bs", []string{"-bs", "-oMr", "myproto"}},
	{"bs-oMr-oMa", "bs", []string{"-bs", "-oMr", "myproto", "-oMa", "192.0.2.1"}},
	{"bs-oMai-oMas", "bs", []string{"-bs", "-oMai", "id1", "-oMas", "as@b"}},
	{"bS", "bS", []string{"-bS"}},
	{"bS-oMr", "bS", []string{"-bS", "-oMr", "myproto"}},
	{"bS-oMr-oMai", "bS", []string{"-bS", "-oMr", "myproto", "-oMai", "id1", "-oMas", "as@b"}},
	{"bm", "bm", []string{"-odq", "x@y"}},
	{"bm-oMr", "bm", []string{"-odq", "-oMr", "myproto", "x@y"}},
	{"bm-f", "bm", []string{"-odq", "-f", "a@b", "x@y"}},
	{"bm-f-default", "bm", []string{"-odq", "-f", "root@test.example", "x@y"}},
	{"bm-oMaa-oMai-oMas", "bm", []string{"-odq", "-oMaa", "plain", "-oMai", "id1", "-oMas", "as@b", "x@y"}},
	{"bm-f-oMaa", "bm", []string{"-odq", "-f", "a@b", "-oMaa", "plain", "x@y"}},
}

var localInputs = map[string]string{
	"bs": "EHLO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\nDATA\r\nSubject: s\r\n\r\n" + strings.Repeat("x", 120) + "\r\n.\r\nQUIT\r\n",
	"bS": "MAIL FROM:<a@b>\nRCPT TO:<x@y>\nDATA\nSubject: s\n\nbody\n" + strings.Repeat("y", 90) + "\n.\n",
	"bm": "Subject: s\n\nbody line\n" + strings.Repeat("z", 70) + "\n",
}

// runLocal runs one local case with bin and returns its -H file and
// "<=" line.
func runLocal(t *testing.T, bin, dir string, args []string, input string) (string, string) {
	t.Helper()
	resetSpool(t, dir)
	oracletest.Run(t, bin, input, append([]string{"-C", filepath.Join(dir, "conf")}, args...)...)
	hs := headerFiles(t, dir)
	if len(hs) != 1 {
		t.Fatalf("%s %v: %d -H files", bin, args, len(hs))
	}
	b, _ := os.ReadFile(filepath.Join(dir, "log", "mainlog"))
	arrival := ""
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, " <= ") {
			arrival = l[strings.Index(l, " <= "):]
		}
	}
	return hs[0], arrival
}

// TestSpoolHeaderLocalDifferential compares the -H files and "<=" lines
// of -bs, -bS and -bm with the -oMr, -oMa, -oMaa, -oMai and -oMas
// options. Exim ignores -oMr for -bs (spec chapter "The Exim command
// line", -oMr) but applies it to -bS and -bm, tainted.
func TestSpoolHeaderLocalDifferential(t *testing.T) {
	exim := oracletest.Exim(t)
	bin := oracletest.Exigo(t)
	if os.Getuid() != 0 {
		t.Skip("needs root: the -oM options are for trusted callers")
	}
	dir := shDir(t)
	for _, c := range localCases {
		t.Run(c.name, func(t *testing.T) {
			wantH, wantA := runLocal(t, exim, dir, c.args, localInputs[c.input])
			gotH, gotA := runLocal(t, bin, dir, c.args, localInputs[c.input])
			if shMasked(wantA) != shMasked(gotA) {
				t.Errorf("<= line differs\nexim:  %s\nexigo: %s", wantA, gotA)
			}
			compareLines(t, c.name, shMasked(wantH), shMasked(gotH))
		})
	}
}

// TestMaxReceivedLinelengthAtDelivery checks that delivery takes
// $max_received_linelength from the -H file: the value is changed in
// the file, then a :fail: router shows it in the "**" line.
func TestMaxReceivedLinelengthAtDelivery(t *testing.T) {
	exim := oracletest.Exim(t)
	bin := oracletest.Exigo(t)
	dir := shDir(t)
	lines := map[string]string{}
	for _, b := range []string{exim, bin} {
		resetSpool(t, dir)
		conf := filepath.Join(dir, "conf")
		oracletest.Run(t, b, localInputs["bm"], "-C", conf, "-odq", "-f", "<>", "x@y")
		names, _ := filepath.Glob(filepath.Join(dir, "spool", "input", "*-H"))
		if len(names) != 1 {
			t.Fatalf("%s: %d -H files", b, len(names))
		}
		h, _ := os.ReadFile(names[0])
		re := regexp.MustCompile(`(?m)^-max_received_linelength \d+$`)
		if !re.Match(h) {
			t.Fatalf("%s: no -max_received_linelength line:\n%s", b, h)
		}
		os.WriteFile(names[0], re.ReplaceAll(h, []byte("-max_received_linelength 77")), 0o640)
		id := strings.TrimSuffix(filepath.Base(names[0]), "-H")
		oracletest.Run(t, b, "", "-C", conf, "-M", id)
		log, _ := os.ReadFile(filepath.Join(dir, "log", "mainlog"))
		for _, l := range strings.Split(string(log), "\n") {
			if i := strings.Index(l, " ** "); i >= 0 {
				lines[b] = l[i:]
			}
		}
	}
	if lines[exim] != " ** x@y R=r: MRL 77 BL 2" {
		t.Fatalf("exim: %q", lines[exim])
	}
	if lines[bin] != lines[exim] {
		t.Errorf("exim: %q\nexigo: %q", lines[exim], lines[bin])
	}
}
