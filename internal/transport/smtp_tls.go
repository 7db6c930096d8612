// Client-side TLS for the smtp transport: which certificate checks a
// host gets, the TLS settings for STARTTLS, and what the session shows
// in the log (Exim specification chapter "The smtp transport", options
// tls_certificate, tls_privatekey, tls_require_ciphers, tls_sni,
// tls_verify_certificates, tls_verify_hosts, tls_try_verify_hosts,
// tls_verify_cert_hostnames, tls_tempfail_tryclear; chapter "Encrypted
// SMTP connections using TLS/SSL"; chapter "Log files" for X=, CV=, DN=).

package transport

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/exigo-mta/exigo/internal/tlsserver"
)

// tlsPlan is how one STARTTLS is to be done and checked.
type tlsPlan struct {
	cfg *tls.Config
	// verify: a failed certificate check fails the session
	// (tls_verify_hosts); try: it is only recorded (tls_try_verify_hosts).
	verify, try bool
	// names: check the host name against the certificate
	// (tls_verify_cert_hostnames).
	names bool
	roots *x509.CertPool
	host  string
	dane  *daneState
	now   func() time.Time
	// result of the check, set during the handshake.
	verified string // "yes", "no" or "dane"
}

// verifyError is a failed certificate check; detail is GnuTLS's word
// for it as Exim logs it ("" for a host name that does not match).
type verifyError struct {
	detail string
	dane   bool
}

func (e *verifyError) Error() string {
	if e.detail == "" {
		return "(certificate verification failed)"
	}
	return "(certificate verification failed): " + e.detail
}

// tlsPlanFor builds the plan for h. With DANE in force, hosts_require_tls,
// tls_verify_hosts, tls_try_verify_hosts, tls_verify_certificates,
// tls_verify_cert_hostnames and tls_sni are ignored, the SNI is the host
// name and dane_require_tls_ciphers replaces tls_require_ciphers (spec
// section "DANE").
func (s *smtpTransport) tlsPlanFor(e *env, h Host, dane *daneState, now func() time.Time) (*tlsPlan, error) {
	p := &tlsPlan{host: h.Name, dane: dane, now: now, verified: "no"}
	cfg := &tls.Config{
		InsecureSkipVerify: true, // checked in VerifyConnection
		MinVersion:         tls.VersionTLS12,
		// GnuTLS's groups; no post-quantum hybrid, which Exim 4.96
		// with GnuTLS 3.7 does not offer.
		CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384, tls.CurveP521},
	}
	p.cfg = cfg
	ciphers := "tls_require_ciphers"
	if dane != nil {
		cfg.ServerName = strings.TrimSuffix(h.Name, ".")
		if s.opts.String("dane_require_tls_ciphers") != "" {
			ciphers = "dane_require_tls_ciphers"
		}
	} else {
		sni, err := s.expandOpt(e, "tls_sni")
		if err != nil {
			return nil, err
		}
		cfg.ServerName = sni
		p.verify = s.matchHosts(e, "tls_verify_hosts", h)
		p.try = !p.verify && s.matchHosts(e, "tls_try_verify_hosts", h)
		if p.verify || p.try {
			p.names = s.matchHosts(e, "tls_verify_cert_hostnames", h)
			vc, err := s.expandOpt(e, "tls_verify_certificates")
			if err != nil {
				return nil, err
			}
			if p.roots, err = loadRoots(vc); err != nil {
				return nil, err
			}
		}
	}
	if isIPLiteral(cfg.ServerName) {
		cfg.ServerName = ""
	}
	if pr, err := s.expandOpt(e, ciphers); err != nil {
		return nil, err
	} else if pr != "" {
		prio, err := tlsserver.ParsePriority(pr)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ciphers, err)
		}
		cfg.MinVersion, cfg.MaxVersion = prio.MinVersion(), prio.MaxVersion()
		cfg.CipherSuites = prio.CipherSuites()
		if cs := prio.Curves(); len(cs) > 0 {
			cfg.CurvePreferences = cs
		}
		if cfg.MaxVersion == tls.VersionTLS12 {
			cfg.CurvePreferences = []tls.CurveID{tls.CurveP256, tls.CurveP384, tls.CurveP521}
		}
	}
	cert, err := s.expandOpt(e, "tls_certificate")
	if err != nil {
		return nil, err
	}
	key, err := s.expandOpt(e, "tls_privatekey")
	if err != nil {
		return nil, err
	}
	if cert != "" {
		if key == "" {
			key = cert
		}
		kp, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("loading tls_certificate %s: %w", cert, err)
		}
		cfg.Certificates = []tls.Certificate{kp}
	}
	cfg.VerifyConnection = p.check
	return p, nil
}

func isIPLiteral(s string) bool { return net.ParseIP(strings.Trim(s, "[]")) != nil }

