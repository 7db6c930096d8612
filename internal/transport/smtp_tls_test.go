package transport

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/dns"
	"github.com/exigo-mta/exigo/internal/dns/dnstest"
	"github.com/exigo-mta/exigo/internal/transport/smtptest"
)

// helloRecorder is a server TLS configuration that records what each
// client sent: its SNI and its certificate.
type helloRecorder struct {
	mu   sync.Mutex
	sni  []string
	cert []string
}

func (h *helloRecorder) config(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequestClientCert,
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			h.mu.Lock()
			h.sni = append(h.sni, hello.ServerName)
			h.mu.Unlock()
			return nil, nil
		},
		VerifyConnection: func(cs tls.ConnectionState) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			if len(cs.PeerCertificates) > 0 {
				h.cert = append(h.cert, cs.PeerCertificates[0].Subject.CommonName)
			} else {
				h.cert = append(h.cert, "")
			}
			return nil
		},
	}
}

func (h *helloRecorder) last() (string, string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.sni[len(h.sni)-1], h.cert[len(h.cert)-1]
}

// TestSMTPTLSClientOptions covers what the server sees: tls_sni (sent
// only when set, replaced by the host name under DANE) and the client
// certificate of tls_certificate/tls_privatekey; and CV=/DN= results.
func TestSMTPTLSClientOptions(t *testing.T) {
	pki := newTestPKI(t)
	dir := t.TempDir()
	client := makeLeaf(t, pki.ca2, pki.ca2Key, "client.example")
	writePEM(t, filepath.Join(dir, "client.pem"), client.Leaf)
	kder, err := x509.MarshalPKCS8PrivateKey(client.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "client.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	writePEM(t, filepath.Join(dir, "ca1.pem"), pki.ca1)
	rec := &helloRecorder{}
	srv := startServer(t, &smtptest.Server{TLS: rec.config(pki.good)})
	zone := "_" + strconv.Itoa(srv.Port()) + "._tcp.mx.dane.example. TLSA 3 1 1 " + sha256hex(pki.good.Leaf.RawSubjectPublicKeyInfo) + "\n"
	dnsSrv := dnstest.Start(t, "127.0.0.1:0", zone)
	dnsSrv.SetAD(true)
	res := dns.New(dnsSrv.Addr)
	res.Timeout, res.Retries = time.Second, 1
	cases := []struct {
		name, opts    string
		dnssec        bool
		sni, cert, cv string
	}{
		{"no sni", "", false, "", "", "no"},
		{"sni", "  tls_sni = sni.example\n", false, "sni.example", "", "no"},
		{"client cert", "  tls_certificate = " + dir + "/client.pem\n  tls_privatekey = " + dir + "/client.key\n", false, "", "client.example", "no"},
		{"verified", "  tls_verify_certificates = " + dir + "/ca1.pem\n", false, "", "", "yes"},
		{"dane forces sni", "  tls_sni = sni.example\n", true, "mx.dane.example", "", "dane"},
	}
	for _, c := range cases {
		tr := newTransport(t, smtpConf+c.opts, "t")
		d := smtpDelivery(t, srv.Port(), "ok@a.b")
		d.Hosts[0].Name, d.Hosts[0].DNSSEC = "mx.dane.example", c.dnssec
		d.Resolver, d.Now = res, time.Now
		r := deliver(t, tr, d)[0]
		sni, cert := rec.last()
		if r.Status != OK || sni != c.sni || cert != c.cert || r.TLSVerified != c.cv {
			t.Errorf("%s: %v %s, sni %q cert %q CV=%s", c.name, r.Status, r.Message, sni, cert, r.TLSVerified)
		}
		if r.TLSPeerDN != "C=ES,O=Exigo Test,CN=mx.dane.example" || !strings.HasPrefix(r.TLSCipher, "TLS1.3:ECDHE_X25519__ECDSA_SECP256R1_SHA256__AES_") {
			t.Errorf("%s: DN=%s X=%s", c.name, r.TLSPeerDN, r.TLSCipher)
		}
	}
}
