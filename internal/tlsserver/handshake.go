package tlsserver

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"syscall"
)

// handshake is the state of one server handshake.
type handshake struct {
	p         *Pending
	rec       *sigRecord
	version   uint16
	sni       string
	exts      []uint16
	chosen    *serverCert
	stapled   bool
	verified  bool
	verifyErr string
	log       []LogLine
	setupErr  *SetupError
}

// TLS extension numbers looked at in the ClientHello.
const (
	extStatusRequest     = 5
	extSessionTicket     = 35
	extPreSharedKey      = 41
	extSupportedVersions = 43
)

// configForClient picks the certificate, cipher suite and groups the way
// GnuTLS does by default: the client's preference order decides (or the
// priority string's, with %SERVER_PRECEDENCE), among what the priority
// string allows and the certificates can serve. Go's own choice would
// follow a fixed server order.
func (hs *handshake) configForClient(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	p := hs.p
	hs.sni = hello.ServerName
	hs.exts = hello.Extensions
	if p.c.sniReexpand && hs.sni != "" {
		if err := p.loadCerts(hs.sni); err != nil {
			hs.setupErr = err
			return nil, errAbort
		}
		if p.mode != verifyNone {
			if err := p.loadVerify(hs.sni); err != nil {
				hs.setupErr = err
				return nil, errAbort
			}
		}
	}
	cfg := p.baseConfig()
	// Spec 43.12 (ALPN) and main option tls_alpn: a client offering
	// several names, one of which we know, is refused with a log line;
	// one offering only unknown names fails in the TLS library.
	if len(p.alpn) > 0 && len(hello.SupportedProtos) > 1 {
		for _, proto := range hello.SupportedProtos {
			if slices.Contains(p.alpn, proto) {
				hs.log = append(hs.log, LogLine{Text: "TLS ALPN (" + strings.Join(hello.SupportedProtos, ":") + ") rejected"})
				cfg.NextProtos = []string{"\x00no-protocol"}
				break
			}
		}
	}
	hs.version = 0
	for _, v := range hello.SupportedVersions {
		if v >= cfg.MinVersion && v <= cfg.MaxVersion && v > hs.version {
			hs.version = v
		}
	}
	var curves []tls.CurveID
	for _, cv := range hello.SupportedCurves {
		if slices.Contains(cfg.CurvePreferences, cv) {
			curves = append(curves, cv)
		}
	}
	if len(curves) > 0 {
		cfg.CurvePreferences = curves
	}
	if hs.version >= tls.VersionTLS13 {
		hs.chosen = p.certFor13(hello.SignatureSchemes)
	} else {
		suite, sc := p.suiteFor12(hello, hs.version, len(curves) > 0)
		if sc != nil {
			cfg.CipherSuites = []uint16{suite}
			hs.chosen = sc
		}
	}
	if hs.chosen == nil {
		hs.chosen = p.certs[0]
	}
	cert := withRecorder(hs.chosen, hs.rec)
	idx := slices.Index(p.certs, hs.chosen)
	if idx >= 0 && idx < len(p.ocsp) && p.ocsp[idx] != nil {
		cert.OCSPStaple = p.ocsp[idx]
		hs.stapled = slices.Contains(hello.Extensions, extStatusRequest)
	}
	cfg.Certificates = []tls.Certificate{*cert}
	if p.mode != verifyNone {
		cfg.VerifyConnection = hs.verify
	}
	return cfg, nil
}

// certFor13 takes, in the client's signature algorithm order, the first
// certificate that can make such a signature.
func (p *Pending) certFor13(schemes []tls.SignatureScheme) *serverCert {
	for _, s := range schemes {
		for _, sc := range p.certs {
			if schemeFits(s, sc, tls.VersionTLS13) {
				return sc
			}
		}
	}
	return nil
}

// suiteFor12 takes the first allowed suite in precedence order that a
// certificate can serve.
func (p *Pending) suiteFor12(hello *tls.ClientHelloInfo, vers uint16, haveCurve bool) (uint16, *serverCert) {
	allowed := p.prio.CipherSuites()
	order := hello.CipherSuites
	other := allowed
	if p.prio.ServerPrecedence {
		order, other = allowed, hello.CipherSuites
	}
	for _, id := range order {
		if !slices.Contains(other, id) {
			continue
		}
		s, ok := suites[id]
		if !ok || s.Kx == "" {
			continue
		}
		if vers < tls.VersionTLS12 && (s.MAC == "AEAD" || s.MAC == "SHA256") {
			continue
		}
		if s.Kx == "ECDHE" && !haveCurve {
			continue
		}
		for _, sc := range p.certs {
			if sc.auth != s.Auth {
				continue
			}
			if s.Kx == "RSA" || vers < tls.VersionTLS12 || len(hello.SignatureSchemes) == 0 {
				return id, sc
			}
			for _, sch := range hello.SignatureSchemes {
				if schemeFits(sch, sc, vers) {
					return id, sc
				}
			}
		}
	}
	return 0, nil
}