// hashFor is the SHA-2 hash of the given size.
func hashFor(bits int) crypto.Hash {
	switch bits {
	case 384:
		return crypto.SHA384
	case 512:
		return crypto.SHA512
	case 0:
		return 0
	}
	return crypto.SHA256
}

// check runs after the server's certificates arrive: DANE, or a check
// against the CAs of tls_verify_certificates.
func (p *tlsPlan) check(cs tls.ConnectionState) error {
	now := time.Now()
	if p.now != nil {
		now = p.now()
	}
	if p.dane != nil {
		if err := daneVerify(p.dane.recs, cs.PeerCertificates, strings.TrimSuffix(p.host, "."), now); err != nil {
			return &verifyError{detail: err.Error(), dane: true}
		}
		p.verified = "dane"
		return nil
	}
	if !p.verify && !p.try {
		return nil
	}
	err := p.pkix(cs.PeerCertificates, now)
	if err == nil {
		p.verified = "yes"
		return nil
	}
	if p.verify {
		return err
	}
	return nil
}

// pkix checks the chain against the roots, and the host name when asked.
func (p *tlsPlan) pkix(chain []*x509.Certificate, now time.Time) error {
	if len(chain) == 0 || p.roots == nil {
		return &verifyError{detail: "certificate invalid"}
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	opts := x509.VerifyOptions{Roots: p.roots, Intermediates: inter, CurrentTime: now}
	if _, err := chain[0].Verify(opts); err != nil {
		return &verifyError{detail: "certificate invalid"}
	}
	if p.names && !isIPLiteral(p.host) {
		if err := chain[0].VerifyHostname(strings.TrimSuffix(p.host, ".")); err != nil {
			return &verifyError{}
		}
	}
	return nil
}

// loadRoots reads tls_verify_certificates: "system" (or empty) for the
// system's CAs, else a PEM file or a directory of them.
func loadRoots(v string) (*x509.CertPool, error) {
	if v == "" || v == "system" || strings.HasPrefix(v, "system,") {
		pool, err := x509.SystemCertPool()
		if err != nil {
			return x509.NewCertPool(), nil
		}
		return pool, nil
	}
	fi, err := os.Stat(v)
	if err != nil {
		return nil, fmt.Errorf("tls_verify_certificates: %w", err)
	}
	files := []string{v}
	if fi.IsDir() {
		ents, err := os.ReadDir(v)
		if err != nil {
			return nil, fmt.Errorf("tls_verify_certificates: %w", err)
		}
		files = files[:0]
		for _, e := range ents {
			if !e.IsDir() {
				files = append(files, filepath.Join(v, e.Name()))
			}
		}
	}
	pool := x509.NewCertPool()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("tls_verify_certificates: %w", err)
		}
		pool.AppendCertsFromPEM(b)
	}
	return pool, nil
}

// tlsFailure is the text after "TLS session: " for a failed handshake.
func tlsFailure(err error) (string, bool) {
	var ve *verifyError
	if errors.As(err, &ve) {
		return ve.Error(), ve.dane
	}
	return err.Error(), false
}

// clientTLS is what an outgoing TLS session shows in the log: X=, CV=
// and DN= on the "=>" line.
type clientTLS struct {
	cipher, verified, peerDN string
}

// describeTLS names the session as Exim built with GnuTLS does
// (tlsserver.CipherName). Go does not tell a client which signature
// scheme the server used; it is taken from the server's key: PSS for
// RSA, the key's curve for ECDSA.
func describeTLS(cs *tls.ConnectionState, verified string) clientTLS {
	out := clientTLS{verified: verified}
	sig := ""
	if len(cs.PeerCertificates) > 0 {
		leaf := cs.PeerCertificates[0]
		out.peerDN = tlsserver.FormatDN(leaf.RawSubject)
		sig = serverSignature(cs.Version, leaf)
	}
	if info, ok := tlsserver.SuiteInfo(cs.CipherSuite); ok && info.Kx == "RSA" {
		sig = ""
	}
	out.cipher = tlsserver.CipherName(cs.Version, cs.CipherSuite, cs.CurveID, sig)
	return out
}

func serverSignature(version uint16, leaf *x509.Certificate) string {
	switch k := leaf.PublicKey.(type) {
	case *rsa.PublicKey:
		return tlsserver.SignatureName(version, k, hashFor(256), true)
	case *ecdsa.PublicKey:
		bits := map[elliptic.Curve]int{elliptic.P256(): 256, elliptic.P384(): 384, elliptic.P521(): 512}[k.Curve]
		return tlsserver.SignatureName(version, k, hashFor(bits), false)
	case ed25519.PublicKey:
		return tlsserver.SignatureName(version, k, 0, false)
	}
	return ""
}
