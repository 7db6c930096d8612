package transport

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/dns/dnstest"
	"github.com/exigo-mta/exigo/internal/oracletest"
	"github.com/exigo-mta/exigo/internal/transport/smtptest"
)

// The TLS and DANE differential cases deliver one message through a
// dnslookup router (MX and A records from a test DNS server) and the
// smtp transport to a test SMTP server offering STARTTLS with a
// certificate the test made, once with real Exim and once with exigo,
// and compare the main logs and whether the server got the message.

const tlsDiffConf = `exim_user = Debian-exim
exim_group = Debian-exim
deliver_drop_privilege = true
spool_directory = DIR/spool
log_file_path = DIR/spool/log/%slog
primary_hostname = test.example
qualify_domain = test.example
never_users =
keep_environment =
dns_dnssec_ok = 1
log_selector = +tls_peerdn
MAIN
begin routers
dnsl:
  driver = dnslookup
  domains = dane.example
  self = send
  transport = t
begin transports
t:
  driver = smtp
  port = PORT
  allow_localhost
TRANSPORT
begin retry
* * F,1h,10m
`

// tlsDiffCase is one delivery.
type tlsDiffCase struct {
	name string
	// server is the certificate the server presents: good, wrongName,
	// byCA2, or none (no STARTTLS offered).
	server string
	// transport holds more smtp transport options; CA1 and CA2 stand for
	// files holding the CA certificates.
	transport string
	// tlsa are TLSA records (usage selector matching data) for the
	// server, data "LEAFSPKI256", "CA1CERT256" ... computed by the test.
	tlsa []string
	// insecure names answer without the AD bit.
	insecure []string
	// noAD turns off the AD bit for every answer.
	noAD bool
	// servfail is a name that answers SERVFAIL.
	servfail string
	// tlsa2, when set, adds a second MX host, mx2.dane.example at
	// 127.0.0.2, with these TLSA records.
	tlsa2 []string
	// main holds more main options.
	main string
	// steps are later commands (queue runs).
	steps [][]string
}

