package tlsserver

import (
	"crypto/tls"
	"errors"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/mainlog"
)

func mainConf(extra string) string {
	return "primary_hostname = exim.test\n" + extra + "\n"
}

func newConfig(t testing.TB, text string) *Config {
	t.Helper()
	c, err := New(loadConfig(t, mainConf(text)), testSession{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestHandshake drives a Go client against the server for each
// certificate type and client setting; the expected X= texts are the ones
// real Exim logged for the same client settings (see names_test.go).
func TestHandshake(t *testing.T) {
	pki := standardPKI(t)
	tests := []struct {
		cert   string
		client *tls.Config
		want   string
	}{
		{"rsa", &tls.Config{}, "TLS1.3:ECDHE_X25519__RSA_PSS_RSAE_SHA256__AES_128_GCM:128"},
		{"rsa", &tls.Config{MaxVersion: tls.VersionTLS12}, "TLS1.2:ECDHE_X25519__RSA_PSS_RSAE_SHA256__AES_128_GCM:128"},
		{"rsa", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256}}, "TLS1.2:ECDHE_X25519__RSA_PSS_RSAE_SHA256__CHACHA20_POLY1305:256"},
		{"rsa", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}, CurvePreferences: []tls.CurveID{tls.CurveP256}}, "TLS1.2:ECDHE_SECP256R1__RSA_PSS_RSAE_SHA256__AES_128_GCM:128"},
		{"rsa", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384}}, "TLS1.2:ECDHE_X25519__RSA_PSS_RSAE_SHA256__AES_256_GCM:256"},
		{"rsa", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA}}, "TLS1.2:ECDHE_X25519__RSA_PSS_RSAE_SHA256__AES_128_CBC__SHA1:128"},
		{"rsa", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256}}, "TLS1.2:RSA__AES_128_GCM:128"},
		{"rsa", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_RSA_WITH_AES_256_CBC_SHA}}, "TLS1.2:RSA__AES_256_CBC__SHA1:256"},
		{"rsa", &tls.Config{CurvePreferences: []tls.CurveID{tls.CurveP521}}, "TLS1.3:ECDHE_SECP521R1__RSA_PSS_RSAE_SHA256__AES_128_GCM:128"},
		{"rsa", &tls.Config{CurvePreferences: []tls.CurveID{tls.CurveP384}}, "TLS1.3:ECDHE_SECP384R1__RSA_PSS_RSAE_SHA256__AES_128_GCM:128"},
		{"p256", &tls.Config{}, "TLS1.3:ECDHE_X25519__ECDSA_SECP256R1_SHA256__AES_128_GCM:128"},
		{"p256", &tls.Config{MaxVersion: tls.VersionTLS12}, "TLS1.2:ECDHE_X25519__ECDSA_SHA256__AES_128_GCM:128"},
		{"p256", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}}, "TLS1.2:ECDHE_X25519__ECDSA_SHA256__CHACHA20_POLY1305:256"},
		{"p256", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}, CurvePreferences: []tls.CurveID{tls.CurveP384}}, "TLS1.2:ECDHE_SECP384R1__ECDSA_SHA256__AES_256_CBC__SHA1:256"},
		{"p256", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}, CurvePreferences: []tls.CurveID{tls.CurveP521}}, "TLS1.2:ECDHE_SECP521R1__ECDSA_SHA256__AES_256_GCM:256"},
		{"p384", &tls.Config{}, "TLS1.3:ECDHE_X25519__ECDSA_SECP384R1_SHA384__AES_128_GCM:128"},
		{"p384", &tls.Config{MaxVersion: tls.VersionTLS12}, "TLS1.2:ECDHE_X25519__ECDSA_SHA256__AES_128_GCM:128"},
		{"ed25519", &tls.Config{}, "TLS1.3:ECDHE_X25519__EdDSA_Ed25519__AES_128_GCM:128"},
		{"ed25519", &tls.Config{MaxVersion: tls.VersionTLS12}, "TLS1.2:ECDHE_X25519__EdDSA_Ed25519__AES_128_GCM:128"},
	}
	confs := map[string]*Config{}
	for _, tt := range tests {
		c := confs[tt.cert]
		if c == nil {
			c = newConfig(t, "tls_certificate = "+pki.crt(tt.cert)+"\ntls_privatekey = "+pki.key(tt.cert))
			confs[tt.cert] = c
		}
		st, err, _, cerr := serve(t, c, tt.client.Clone())
		if err != nil || cerr != nil {
			t.Errorf("%s %s: server %v, client %v", tt.cert, tt.want, err, cerr)
			continue
		}
		if st.Cipher != tt.want {
			t.Errorf("%s: X=%s, want %s", tt.cert, st.Cipher, tt.want)
		}
		if st.CertificateVerified || st.PeerDN != "" || st.OurCert == nil || st.OurCert.Subject.CommonName != tt.cert {
			t.Errorf("%s: state %+v", tt.want, st)
		}
	}
}

