package transport

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/spool"
	"github.com/exigo-mta/exigo/internal/transport/smtptest"
)

func perRcpt(to string) string {
	switch {
	case strings.HasPrefix(to, "rej"):
		return "550 5.1.1 no such user"
	case strings.HasPrefix(to, "def"):
		return "451 4.3.0 try later"
	}
	return "250 Accepted"
}

func startServer(t *testing.T, s *smtptest.Server) *smtptest.Server {
	t.Helper()
	if s.Rcpt == nil {
		s.Rcpt = perRcpt
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func smtpDelivery(t *testing.T, port int, addrs ...string) *Delivery {
	d := newDelivery(t, "Subject: hi\n\nbody\n.dot\n", addrs...)
	d.Hosts = []Host{{Name: "mx.test", Addr: "127.0.0.1", Port: port, MX: 10}}
	return d
}

const smtpConf = "t:\n  driver = smtp\n  allow_localhost\n  hosts_try_chunking =\n"

func TestSMTPPerRecipient(t *testing.T) {
	for _, pipelining := range []bool{false, true} {
		t.Run("pipelining="+strconv.FormatBool(pipelining), func(t *testing.T) {
			srv := startServer(t, &smtptest.Server{Pipelining: pipelining, Size: true})
			tr := newTransport(t, smtpConf, "t")
			rs := deliver(t, tr, smtpDelivery(t, srv.Port(), "ok@a.b", "rej@a.b", "def@a.b"))
			if rs[0].Status != OK || rs[0].Confirmation != "250 OK id=1abc-000001-AB" || rs[0].Host != "mx.test" || rs[0].HostAddr != "127.0.0.1" {
				t.Errorf("ok: %+v", rs[0])
			}
			if rs[1].Status != Fail || rs[1].Message != "SMTP error from remote mail server after RCPT TO:<rej@a.b>: 550 5.1.1 no such user" {
				t.Errorf("rej: %+v", rs[1])
			}
			if rs[2].Status != Defer || rs[2].Errno != -44 || rs[2].ErrCode != ErrRcpt4xx ||
				rs[2].Message != "SMTP error from remote mail server after RCPT TO:<def@a.b>: 451 4.3.0 try later" {
				t.Errorf("def: %+v", rs[2])
			}
			log := strings.Join(srv.Log(), "\n")
			// Exim: SIZE is the CRLF size less one (the blank line
			// after the headers counts once) plus size_addition (1024).
			if !strings.Contains(log, "MAIL FROM:<sender@x.org> SIZE=1050") || !strings.Contains(log, "EHLO test.example") {
				t.Errorf("log:\n%s", log)
			}
			msgs := srv.Messages()
			if len(msgs) != 1 || string(msgs[0]) != "Subject: hi\r\n\r\nbody\r\n.dot\r\n" {
				t.Errorf("messages %q", msgs)
			}
		})
	}
}

func TestSMTPMailRejected(t *testing.T) {
	srv := startServer(t, &smtptest.Server{Pipelining: true, Size: true, Mail: func(string) string { return "550 sender bad" }})
	tr := newTransport(t, smtpConf, "t")
	rs := deliver(t, tr, smtpDelivery(t, srv.Port(), "ok@a.b", "rej@a.b"))
	for _, r := range rs {
		if r.Status != Fail || r.Message != "SMTP error from remote mail server after pipelined MAIL FROM:<sender@x.org> SIZE=1050: 550 sender bad" {
			t.Errorf("%+v", r)
		}
	}
}

func TestSMTPDataDeferred(t *testing.T) {
	srv := startServer(t, &smtptest.Server{Data: func(string, []byte) string { return "452 data later" }})
	tr := newTransport(t, smtpConf, "t")
	rs := deliver(t, tr, smtpDelivery(t, srv.Port(), "ok@a.b", "rej@a.b"))
	if rs[0].Status != Defer || rs[0].Errno != -46 || rs[0].ErrCode != ErrData4xx || rs[0].Message != "SMTP error from remote mail server after end of data: 452 data later" {
		t.Errorf("%+v", rs[0])
	}
	if rs[1].Status != Fail {
		t.Errorf("%+v", rs[1])
	}
}

func TestSMTPConnectionRefused(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	tr := newTransport(t, smtpConf, "t")
	r := deliver(t, tr, smtpDelivery(t, port, "ok@a.b"))[0]
	if r.Status != Defer || r.Errno != 111 || r.Message != "Connection refused" || r.ErrCode != ErrRefused {
		t.Errorf("%+v", r)
	}
}

func TestSMTPNextHost(t *testing.T) {
	srv := startServer(t, &smtptest.Server{})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	tr := newTransport(t, smtpConf, "t")
	d := smtpDelivery(t, dead, "ok@a.b")
	d.Hosts = append(d.Hosts, Host{Name: "mx2.test", Addr: "127.0.0.1", Port: srv.Port(), MX: 20})
	r := deliver(t, tr, d)[0]
	if r.Status != OK || r.Host != "mx2.test" || r.Port != srv.Port() {
		t.Errorf("%+v", r)
	}
}

// TestSMTPLocalHost: only hosts from the transport's own options are
// checked for the local host (spec chapter "The smtp transport",
// allow_localhost; observed with Exim 4.96).
func TestSMTPLocalHost(t *testing.T) {
	srv := startServer(t, &smtptest.Server{})
	port := strconv.Itoa(srv.Port())
	cases := []struct {
		name, conf  string
		routerHosts bool
		status      Status
		errno       int
		msg         string
	}{
		{"router host", "", true, OK, 0, ""},
		{"own host", "  hosts = 127.0.0.1\n", false, Defer, -50, "t transport found host 127.0.0.1 to be local"},
		{"override", "  hosts = 127.0.0.1\n  hosts_override\n", true, Defer, -50, "t transport found host 127.0.0.1 to be local"},
		{"allowed", "  hosts = 127.0.0.1\n  allow_localhost\n", false, OK, 0, ""},
		{"not listening", "  hosts = 127.0.0.1\n", false, OK, 0, ""},
		{"no hosts", "", false, Defer, -1, "t transport called with no hosts set"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			main := testMain
			if c.name == "not listening" {
				main += "local_interfaces = 10.9.9.9\n"
			}
			cfg, err := config.LoadBytes("/test.conf", []byte(main+"begin transports\nt:\n  driver = smtp\n  port = "+port+"\n"+c.conf), config.Options{})
			if err != nil {
				t.Fatal(err)
			}
			tr, err := New(cfg, cfg.Transport("t"))
			if err != nil {
				t.Fatal(err)
			}
			d := smtpDelivery(t, srv.Port(), "ok@a.b")
			if !c.routerHosts {
				d.Hosts = nil
			}
			r := deliver(t, tr, d)[0]
			if r.Status != c.status || r.Errno != c.errno || r.Message != c.msg && c.status != OK {
				t.Errorf("%+v", r)
			}
		})
	}
}

func TestSMTPHeloFallback(t *testing.T) {
	srv := startServer(t, &smtptest.Server{NoEHLO: true, Size: true})
	tr := newTransport(t, smtpConf+"  helo_data = client.example\n", "t")
	r := deliver(t, tr, smtpDelivery(t, srv.Port(), "ok@a.b"))[0]
	log := strings.Join(srv.Log(), "\n")
	if r.Status != OK || !strings.Contains(log, "EHLO client.example\nHELO client.example\nMAIL FROM:<sender@x.org>\n") {
		t.Errorf("%+v\n%s", r, log)
	}
}

func TestSMTPBanner5xx(t *testing.T) {
	srv := startServer(t, &smtptest.Server{Banner: "554 go away"})
	tr := newTransport(t, smtpConf, "t")
	r := deliver(t, tr, smtpDelivery(t, srv.Port(), "ok@a.b"))[0]
	// A 5xx greeting fails the address (observed with Exim 4.96).
	if r.Status != Fail || r.Message != "SMTP error from remote mail server after initial connection: 554 go away" || !r.HostLine {
		t.Errorf("%+v", r)
	}
}

func TestSMTPChunking(t *testing.T) {
	srv := startServer(t, &smtptest.Server{Chunking: true, Pipelining: true})
	tr := newTransport(t, "t:\n  driver = smtp\n  allow_localhost\n", "t")
	r := deliver(t, tr, smtpDelivery(t, srv.Port(), "ok@a.b"))[0]
	if r.Status != OK || !r.Chunking || r.Confirmation != "250- 27 byte chunk, total 27\n250 OK id=1abc-000001-AB" {
		t.Errorf("%+v", r)
	}
	if m := srv.Messages(); len(m) != 1 || string(m[0]) != "Subject: hi\r\n\r\nbody\r\n.dot\r\n" {
		t.Errorf("%q", m)
	}
}

func TestSMTPMaxRcpt(t *testing.T) {
	srv := startServer(t, &smtptest.Server{Pipelining: true})
	tr := newTransport(t, smtpConf+"  max_rcpt = 2\n", "t")
	rs := deliver(t, tr, smtpDelivery(t, srv.Port(), "a@a.b", "b@a.b", "c@a.b"))
	for _, r := range rs {
		if r.Status != OK {
			t.Errorf("%+v", r)
		}
	}
	if n := len(srv.Messages()); n != 2 {
		t.Errorf("%d messages", n)
	}
}

func TestSMTPDSN(t *testing.T) {
	srv := startServer(t, &smtptest.Server{DSN: true})
	tr := newTransport(t, smtpConf, "t")
	d := smtpDelivery(t, srv.Port(), "ok@a.b")
	d.Header.DSNRet = 2
	d.Header.DSNEnvID = "xyz"
	d.Addresses[0].DSNFlags = 4 | 8
	d.Addresses[0].ORcpt = "rfc822;ok@a.b"
	deliver(t, tr, d)
	log := strings.Join(srv.Log(), "\n")
	if !strings.Contains(log, "MAIL FROM:<sender@x.org> RET=HDRS ENVID=xyz\nRCPT TO:<ok@a.b> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;ok@a.b") {
		t.Errorf("%s", log)
	}
}

func TestSMTPRequireTLSNotOffered(t *testing.T) {
	srv := startServer(t, &smtptest.Server{})
	tr := newTransport(t, smtpConf+"  hosts_require_tls = *\n", "t")
	r := deliver(t, tr, smtpDelivery(t, srv.Port(), "ok@a.b"))[0]
	if r.Status != Defer || r.Errno != -38 {
		t.Errorf("%+v", r)
	}
}

func selfSigned(t *testing.T) *tls.Config {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mx.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"mx.test"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

func TestSMTPStartTLS(t *testing.T) {
	srv := startServer(t, &smtptest.Server{TLS: selfSigned(t)})
	tr := newTransport(t, smtpConf+"  hosts_require_tls = *\n", "t")
	r := deliver(t, tr, smtpDelivery(t, srv.Port(), "ok@a.b"))[0]
	if r.Status != OK || !strings.HasPrefix(r.TLSCipher, "TLS1.3:") {
		t.Errorf("%+v", r)
	}
	log := strings.Join(srv.Log(), "\n")
	if strings.Count(log, "EHLO") != 2 || !strings.Contains(log, "STARTTLS") {
		t.Errorf("%s", log)
	}
	if r.TLSVerified != "no" || r.TLSPeerDN != "CN=mx.test" {
		t.Errorf("CV=%s DN=%s", r.TLSVerified, r.TLSPeerDN)
	}
	// With verification the self-signed certificate fails, and the
	// message goes in clear (tls_tempfail_tryclear) unless TLS is
	// required.
	tr = newTransport(t, smtpConf+"  tls_verify_hosts = *\n", "t")
	r = deliver(t, tr, smtpDelivery(t, srv.Port(), "ok@a.b"))[0]
	if r.Status != OK || r.TLSCipher != "" {
		t.Errorf("%+v", r)
	}
	tr = newTransport(t, smtpConf+"  tls_verify_hosts = *\n  hosts_require_tls = *\n", "t")
	r = deliver(t, tr, smtpDelivery(t, srv.Port(), "ok@a.b"))[0]
	if r.Status != Defer || r.Errno != -37 || r.Message != "TLS session: (certificate verification failed): certificate invalid" {
		t.Errorf("%+v", r)
	}
	// hosts_avoid_tls sends in clear.
	tr = newTransport(t, smtpConf+"  hosts_avoid_tls = 127.0.0.1\n", "t")
	r = deliver(t, tr, smtpDelivery(t, srv.Port(), "ok@a.b"))[0]
	if r.Status != OK || r.TLSCipher != "" {
		t.Errorf("%+v", r)
	}
}

const authConf = `
begin authenticators
plain:
  driver = plaintext
  public_name = PLAIN
  client_send = ^user^secret
cram:
  driver = cram_md5
  public_name = CRAM-MD5
  client_name = user
  client_secret = secret
`

func TestSMTPAuth(t *testing.T) {
	cases := []struct {
		name        string
		plain, cram bool
		pass        string
		status      Status
	}{
		{"plain", true, false, "secret", OK},
		{"cram", false, true, "secret", OK},
		{"wrong password", true, false, "other", Defer},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := startServer(t, &smtptest.Server{AuthPlain: c.plain, CRAM: c.cram, User: "user", Pass: c.pass})
			tr := newTransport(t, smtpConf+"  hosts_require_auth = *\n"+authConf, "t")
			r := deliver(t, tr, smtpDelivery(t, srv.Port(), "ok@a.b"))[0]
			if r.Status != c.status {
				t.Errorf("%+v\n%s", r, strings.Join(srv.Log(), "\n"))
			}
			if c.status != OK && (r.ErrCode != ErrAuthFailed || r.Message != "authentication required but authentication attempt(s) failed") {
				t.Errorf("%+v", r)
			}
		})
	}
}

