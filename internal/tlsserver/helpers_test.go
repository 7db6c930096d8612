package tlsserver

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/expand"
)

// testPKI holds certificates made for a test, written as PEM files.
type testPKI struct {
	dir   string
	files map[string]string // name -> path of NAME.crt (NAME.key beside it)
	certs map[string]*x509.Certificate
	keys  map[string]crypto.Signer
}

func newKey(t testing.TB, kind string) crypto.Signer {
	t.Helper()
	var k crypto.Signer
	var err error
	switch kind {
	case "rsa":
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	case "p256":
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "p384":
		k, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "ed25519":
		_, k, err = ed25519.GenerateKey(rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var serial int64 = 100

// add makes a certificate NAME with a key of kind; subject is raw DER of
// the subject (nil: CN=name); issuer "" means self-signed.
func (p *testPKI) add(t testing.TB, name, kind string, subject []byte, issuer string, isCA bool) {
	t.Helper()
	key := newKey(t, kind)
	serial++
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		BasicConstraintsValid: isCA,
		IsCA:                  isCA,
		DNSNames:              []string{name},
	}
	if subject != nil {
		tmpl.RawSubject = subject
	}
	if isCA {
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
	}
	parent, signer := tmpl, key
	if issuer != "" {
		parent, signer = p.certs[issuer], p.keys[issuer]
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(p.dir, name)
	writePEM(t, base+".crt", "CERTIFICATE", der)
	writePEM(t, base+".key", "PRIVATE KEY", kder)
	p.files[name], p.certs[name], p.keys[name] = base+".crt", cert, key
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (p *testPKI) crt(name string) string { return p.files[name] }
func (p *testPKI) key(name string) string { return strings.TrimSuffix(p.files[name], ".crt") + ".key" }

// clientCert is a tls.Certificate for a Go client.
func (p *testPKI) clientCert(name string) tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{p.certs[name].Raw}, PrivateKey: p.keys[name]}
}

// rawName encodes an RDN sequence given as [][]pair.
type atv struct {
	oid asn1.ObjectIdentifier
	val any // string (UTF8String) or asn1.RawValue
}

func rawName(t testing.TB, rdns ...[]atv) []byte {
	t.Helper()
	var seq pkix.RDNSequence
	for _, r := range rdns {
		var set pkix.RelativeDistinguishedNameSET
		for _, a := range r {
			set = append(set, pkix.AttributeTypeAndValue{Type: a.oid, Value: a.val})
		}
		seq = append(seq, set)
	}
	der, err := asn1.Marshal(seq)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// standardPKI makes the certificates most tests use: server certificates
// "rsa", "p256", "p384", "ed25519"; a CA "ca" and a client "client"
// signed by it; a self-signed client "self".
func standardPKI(t testing.TB) *testPKI {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := &testPKI{dir: dir, files: map[string]string{}, certs: map[string]*x509.Certificate{}, keys: map[string]crypto.Signer{}}
	p.add(t, "rsa", "rsa", nil, "", false)
	p.add(t, "p256", "p256", nil, "", false)
	p.add(t, "p384", "p384", nil, "", false)
	p.add(t, "ed25519", "ed25519", nil, "", false)
	p.add(t, "ca", "p256", nil, "", true)
	p.add(t, "client", "p256", clientSubject(t), "ca", false)
	p.add(t, "self", "p256", nil, "", false)
	return p
}

// clientSubject has escapes, a multi-valued RDN, e-mail and an unknown
// attribute type.
func clientSubject(t testing.TB) []byte {
	oid := func(s ...int) asn1.ObjectIdentifier { return asn1.ObjectIdentifier(s) }
	return rawName(t,
		[]atv{{oid(2, 5, 4, 6), "DE"}},
		[]atv{{oid(2, 5, 4, 7), "Town, West"}},
		[]atv{{oid(2, 5, 4, 10), "Exigo+Co"}, {oid(2, 5, 4, 11), "Mail"}},
		[]atv{{oid(2, 5, 4, 3), "client.test"}},
		[]atv{{oid(1, 2, 840, 113549, 1, 9, 1), asn1.RawValue{Tag: asn1.TagIA5String, Bytes: []byte("pm@client.test")}}},
		[]atv{{oid(1, 2, 3, 4), "custom"}},
	)
}

// testSession expands with the real expansion engine ($tls_in_sni set)
// and matches host lists "*" (anything non-empty but "!*").
type testSession struct{ vars map[string]string }

func (s testSession) Expand(str, sni string) (string, error) {
	vm := expand.VarMap{"tls_in_sni": sni}
	for k, v := range s.vars {
		vm[k] = v
	}
	return expand.String(str, &expand.Context{Vars: vm})
}

func (s testSession) MatchHosts(list string) (bool, error) {
	return strings.TrimSpace(list) == "*", nil
}

// loadConfig parses a main section.
func loadConfig(t testing.TB, text string) *config.Config {
	t.Helper()
	cfg, err := config.LoadBytes("/test.conf", []byte(text), config.Options{})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// serve runs one server handshake with c against a Go client using ccfg
// over loopback TCP and returns the server's state or error and the
// client's connection state.
func serve(t testing.TB, c *Config, ccfg *tls.Config) (*State, error, tls.ConnectionState, error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type res struct {
		st  *State
		err error
	}
	done := make(chan res, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			done <- res{nil, err}
			return
		}
		defer conn.Close()
		tc, st, err := c.Server(conn, testSession{})
		if err == nil {
			// Read until the client closes, so it sees a finished handshake.
			buf := make([]byte, 1)
			_, _ = tc.Read(buf)
		}
		done <- res{st, err}
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	ccfg.InsecureSkipVerify = true
	cc := tls.Client(conn, ccfg)
	_ = cc.SetDeadline(time.Now().Add(10 * time.Second))
	cerr := cc.Handshake()
	cs := cc.ConnectionState()
	cc.Close()
	r := <-done
	return r.st, r.err, cs, cerr
}