func TestVars(t *testing.T) {
	pki := standardPKI(t)
	c := newConfig(t, "tls_certificate = "+pki.crt("rsa")+"\ntls_privatekey = "+pki.key("rsa"))
	st, err, _, _ := serve(t, c, &tls.Config{MaxVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	// Observed for the same client (Go, TLS 1.2): ocsp=1 (Go asks for a
	// status), resumption 5.
	want := map[string]string{
		"tls_in_cipher": "TLS1.2:ECDHE_X25519__RSA_PSS_RSAE_SHA256__AES_128_GCM:128", "tls_in_cipher_std": "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
		"tls_in_bits": "128", "tls_in_ver": "TLS1.2", "tls_in_peerdn": "", "tls_in_sni": "", "tls_in_certificate_verified": "0",
		"tls_in_ocsp": "1", "tls_in_resumption": "5", "tls_cipher": "TLS1.2:ECDHE_X25519__RSA_PSS_RSAE_SHA256__AES_128_GCM:128",
	}
	vars := st.Vars()
	for k, v := range want {
		if vars[k] != v {
			t.Errorf("$%s = %q, want %q", k, vars[k], v)
		}
	}
	st, _, _, _ = serve(t, c, &tls.Config{})
	if v := st.Vars(); v["tls_in_resumption"] != "1" || v["tls_in_ver"] != "TLS1.3" {
		t.Errorf("TLS 1.3 vars %v", v)
	}
	sel := mainlog.SelTLSCipher | mainlog.SelTLSCertificateVerified | mainlog.SelTLSPeerDN | mainlog.SelTLSSNI
	st.SNI, st.PeerDN = "foo.example", "CN=x\ny"
	if got, want := st.LogFields(sel), ` X=TLS1.3:ECDHE_X25519__RSA_PSS_RSAE_SHA256__AES_128_GCM:128 CV=no DN="CN=x\ny" SNI=foo.example`; got != want {
		t.Errorf("LogFields = %q, want %q", got, want)
	}
}

func TestClientVerification(t *testing.T) {
	pki := standardPKI(t)
	base := "tls_certificate = " + pki.crt("rsa") + "\ntls_privatekey = " + pki.key("rsa") + "\ntls_verify_certificates = " + pki.crt("ca") + "\n"
	try := newConfig(t, base+"tls_try_verify_hosts = *")
	dn := `C=DE,L=Town\, West,OU=Mail+O=Exigo\+Co,CN=client.test,EMAIL=pm@client.test,1.2.3.4=#1306637573746f6d`
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		st, err, _, _ := serve(t, try, &tls.Config{MaxVersion: v, Certificates: []tls.Certificate{pki.clientCert("client")}})
		if err != nil {
			t.Fatal(err)
		}
		if !st.CertificateVerified || st.PeerDN != dn {
			t.Errorf("verified=%v DN=%q", st.CertificateVerified, st.PeerDN)
		}
		// A certificate from another CA: Go's client only sends a
		// certificate from an accepted CA, so send it unconditionally.
		self := pki.clientCert("self")
		st, err, _, _ = serve(t, try, &tls.Config{MaxVersion: v, GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &self, nil }})
		if err != nil {
			t.Fatal(err)
		}
		if st.CertificateVerified || st.PeerDN != "CN=self" {
			t.Errorf("self: verified=%v DN=%q", st.CertificateVerified, st.PeerDN)
		}
		st, err, _, _ = serve(t, try, &tls.Config{MaxVersion: v})
		if err != nil || st.CertificateVerified || st.PeerDN != "" {
			t.Errorf("no cert: %v %+v", err, st)
		}
	}
	req := newConfig(t, base+"tls_verify_hosts = *")
	self := pki.clientCert("self")
	_, err, _, _ := serve(t, req, &tls.Config{GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &self, nil }})
	var he *HandshakeError
	if !errors.As(err, &he) || he.LogText("(c) [127.0.0.1]") != "TLS error on connection from (c) [127.0.0.1] (certificate verification failed): certificate invalid" {
		t.Errorf("untrusted: %v", err)
	}
	for v, want := range map[uint16]string{tls.VersionTLS13: "Certificate is required.", tls.VersionTLS12: "No certificate was found."} {
		_, err, _, _ = serve(t, req, &tls.Config{MaxVersion: v})
		if !errors.As(err, &he) || he.Detail != "(gnutls_handshake): "+want {
			t.Errorf("missing cert %x: %v", v, err)
		}
	}
	st, err, _, _ := serve(t, req, &tls.Config{Certificates: []tls.Certificate{pki.clientCert("client")}})
	if err != nil || !st.CertificateVerified {
		t.Errorf("required+good: %v", err)
	}
}