var tlsDiffCases = []tlsDiffCase{
	{name: "opportunistic", server: "good"},
	{name: "verify_ok", server: "good", transport: "tls_verify_certificates = CA1\ntls_verify_hosts = *"},
	{name: "verify_wrong_ca", server: "byCA2", transport: "tls_verify_certificates = CA1\ntls_verify_hosts = *"},
	{name: "verify_hostname_mismatch", server: "wrongName", transport: "tls_verify_certificates = CA1\ntls_verify_hosts = *\ntls_verify_cert_hostnames = *"},
	{name: "verify_wrong_ca_required", server: "byCA2", transport: "tls_verify_certificates = CA1\ntls_verify_hosts = *\nhosts_require_tls = *"},
	{name: "verify_hostname_mismatch_required", server: "wrongName", transport: "tls_verify_certificates = CA1\ntls_verify_hosts = *\nhosts_require_tls = *"},
	{name: "verify_hostname_unchecked", server: "wrongName", transport: "tls_verify_certificates = CA1\ntls_verify_hosts = *\ntls_verify_cert_hostnames ="},
	{name: "try_verify_bad", server: "byCA2", transport: "tls_verify_certificates = CA1\ntls_try_verify_hosts = *"},
	{name: "try_verify_ok", server: "good", transport: "tls_verify_certificates = CA1\ntls_try_verify_hosts = *"},
	{name: "require_tls_not_offered", server: "none", transport: "hosts_require_tls = *"},
	{name: "dane_ee_311", server: "good", transport: "hosts_require_dane = *", tlsa: []string{"3 1 1 LEAFSPKI256"}},
	{name: "dane_ee_311_mismatch", server: "good", transport: "hosts_require_dane = *", tlsa: []string{"3 1 1 OTHERSPKI256"}},
	{name: "dane_ee_try_mismatch", server: "good", transport: "hosts_try_dane = *", tlsa: []string{"3 1 1 OTHERSPKI256"}},
	{name: "dane_ta_201", server: "good", transport: "hosts_try_dane = *", tlsa: []string{"2 0 1 CA1CERT256"}},
	{name: "dane_try_no_tlsa", server: "good", transport: "hosts_try_dane = *"},
	{name: "dane_require_no_tlsa", server: "good", transport: "hosts_require_dane = *"},
	{name: "dane_tlsa_no_ad", server: "good", transport: "hosts_try_dane = *", tlsa: []string{"3 1 1 OTHERSPKI256"}, insecure: []string{"_PORT._tcp.mx.dane.example"}},
	{name: "dane_ee_301", server: "good", transport: "hosts_require_dane = *", tlsa: []string{"3 0 1 LEAFCERT256"}},
	{name: "dane_ee_312", server: "good", transport: "hosts_require_dane = *", tlsa: []string{"3 1 2 LEAFSPKI512"}},
	{name: "dane_ee_300", server: "good", transport: "hosts_require_dane = *", tlsa: []string{"3 0 0 LEAFCERTFULL"}},
	{name: "dane_ee_name_ignored", server: "wrongName", transport: "hosts_require_dane = *", tlsa: []string{"3 1 1 WRONGNAMESPKI256"}},
	{name: "dane_ee_second_record", server: "good", transport: "hosts_require_dane = *", tlsa: []string{"3 1 1 OTHERSPKI256", "3 1 1 LEAFSPKI256"}},
	{name: "dane_ta_211", server: "good", transport: "hosts_require_dane = *", tlsa: []string{"2 1 1 CA1SPKI256"}},
	{name: "dane_ta_wrong_ca", server: "byCA2", transport: "hosts_require_dane = *", tlsa: []string{"2 0 1 CA1CERT256"}},
	{name: "dane_mixed_mismatch", server: "good", transport: "hosts_require_dane = *", tlsa: []string{"3 1 1 OTHERSPKI256", "2 0 1 CA2CERT256"}},
	{name: "dane_mixed_ta_match", server: "good", transport: "hosts_require_dane = *", tlsa: []string{"3 1 1 OTHERSPKI256", "2 0 1 CA1CERT256"}},
	{name: "dane_ta_name_mismatch", server: "wrongName", transport: "hosts_require_dane = *", tlsa: []string{"2 0 1 CA1CERT256"}},
	{name: "dane_ignores_verify_options", server: "good", transport: "tls_verify_certificates = CA2\ntls_verify_hosts = *", tlsa: []string{"3 1 1 LEAFSPKI256"}},
	{name: "dane_no_starttls", server: "none", transport: "hosts_try_dane = *", tlsa: []string{"3 1 1 LEAFSPKI256"}},
	{name: "dane_tlsa_servfail_try", server: "good", tlsa: []string{"3 1 1 LEAFSPKI256"}, servfail: "_PORT._tcp.mx.dane.example"},
	{name: "dane_tlsa_servfail_require", server: "good", transport: "hosts_require_dane = *", tlsa: []string{"3 1 1 LEAFSPKI256"}, servfail: "_PORT._tcp.mx.dane.example"},
	{name: "dane_unusable_records", server: "good", tlsa: []string{"1 1 1 LEAFSPKI256"}},
	{name: "dane_ciphers", server: "good", transport: "dane_require_tls_ciphers = NORMAL:-VERS-TLS1.3", tlsa: []string{"3 1 1 LEAFSPKI256"}},
	{name: "require_ciphers_tls12", server: "good", transport: "tls_require_ciphers = NORMAL:-VERS-TLS1.3"},
	{name: "verify_directory", server: "good", transport: "tls_verify_certificates = CADIR\ntls_verify_hosts = *"},
	{name: "dnssec_off", server: "good", transport: "hosts_require_dane = *", tlsa: []string{"3 1 1 LEAFSPKI256"}, main: "dns_dnssec_ok = 0"},
	{name: "verify_fail_retry", server: "byCA2", transport: "tls_verify_certificates = CA1\ntls_verify_hosts = *\nhosts_require_tls = *", steps: [][]string{{"-q"}, {"-qf"}}},
	{name: "dane_fail_retry", server: "good", transport: "hosts_require_dane = *", tlsa: []string{"3 1 1 OTHERSPKI256"}, steps: [][]string{{"-q"}}},
	{name: "dane_two_mx", server: "good", transport: "hosts_try_dane = *", tlsa: []string{"3 1 1 OTHERSPKI256"}, tlsa2: []string{"3 1 1 LEAFSPKI256"}},
	{name: "verify_two_mx", server: "byCA2", transport: "tls_verify_certificates = CA1\ntls_verify_hosts = *\nhosts_require_tls = *"},
	{name: "dane_require_mx_no_ad", server: "good", transport: "hosts_require_dane = *", tlsa: []string{"3 1 1 LEAFSPKI256"}, noAD: true},
}