func TestSMTPPoolReuse(t *testing.T) {
	srv := startServer(t, &smtptest.Server{})
	tr := newTransport(t, smtpConf, "t")
	pool := &Pool{}
	// Three messages, then another run for the third: a connection
	// goes on to other messages only.
	ids := []spool.ID{"1abcde-000001-AB", "1abcde-000002-AB", "1abcde-000003-AB", "1abcde-000003-AB"}
	for _, id := range ids {
		d := smtpDelivery(t, srv.Port(), "ok@a.b")
		d.Header.ID = id
		d.Pool = pool
		// Another message waits for the host after each.
		d.Waiting = func(Host) bool { return true }
		if r := deliver(t, tr, d)[0]; r.Status != OK {
			t.Fatalf("%+v", r)
		}
	}
	pool.Close()
	log := srv.Log()
	ehlo := 0
	for _, l := range log {
		if strings.HasPrefix(l, "EHLO") {
			ehlo++
		}
	}
	if ehlo != 2 || len(srv.Messages()) != 4 {
		t.Errorf("%d EHLO, %d messages: %q", ehlo, len(srv.Messages()), log)
	}
}

func TestSMTPHostsOption(t *testing.T) {
	srv := startServer(t, &smtptest.Server{})
	tr := newTransport(t, "t:\n  driver = smtp\n  allow_localhost\n  hosts = 127.0.0.1\n  port = "+strconv.Itoa(srv.Port())+"\n", "t")
	d := newDelivery(t, "Subject: x\n\nb\n", "ok@a.b")
	r := deliver(t, tr, d)[0]
	if r.Status != OK || r.Host != "127.0.0.1" {
		t.Errorf("%+v", r)
	}
}