func TestSNI(t *testing.T) {
	pki := standardPKI(t)
	c := newConfig(t, "tls_certificate = ${if eq{$tls_in_sni}{} {"+pki.crt("rsa")+"}{"+pki.dir+"/${tls_in_sni}.crt}}\n"+
		"tls_privatekey = ${if eq{$tls_in_sni}{} {"+pki.key("rsa")+"}{"+pki.dir+"/${tls_in_sni}.key}}")
	for sni, want := range map[string]string{"": "rsa", "p256": "p256", "ed25519": "ed25519"} {
		st, err, cs, _ := serve(t, c, &tls.Config{ServerName: sni})
		if err != nil {
			t.Fatalf("sni %q: %v", sni, err)
		}
		if st.SNI != sni || cs.PeerCertificates[0].Subject.CommonName != want || st.OurCert.Subject.CommonName != want {
			t.Errorf("sni %q: got SNI %q cert %s", sni, st.SNI, cs.PeerCertificates[0].Subject.CommonName)
		}
	}
	_, err, _, _ := serve(t, c, &tls.Config{ServerName: "missing"})
	var he *HandshakeError
	if !errors.As(err, &he) || !strings.Contains(he.Detail, "(cert/key setup: cert="+pki.dir+"/missing.crt") {
		t.Errorf("missing SNI cert: %v", err)
	}
}

func TestMultipleCertificates(t *testing.T) {
	pki := standardPKI(t)
	c := newConfig(t, "tls_certificate = "+pki.crt("rsa")+" : "+pki.crt("p256")+"\ntls_privatekey = "+pki.key("rsa")+" : "+pki.key("p256"))
	tests := []struct {
		client *tls.Config
		want   string
	}{
		{&tls.Config{}, "rsa"},                              // Go's client lists RSA-PSS-SHA256 first
		{&tls.Config{MaxVersion: tls.VersionTLS12}, "p256"}, // and ECDSA suites first
		{&tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}}, "p256"},
		{&tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_RSA_WITH_AES_128_CBC_SHA}}, "rsa"},
	}
	for _, tt := range tests {
		st, err, _, _ := serve(t, c, tt.client.Clone())
		if err != nil {
			t.Fatal(err)
		}
		if st.OurCert.Subject.CommonName != tt.want {
			t.Errorf("%s: certificate %s, want %s", st.Cipher, st.OurCert.Subject.CommonName, tt.want)
		}
	}
}

