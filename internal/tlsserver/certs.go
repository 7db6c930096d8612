package tlsserver

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"strings"
	"sync"
	"time"
)

// GnuTLS's texts for certificate and key loading failures, as Exim logs
// them after "(cert/key setup: cert=FILE key=FILE): ".
const (
	errReadFile  = "Error while reading file."
	errBase64    = "Base64 decoding error."
	errNoData    = "The requested data were not available."
	errKeyMatch  = "The certificate and the given key do not match."
	errKeyFormat = "The given key is not supported or is invalid."
)

// serverCert is one loaded certificate with its private key.
type serverCert struct {
	cert tls.Certificate
	leaf *x509.Certificate
	// auth is the suite family the key can serve: "RSA" or "ECDSA"
	// (Ed25519 keys serve ECDSA suites, as in GnuTLS and Go).
	auth string
}

// loadPair loads a PEM certificate (chain) and private key, returning a
// GnuTLS-worded reason on failure.
func loadPair(certFile, keyFile string) (*serverCert, string) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, errReadFile
	}
	var chain [][]byte
	for rest := certPEM; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			chain = append(chain, b.Bytes)
		}
	}
	if len(chain) == 0 {
		return nil, errBase64
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return nil, errBase64
	}
	keyPEM := certPEM
	if keyFile != certFile {
		if keyPEM, err = os.ReadFile(keyFile); err != nil {
			return nil, errReadFile
		}
	}
	var keyDER []byte
	var keyType string
	for rest := keyPEM; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if strings.HasSuffix(b.Type, "PRIVATE KEY") {
			keyDER, keyType = b.Bytes, b.Type
			break
		}
	}
	if keyDER == nil {
		return nil, errNoData
	}
	key, err := parseKey(keyType, keyDER)
	if err != nil {
		return nil, errKeyFormat
	}
	if !samePublic(leaf.PublicKey, key.Public()) {
		return nil, errKeyMatch
	}
	sc := &serverCert{cert: tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf}, leaf: leaf}
	switch key.Public().(type) {
	case *rsa.PublicKey:
		sc.auth = "RSA"
	case *ecdsa.PublicKey, ed25519.PublicKey:
		sc.auth = "ECDSA"
	default:
		return nil, errKeyFormat
	}
	return sc, ""
}

func parseKey(typ string, der []byte) (crypto.Signer, error) {
	var k any
	var err error
	switch typ {
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(der)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(der)
	default:
		k, err = x509.ParsePKCS8PrivateKey(der)
	}
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("key cannot sign")
	}
	return s, nil
}

func samePublic(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}

// selfSigned holds the certificate Exim makes when tls_certificate is
// unset: RSA 3072, SHA-256, subject and issuer "C=UK, O=Exim Developers,
// CN=<primary_hostname>", serial 0x0100000000000000, valid for two hours,
// no extensions (observed with Exim 4.96). It is made on first use and
// again once expired. Exim specification: main option tls_certificate.
type selfSigned struct {
	mu       sync.Mutex
	hostname string
	cert     *serverCert
}

func (s *selfSigned) get(now time.Time) (*serverCert, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cert != nil && now.Before(s.cert.leaf.NotAfter.Add(-time.Minute)) {
		return s.cert, nil
	}
	key, err := rsa.GenerateKey(rand.Reader, 3072)
	if err != nil {
		return nil, fmt.Errorf("generating self-signed key: %w", err)
	}
	name := pkix.Name{Country: []string{"UK"}, Organization: []string{"Exim Developers"}, CommonName: s.hostname}
	tmpl := &x509.Certificate{
		SerialNumber:       new(big.Int).Lsh(big.NewInt(1), 56),
		Subject:            name,
		Issuer:             name,
		NotBefore:          now.Truncate(time.Second),
		NotAfter:           now.Truncate(time.Second).Add(2 * time.Hour),
		SignatureAlgorithm: x509.SHA256WithRSA,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("making self-signed certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parsing self-signed certificate: %w", err)
	}
	s.cert = &serverCert{cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, leaf: leaf, auth: "RSA"}
	return s.cert, nil
}

// sigRecord remembers the handshake signature a connection's key made, so
// that the X= text names the signature actually used.
type sigRecord struct {
	mu   sync.Mutex
	hash crypto.Hash
	pss  bool
	done bool
	pub  crypto.PublicKey
}