// TestTLSDifferential runs tlsDiffCases through Exim and exigo. Both read
// only /etc/resolv.conf, so the test re-runs itself in new mount and
// network namespaces where its own resolv.conf names the test DNS
// server on 127.0.0.1:53.
func TestTLSDifferential(t *testing.T) {
	exim := oracletest.Exim(t)
	if os.Getenv("EXIGO_TLSDIFF_NETNS") == "" {
		unshare, err := exec.LookPath("unshare")
		if err != nil || os.Geteuid() != 0 {
			oracletest.Missing(t, "root and unshare(1) (to give Exim a private DNS server)")
		}
		cmd := exec.Command(unshare, "-m", "-n", os.Args[0], "-test.run=^TestTLSDifferential$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "EXIGO_TLSDIFF_NETNS=1")
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
	eu, err := user.Lookup("Debian-exim")
	if err != nil {
		oracletest.Missing(t, "the Debian-exim user")
	}
	uid, _ := strconv.Atoi(eu.Uid)
	gid, _ := strconv.Atoi(eu.Gid)
	if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("ip link: %v %s", err, out)
	}
	top, err := os.MkdirTemp("", "exigo-tlsdiff-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(top) })
	os.Chmod(top, 0o755)
	resolv := filepath.Join(top, "resolv.conf")
	// glibc passes the AD bit on only with trust-ad.
	os.WriteFile(resolv, []byte("nameserver 127.0.0.1\noptions trust-ad\n"), 0o644)
	if out, err := exec.Command("mount", "--bind", resolv, "/etc/resolv.conf").CombinedOutput(); err != nil {
		t.Fatalf("mount: %v %s", err, out)
	}
	pki := newTestPKI(t)
	writePEM(t, filepath.Join(top, "ca1.pem"), pki.ca1)
	writePEM(t, filepath.Join(top, "ca2.pem"), pki.ca2)
	dnsSrv := dnstest.Start(t, "127.0.0.1:53", "")
	servers := map[string]*smtptest.Server{}
	servers2 := map[string]*smtptest.Server{}
	cadir := filepath.Join(top, "cadir")
	os.Mkdir(cadir, 0o755)
	writePEM(t, filepath.Join(cadir, "one.pem"), pki.ca1)
	writePEM(t, filepath.Join(cadir, "two.pem"), pki.ca2)
	for name, c := range map[string]*tls.Certificate{"good": &pki.good, "wrongName": &pki.wrongName, "byCA2": &pki.byCA2, "none": nil} {
		s := &smtptest.Server{Pipelining: true}
		if c != nil {
			s.TLS = &tls.Config{Certificates: []tls.Certificate{*c}}
		}
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		servers[name] = s
		// The same server as a second MX host, on 127.0.0.2.
		s2 := &smtptest.Server{Pipelining: true, TLS: s.TLS}
		ln, err := net.Listen("tcp", "127.0.0.2:"+strconv.Itoa(s.Port()))
		if err != nil {
			t.Fatal(err)
		}
		s2.Serve(ln)
		t.Cleanup(s2.Close)
		servers2[name] = s2
	}
	other := makeLeaf(t, pki.ca1, pki.ca1Key, "mx.dane.example")
	hashes := map[string]string{
		"LEAFSPKI256":      sha256hex(pki.good.Leaf.RawSubjectPublicKeyInfo),
		"OTHERSPKI256":     sha256hex(other.Leaf.RawSubjectPublicKeyInfo),
		"CA1CERT256":       sha256hex(pki.ca1.Raw),
		"LEAFCERT256":      sha256hex(pki.good.Leaf.Raw),
		"LEAFSPKI512":      sha512hex(pki.good.Leaf.RawSubjectPublicKeyInfo),
		"LEAFCERTFULL":     hex.EncodeToString(pki.good.Leaf.Raw),
		"WRONGNAMESPKI256": sha256hex(pki.wrongName.Leaf.RawSubjectPublicKeyInfo),
		"CA2CERT256":       sha256hex(pki.ca2.Raw),
		"CA1SPKI256":       sha256hex(pki.ca1.RawSubjectPublicKeyInfo),
	}
	for _, c := range tlsDiffCases {
		t.Run(c.name, func(t *testing.T) {
			srv := servers[c.server]
			port := strconv.Itoa(srv.Port())
			zone := "dane.example. MX 10 mx.dane.example.\nmx.dane.example. A 127.0.0.1\n"
			if c.tlsa2 != nil || c.name == "verify_two_mx" {
				zone += "dane.example. MX 20 mx2.dane.example.\nmx2.dane.example. A 127.0.0.2\n"
			}
			addTLSA := func(host string, recs []string) {
				for _, r := range recs {
					// Longest names first: LEAFSPKI256 inside OTHER... does not clash.
					for _, k := range []string{"WRONGNAMESPKI256", "LEAFCERTFULL", "LEAFSPKI512", "LEAFCERT256", "LEAFSPKI256", "OTHERSPKI256", "CA1CERT256", "CA2CERT256", "CA1SPKI256"} {
						r = strings.ReplaceAll(r, k, hashes[k])
					}
					zone += "_" + port + "._tcp." + host + ". TLSA " + r + "\n"
				}
			}
			addTLSA("mx.dane.example", c.tlsa)
			addTLSA("mx2.dane.example", c.tlsa2)
			if err := dnsSrv.SetZone(zone); err != nil {
				t.Fatal(err)
			}
			dnsSrv.SetAD(!c.noAD)
			var insecure []string
			for _, n := range c.insecure {
				insecure = append(insecure, strings.ReplaceAll(n, "PORT", port))
			}
			dnsSrv.SetInsecure(insecure...)
			dnsSrv.ClearServFail()
			if c.servfail != "" {
				dnsSrv.ServFail(strings.ReplaceAll(c.servfail, "PORT", port))
			}
			srv2 := servers2[c.server]
			run := func(bin string) string {
				before, before2 := len(srv.Messages()), len(srv2.Messages())
				log := runTLSDiff(t, bin, c, top, port, uid, gid)
				return fmt.Sprintf("%s-- messages received: %d at mx, %d at mx2\n", log, len(srv.Messages())-before, len(srv2.Messages())-before2)
			}
			want := run(exim)
			got := run(exigo)
			t.Logf("exim:\n%s", want)
			if want != got {
				t.Errorf("exim and exigo differ\n--- exim:\n%s\n--- exigo:\n%s", want, got)
			}
		})
	}
}

func sha512hex(b []byte) string {
	s := sha512.Sum512(b)
	return hex.EncodeToString(s[:])
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// runTLSDiff delivers one message with bin and returns its masked main
// log.
func runTLSDiff(t *testing.T, bin string, c tlsDiffCase, top, port string, uid, gid int) string {
	dir, err := os.MkdirTemp(top, "run-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	os.Mkdir(filepath.Join(dir, "spool"), 0o750)
	os.Chown(filepath.Join(dir, "spool"), uid, gid)
	tr := strings.ReplaceAll(c.transport, "CA1", filepath.Join(top, "ca1.pem"))
	tr = strings.ReplaceAll(tr, "CA2", filepath.Join(top, "ca2.pem"))
	tr = strings.ReplaceAll(tr, "CADIR", filepath.Join(top, "cadir"))
	if tr != "" {
		tr = "  " + strings.ReplaceAll(tr, "\n", "\n  ")
	}
	conf := strings.Replace(tlsDiffConf, "TRANSPORT", tr, 1)
	conf = strings.Replace(conf, "MAIN", c.main, 1)
	conf = strings.ReplaceAll(conf, "DIR", dir)
	conf = strings.ReplaceAll(conf, "PORT", port)
	cf := filepath.Join(dir, "conf")
	os.WriteFile(cf, []byte(conf), 0o644)
	msg := "From: Sender <sender@test.example>\nSubject: case " + c.name + "\nMessage-Id: <m1@test.example>\n\nbody\n"
	oracletest.Run(t, bin, msg, "-C", cf, "-odi", "-f", "sender@test.example", "rcpt@dane.example")
	for _, step := range c.steps {
		oracletest.Run(t, bin, "", append([]string{"-C", cf}, step...)...)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "spool/log/mainlog"))
	return maskTLSDiff(string(b), port)
}

var tlsDiffMasks = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d `), ""},
	{regexp.MustCompile(`\b[0-9A-Za-z]{6}-[0-9A-Za-z]{6}-[0-9A-Za-z]{2}\b`), "ID"},
	{regexp.MustCompile(`S=\d+`), "S=N"},
	{regexp.MustCompile(`pid=\d+`), "pid=N"},
	{regexp.MustCompile(`\(Exim 4\.96\)|\(Exim [^)]*exigo[^)]*\)|\(exigo[^)]*\)`), "(VERSION)"},
}

func maskTLSDiff(s, port string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l == "" || strings.Contains(l, "purging the environment") {
			continue
		}
		for _, m := range tlsDiffMasks {
			l = m.re.ReplaceAllString(l, m.with)
		}
		l = strings.ReplaceAll(l, ":"+port, ":PORT")
		out = append(out, l+"\n")
	}
	return strings.Join(out, "")
}