// TestClientPrecedence: GnuTLS takes the client's first acceptable TLS 1.2
// suite (observed with openssl -cipher 'ECDHE-RSA-AES128-SHA:ECDHE-RSA-
// AES256-GCM-SHA384': AES_128_CBC); Go alone would take its own order.
// Go's client does not keep its configured order, so the hello is made
// by hand.
func TestClientPrecedence(t *testing.T) {
	pki := standardPKI(t)
	for _, tt := range []struct {
		prio string
		want uint16
	}{
		{"NORMAL", tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA},
		{"NORMAL:%SERVER_PRECEDENCE", tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384},
		{"NORMAL:-AES-128-CBC", tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384},
	} {
		c := newConfig(t, "tls_certificate = "+pki.crt("rsa")+"\ntls_privatekey = "+pki.key("rsa")+"\ntls_require_ciphers = "+tt.prio)
		p, err := c.Prepare(testSession{})
		if err != nil {
			t.Fatal(err)
		}
		hello := &tls.ClientHelloInfo{
			CipherSuites:      []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384},
			SupportedCurves:   []tls.CurveID{tls.CurveP521, tls.X25519},
			SignatureSchemes:  []tls.SignatureScheme{tls.PSSWithSHA256},
			SupportedVersions: []uint16{tls.VersionTLS12},
		}
		hs := &handshake{p: p, rec: &sigRecord{}}
		cfg, err := hs.configForClient(hello)
		if err != nil {
			t.Fatal(err)
		}
		if len(cfg.CipherSuites) != 1 || cfg.CipherSuites[0] != tt.want {
			t.Errorf("%s: suites %v, want %s", tt.prio, cfg.CipherSuites, tls.CipherSuiteName(tt.want))
		}
		if cfg.CurvePreferences[0] != tls.CurveP521 {
			t.Errorf("%s: curves %v", tt.prio, cfg.CurvePreferences)
		}
	}
}

func TestSetupErrors(t *testing.T) {
	pki := standardPKI(t)
	tests := []struct {
		conf string
		log  []LogLine
		want string
	}{
		{"tls_certificate = /nonexistent.crt", nil, "(cert/key setup: cert=/nonexistent.crt key=/nonexistent.crt): Error while reading file."},
		{"tls_certificate = " + pki.crt("rsa") + "\ntls_privatekey = " + pki.key("p256"), nil, "(cert/key setup: cert=" + pki.crt("rsa") + " key=" + pki.key("p256") + "): The certificate and the given key do not match."},
		{"tls_certificate = " + pki.crt("rsa"), nil, "(cert/key setup: cert=" + pki.crt("rsa") + " key=" + pki.crt("rsa") + "): The requested data were not available."},
		{"tls_certificate = " + pki.key("rsa") + "\ntls_privatekey = " + pki.key("rsa"), nil, "(cert/key setup: cert=" + pki.key("rsa") + " key=" + pki.key("rsa") + "): Base64 decoding error."},
		{"tls_certificate = relative.crt", nil, "(cert/key setup: cert=relative.crt key=relative.crt): Error while reading file."},
		{"tls_certificate = " + pki.crt("rsa") + "\ntls_privatekey = ${bad:x}", []LogLine{{Text: `expansion of tls_privatekey failed: unknown expansion operator "bad"`, Panic: true}}, "Internal error"},
		{"tls_certificate = " + pki.crt("rsa") + "\ntls_privatekey = " + pki.key("rsa") + "\ntls_verify_certificates = /nonexistent/ca.crt\ntls_verify_hosts = *",
			[]LogLine{{Text: "could not stat '/nonexistent/ca.crt' (tls_verify_certificates): No such file or directory", Panic: true}}, "NULL"},
	}
	for _, tt := range tests {
		cfg, err := New(loadConfig(t, mainConf(tt.conf)), testSession{})
		if err != nil {
			if tt.want == "" {
				continue // caught by the config parser: fine
			}
			t.Fatal(err)
		}
		_, err = cfg.Prepare(testSession{})
		var se *SetupError
		if !errors.As(err, &se) {
			t.Errorf("%s: got %v, want a SetupError", tt.conf, err)
			continue
		}
		if tt.want != "" && se.Detail != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.conf, se.Detail, tt.want)
		}
		if tt.log != nil && (len(se.Log) != 1 || se.Log[0] != tt.log[0]) {
			t.Errorf("%s: log %v, want %v", tt.conf, se.Log, tt.log)
		}
	}
}