func (r *sigRecord) note(pub crypto.PublicKey, opts crypto.SignerOpts) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pub, r.hash, r.done = pub, opts.HashFunc(), true
	_, r.pss = opts.(*rsa.PSSOptions)
}

func (r *sigRecord) name(version uint16) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.done {
		return ""
	}
	return SignatureName(version, r.pub, r.hash, r.pss)
}

type recordingSigner struct {
	crypto.Signer
	rec *sigRecord
}

func (s *recordingSigner) Sign(rnd io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	s.rec.note(s.Public(), opts)
	return s.Signer.Sign(rnd, digest, opts)
}

// recordingDecrypter also decrypts, for RSA key exchange.
type recordingDecrypter struct {
	recordingSigner
	dec crypto.Decrypter
}

func (s *recordingDecrypter) Decrypt(rnd io.Reader, msg []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	return s.dec.Decrypt(rnd, msg, opts)
}

// withRecorder returns a copy of c whose key records its signatures in rec.
func withRecorder(c *serverCert, rec *sigRecord) *tls.Certificate {
	out := c.cert
	signer := c.cert.PrivateKey.(crypto.Signer)
	if dec, ok := signer.(crypto.Decrypter); ok {
		out.PrivateKey = &recordingDecrypter{recordingSigner{signer, rec}, dec}
	} else {
		out.PrivateKey = &recordingSigner{signer, rec}
	}
	return &out
}

// loadCAs loads tls_verify_certificates: "system", a PEM file, or a
// directory of PEM files. sendNames says whether the CA names go to the
// client in the certificate request (GnuTLS does so for a file only).
func loadCAs(value string) (pool *x509.CertPool, sendNames bool, err error) {
	if value == "system" || strings.HasPrefix(value, "system,") {
		pool, err = x509.SystemCertPool()
		if err != nil {
			return nil, false, fmt.Errorf("loading the system CA store: %w", err)
		}
		return pool, false, nil
	}
	st, err := os.Stat(value)
	if err != nil {
		return nil, false, err
	}
	pool = x509.NewCertPool()
	if !st.IsDir() {
		data, err := os.ReadFile(value)
		if err != nil {
			return nil, false, err
		}
		pool.AppendCertsFromPEM(data)
		return pool, true, nil
	}
	entries, err := os.ReadDir(value)
	if err != nil {
		return nil, false, err
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		if data, err := os.ReadFile(value + "/" + e.Name()); err == nil {
			pool.AppendCertsFromPEM(data)
		}
	}
	return pool, false, nil
}

// loadCRLs reads tls_crl: PEM (or DER) certificate revocation lists.
func loadCRLs(file string) ([]*x509.RevocationList, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var out []*x509.RevocationList
	found := false
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		found = true
		if b.Type == "X509 CRL" {
			if l, err := x509.ParseRevocationList(b.Bytes); err == nil {
				out = append(out, l)
			}
		}
	}
	if !found {
		l, err := x509.ParseRevocationList(data)
		if err != nil {
			return nil, fmt.Errorf("parsing %s: %w", file, err)
		}
		out = append(out, l)
	}
	return out, nil
}

// revoked reports whether cert is listed in one of crls issued by its
// issuer.
func revoked(cert *x509.Certificate, crls []*x509.RevocationList) bool {
	for _, l := range crls {
		if string(l.RawIssuer) != string(cert.RawIssuer) {
			continue
		}
		for _, e := range l.RevokedCertificateEntries {
			if e.SerialNumber.Cmp(cert.SerialNumber) == 0 {
				return true
			}
		}
	}
	return false
}

// loadOCSP reads tls_ocsp_file items: DER by default, or after a "PEM " or
// "DER " prefix that sets the format for that and later files.
func loadOCSP(items []string) [][]byte {
	out := make([][]byte, len(items))
	format := "DER"
	for i, it := range items {
		if f, rest, ok := strings.Cut(it, " "); ok && (f == "PEM" || f == "DER") {
			format, it = f, rest
		}
		data, err := os.ReadFile(it)
		if err != nil {
			continue
		}
		if format == "PEM" {
			if b, _ := pem.Decode(data); b != nil {
				data = b.Bytes
			} else {
				continue
			}
		}
		out[i] = data
	}
	return out
}