// schemeFits reports whether a certificate's key can sign with scheme.
func schemeFits(s tls.SignatureScheme, sc *serverCert, vers uint16) bool {
	switch k := sc.leaf.PublicKey.(type) {
	case *rsa.PublicKey:
		switch s {
		case tls.PSSWithSHA256, tls.PSSWithSHA384, tls.PSSWithSHA512:
			return true
		case tls.PKCS1WithSHA256, tls.PKCS1WithSHA384, tls.PKCS1WithSHA512:
			return vers < tls.VersionTLS13
		}
	case *ecdsa.PublicKey:
		switch s {
		case tls.ECDSAWithP256AndSHA256:
			return vers < tls.VersionTLS13 || k.Curve == elliptic.P256()
		case tls.ECDSAWithP384AndSHA384:
			return vers < tls.VersionTLS13 || k.Curve == elliptic.P384()
		case tls.ECDSAWithP521AndSHA512:
			return vers < tls.VersionTLS13 || k.Curve == elliptic.P521()
		}
	case ed25519.PublicKey:
		return s == tls.Ed25519
	}
	return false
}

// verify checks the client certificate against tls_verify_certificates
// and tls_crl (spec 43.7, 43.8). Names in the certificate are not checked.
func (hs *handshake) verify(cs tls.ConnectionState) error {
	p := hs.p
	if len(cs.PeerCertificates) == 0 {
		return nil
	}
	leaf := cs.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{Roots: p.roots, Intermediates: inter, CurrentTime: p.c.now(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	switch {
	case err != nil:
		hs.verifyErr = "certificate invalid"
	case revoked(leaf, p.crls):
		hs.verifyErr = "certificate revoked"
	default:
		hs.verified = true
		return nil
	}
	if p.mode == verifyRequire {
		return errors.New("tls: client certificate verification failed")
	}
	return nil
}

// handshakeError words a failed handshake as Exim with GnuTLS logs it.
func (hs *handshake) handshakeError(err error) *HandshakeError {
	he := &HandshakeError{Log: hs.log, Err: err}
	if hs.setupErr != nil {
		he.Log = append(he.Log, hs.setupErr.Log...)
		he.Detail = hs.setupErr.Detail
		return he
	}
	if hs.verifyErr != "" && hs.p.mode == verifyRequire {
		he.Detail = "(certificate verification failed): " + hs.verifyErr
		return he
	}
	he.Detail = "(gnutls_handshake): " + gnutlsText(err, hs.version, &he.Timeout)
	return he
}

// gnutlsText maps Go's handshake errors onto GnuTLS's texts observed in
// Exim's log.
func gnutlsText(err error, vers uint16, timeout *bool) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		*timeout = true
		return "timed out"
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed) {
		return "The TLS connection was non-properly terminated."
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "does not look like a TLS handshake"):
		return "An unexpected TLS packet was received."
	case strings.Contains(msg, "no cipher suite supported by both"):
		return "No supported cipher suites have been found."
	case strings.Contains(msg, "didn't provide a certificate"):
		if vers >= tls.VersionTLS13 {
			return "Certificate is required."
		}
		return "No certificate was found."
	case strings.Contains(msg, "unsupported application protocols"):
		return "No common application protocol could be negotiated."
	case strings.Contains(msg, "no mutually supported") || strings.Contains(msg, "no ECDHE curve"):
		return "No supported cipher suites have been found."
	case strings.Contains(msg, "remote error"):
		return "A TLS fatal alert has been received."
	case strings.Contains(msg, "unexpected message"):
		return "An unexpected TLS packet was received."
	case strings.Contains(msg, "oversized record") || strings.Contains(msg, "unsupported versions"):
		return "A packet with illegal or unsupported version was received."
	case strings.Contains(msg, "error decoding") || strings.Contains(msg, "malformed") || strings.Contains(msg, "invalid"):
		return "Error decoding the received TLS packet."
	}
	return "Internal error"
}

// state builds the Exim view of a finished handshake.
func (hs *handshake) state(cs tls.ConnectionState) *State {
	sig := hs.rec.name(cs.Version)
	st := &State{
		Version:             cs.Version,
		CipherSuite:         cs.CipherSuite,
		Group:               cs.CurveID,
		Signature:           sig,
		Cipher:              CipherName(cs.Version, cs.CipherSuite, cs.CurveID, sig),
		CipherStd:           CipherStdName(cs.Version, cs.CipherSuite),
		VersionName:         VersionName(cs.Version),
		SNI:                 cs.ServerName,
		ALPN:                cs.NegotiatedProtocol,
		Resumption:          1,
		CertificateVerified: hs.verified,
	}
	if s, ok := suites[cs.CipherSuite]; ok {
		st.Bits = s.Bits
	}
	if hs.chosen != nil {
		st.OurCert = hs.chosen.leaf
	}
	if len(cs.PeerCertificates) > 0 {
		st.PeerCert = cs.PeerCertificates[0]
		st.PeerDN = FormatDN(st.PeerCert.RawSubject)
	}
	if slices.Contains(hs.exts, extStatusRequest) {
		st.OCSP = 1
		if hs.stapled {
			st.OCSP = 4
		}
	}
	// Bit 2 ("client offered session"): fitted to observations, not
	// understood. Exim showed 5 for Go's TLS 1.2 client (which sends
	// supported_versions and no session_ticket extension) and 1 for
	// OpenSSL's TLS 1.2 client with and without tickets and -status, and
	// for every TLS 1.3 client without a pre_shared_key.
	if cs.Version < tls.VersionTLS13 && slices.Contains(hs.exts, extSupportedVersions) && !slices.Contains(hs.exts, extSessionTicket) ||
		cs.Version >= tls.VersionTLS13 && slices.Contains(hs.exts, extPreSharedKey) {
		st.Resumption |= 4
	}
	return st
}