func TestSelfSigned(t *testing.T) {
	c := newConfig(t, "")
	if len(c.Startup) != 1 || !strings.HasPrefix(c.Startup[0].Text, "Warning: No server certificate defined; will use a selfsigned one.") {
		t.Errorf("startup log %v", c.Startup)
	}
	st, err, cs, _ := serve(t, c, &tls.Config{})
	if err != nil {
		t.Fatal(err)
	}
	leaf := cs.PeerCertificates[0]
	if FormatDN(leaf.RawSubject) != "C=UK,O=Exim Developers,CN=exim.test" || leaf.SerialNumber.Text(16) != "100000000000000" ||
		leaf.NotAfter.Sub(leaf.NotBefore).Hours() != 2 || leaf.PublicKey.(interface{ Size() int }).Size() != 384 {
		t.Errorf("self-signed certificate %s serial %x %v-%v", FormatDN(leaf.RawSubject), leaf.SerialNumber, leaf.NotBefore, leaf.NotAfter)
	}
	if st.Cipher != "TLS1.3:ECDHE_X25519__RSA_PSS_RSAE_SHA256__AES_128_GCM:128" {
		t.Errorf("X=%s", st.Cipher)
	}
}

func TestHandshakeErrors(t *testing.T) {
	pki := standardPKI(t)
	c := newConfig(t, "tls_certificate = "+pki.crt("rsa")+"\ntls_privatekey = "+pki.key("rsa"))
	var he *HandshakeError
	_, err, _, _ := serve(t, c, &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}})
	if !errors.As(err, &he) || he.Detail != "(gnutls_handshake): No supported cipher suites have been found." {
		t.Errorf("no suite: %v", err)
	}
	_, err, _, _ = serve(t, c, &tls.Config{NextProtos: []string{"http/1.1"}})
	if !errors.As(err, &he) || he.Detail != "(gnutls_handshake): No common application protocol could be negotiated." || len(he.Log) != 0 {
		t.Errorf("alpn http: %v %v", err, he)
	}
	_, err, _, _ = serve(t, c, &tls.Config{NextProtos: []string{"esmtp", "smtp"}})
	if !errors.As(err, &he) || he.Detail != "(gnutls_handshake): No common application protocol could be negotiated." ||
		len(he.Log) != 1 || he.Log[0].Text != "TLS ALPN (esmtp:smtp) rejected" {
		t.Errorf("alpn two: %v %v", err, he)
	}
	st, err, _, _ := serve(t, c, &tls.Config{NextProtos: []string{"smtp"}})
	if err != nil || st.ALPN != "smtp" {
		t.Errorf("alpn smtp: %v", err)
	}
	if got := gnutlsText(errors.New("tls: first record does not look like a TLS handshake"), 0, new(bool)); got != "An unexpected TLS packet was received." {
		t.Errorf("garbage: %s", got)
	}
}

func TestAdvertise(t *testing.T) {
	for conf, want := range map[string]bool{"": true, "tls_advertise_hosts =": false, "tls_advertise_hosts = !*": false} {
		c := newConfig(t, conf)
		if got, _ := c.Advertise(testSession{}); got != want {
			t.Errorf("%q: Advertise = %v", conf, got)
		}
	}
}

func TestNewErrors(t *testing.T) {
	_, err := New(loadConfig(t, mainConf("tls_require_ciphers = NORMAL:BOGUS")), testSession{})
	if err == nil || err.Error() != "Exim configuration error:\n  tls_require_ciphers invalid: gnutls_priority_init(NORMAL:BOGUS) failed at offset 7, \"BOGUS..\" failed: The request is invalid." {
		t.Errorf("got %v", err)
	}
	_, err = New(loadConfig(t, mainConf("tls_require_ciphers = NORMAL:${if eq{1}{1}{BOGUS}}")), testSession{})
	if err == nil || !strings.Contains(err.Error(), "gnutls_priority_init(NORMAL:BOGUS) failed at offset 7") {
		t.Errorf("expanded: %v", err)
	}
}
