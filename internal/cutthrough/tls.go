// STARTTLS on a cutthrough connection (Exim specification chapter
// "Encrypted SMTP connections using TLS/SSL"; chapter "Log files" for
// the X= and CV= fields of a delivery line).

package cutthrough

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"time"

	"github.com/exigo-mta/exigo/internal/tlsserver"
)

// startTLS sends STARTTLS and negotiates TLS over the connection. The
// server's certificate is checked against roots (nil: the system's) only
// to say whether it verified (CV=), as an smtp transport does with its
// default tls_try_verify_hosts = *; a failed check does not end the
// session.
func (c *Conn) startTLS(roots *x509.CertPool) error {
	r, err := c.cmd("STARTTLS")
	if err != nil {
		return err
	}
	if r.Class() != 2 {
		return fmt.Errorf("cutthrough: STARTTLS refused: %s", r.Text())
	}
	name := c.Host.Name
	// The groups GnuTLS offers (Exim 4.96 as built by Debian): no
	// post-quantum hybrid, which would show in X=.
	cfg := &tls.Config{
		InsecureSkipVerify: true, MinVersion: tls.VersionTLS12,
		CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384, tls.CurveP521},
	}
	if net.ParseIP(name) == nil {
		cfg.ServerName = name
	}
	tc := tls.Client(c.nc, cfg)
	tc.SetDeadline(time.Now().Add(c.commandTimeout()))
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("cutthrough: TLS session with %s [%s]: %w", c.Host.Name, c.Host.Addr, err)
	}
	tc.SetDeadline(time.Time{})
	cs := tc.ConnectionState()
	c.nc = tc
	c.br.Reset(tc)
	c.tlsVerified = "no"
	if len(cs.PeerCertificates) > 0 {
		opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool(), DNSName: cfg.ServerName}
		for _, ic := range cs.PeerCertificates[1:] {
			opts.Intermediates.AddCert(ic)
		}
		if cfg.ServerName != "" {
			if _, err := cs.PeerCertificates[0].Verify(opts); err == nil {
				c.tlsVerified = "yes"
			}
		}
	}
	c.tlsCipher = cipherName(&cs)
	return nil
}

// cipherName names the session as Exim built with GnuTLS does
// (tlsserver.CipherName); Go does not tell a client the server's
// signature scheme, so it is taken from the server's key.
func cipherName(cs *tls.ConnectionState) string {
	sig := ""
	if len(cs.PeerCertificates) > 0 {
		switch k := cs.PeerCertificates[0].PublicKey.(type) {
		case *rsa.PublicKey:
			sig = tlsserver.SignatureName(cs.Version, k, crypto.SHA256, true)
		case *ecdsa.PublicKey:
			h := map[elliptic.Curve]crypto.Hash{elliptic.P256(): crypto.SHA256, elliptic.P384(): crypto.SHA384, elliptic.P521(): crypto.SHA512}[k.Curve]
			sig = tlsserver.SignatureName(cs.Version, k, h, false)
		case ed25519.PublicKey:
			sig = tlsserver.SignatureName(cs.Version, k, 0, false)
		}
	}
	if info, ok := tlsserver.SuiteInfo(cs.CipherSuite); ok && info.Kx == "RSA" {
		sig = ""
	}
	return tlsserver.CipherName(cs.Version, cs.CipherSuite, cs.CurveID, sig)
}
