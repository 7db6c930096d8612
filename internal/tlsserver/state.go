package tlsserver

import (
	"crypto/tls"
	"crypto/x509"
	"strconv"
	"strings"

	"github.com/exigo-mta/exigo/internal/mainlog"
)

// State is what a finished server handshake negotiated, in Exim's terms.
type State struct {
	// Version, CipherSuite and Group are Go's values; Group is 0 for RSA
	// key exchange.
	Version     uint16
	CipherSuite uint16
	Group       tls.CurveID
	// Signature is GnuTLS's name of the server's handshake signature
	// ("RSA_PSS_RSAE_SHA256"), empty for RSA key exchange.
	Signature string
	// Cipher is $tls_in_cipher and the X= log field.
	Cipher string
	// CipherStd is $tls_in_cipher_std.
	CipherStd string
	// VersionName is $tls_in_ver ("TLS1.3").
	VersionName string
	// Bits is $tls_in_bits.
	Bits int
	// PeerDN is $tls_in_peerdn: the client certificate's subject as GnuTLS
	// formats it, empty without a client certificate.
	PeerDN string
	// CertificateVerified is $tls_in_certificate_verified and CV=.
	CertificateVerified bool
	// SNI is $tls_in_sni.
	SNI string
	// OCSP is $tls_in_ocsp: 0 the client did not ask for a status, 1 it
	// asked and none was stapled, 4 a status was stapled.
	OCSP int
	// Resumption is $tls_in_resumption (bit 0 support built, bit 2 the
	// client offered a session, see state(); exigo issues no tickets, so
	// bits 1, 3 and 4 stay clear).
	Resumption int
	// ALPN is the protocol agreed by ALPN, if any.
	ALPN string
	// OurCert is the certificate presented ($tls_in_ourcert), PeerCert
	// the client's leaf certificate ($tls_in_peercert), nil if none.
	// Exim treats these variables as certificate objects (for
	// certextract, md5, sha1, sha256, def); the expansion context should
	// hold the certificates themselves.
	OurCert  *x509.Certificate
	PeerCert *x509.Certificate
}

// Vars returns the string variables of the inbound TLS session as Exim
// shows them, under both their current and deprecated names
// ($tls_in_cipher and $tls_cipher, ...). The certificate variables are
// not included (see OurCert and PeerCert). Exim specification: chapter
// "String expansions", section "Variables".
func (s *State) Vars() map[string]string {
	cv := "0"
	if s.CertificateVerified {
		cv = "1"
	}
	m := map[string]string{
		"tls_in_cipher":               s.Cipher,
		"tls_in_cipher_std":           s.CipherStd,
		"tls_in_bits":                 strconv.Itoa(s.Bits),
		"tls_in_ver":                  s.VersionName,
		"tls_in_peerdn":               s.PeerDN,
		"tls_in_sni":                  s.SNI,
		"tls_in_certificate_verified": cv,
		"tls_in_ocsp":                 strconv.Itoa(s.OCSP),
		"tls_in_resumption":           strconv.Itoa(s.Resumption),
	}
	m["tls_cipher"] = s.Cipher
	m["tls_bits"] = m["tls_in_bits"]
	m["tls_peerdn"] = s.PeerDN
	m["tls_sni"] = s.SNI
	m["tls_certificate_verified"] = cv
	return m
}

// NoTLSVars are the values of the same variables on a connection without
// TLS (observed: bits and certificate_verified are "0", the rest empty).
func NoTLSVars() map[string]string {
	return map[string]string{
		"tls_in_cipher": "", "tls_in_cipher_std": "", "tls_in_bits": "0", "tls_in_ver": "",
		"tls_in_peerdn": "", "tls_in_sni": "", "tls_in_certificate_verified": "0",
		"tls_in_ocsp": "0", "tls_in_resumption": "0",
		"tls_cipher": "", "tls_bits": "0", "tls_peerdn": "", "tls_sni": "", "tls_certificate_verified": "0",
	}
}

// LogFields returns the TLS fields of a <= (or "SMTP connection lost" and
// similar) log line, each with its leading space, in Exim's order:
// X=cipher (tls_cipher, with "*" appended for a resumed session under
// tls_resumption), CV=yes|no (tls_certificate_verified), DN="..."
// (tls_peerdn, only when the client sent a certificate), SNI=...
// (tls_sni, only when the client sent one). Exim specification: chapter
// "Log files", section "Reducing or increasing what is logged".
func (s *State) LogFields(sel mainlog.Selector) string {
	var b strings.Builder
	if sel.Has(mainlog.SelTLSCipher) {
		b.WriteString(" X=")
		b.WriteString(s.Cipher)
		if sel.Has(mainlog.SelTLSResumption) && s.Resumption&16 != 0 {
			b.WriteByte('*')
		}
	}
	if sel.Has(mainlog.SelTLSCertificateVerified) {
		if s.CertificateVerified {
			b.WriteString(" CV=yes")
		} else {
			b.WriteString(" CV=no")
		}
	}
	if sel.Has(mainlog.SelTLSPeerDN) && s.PeerDN != "" {
		b.WriteString(` DN="`)
		b.WriteString(printable(s.PeerDN))
		b.WriteByte('"')
	}
	if sel.Has(mainlog.SelTLSSNI) && s.SNI != "" {
		b.WriteString(" SNI=")
		b.WriteString(printable(s.SNI))
	}
	return b.String()
}

// printable escapes non-printing characters the way Exim's log does
// (\n, \t, \ooo octal), so a hostile DN or SNI cannot forge log lines.
func printable(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\r':
			b.WriteString(`\r`)
		case c < 0x20 || c == 0x7f:
			b.WriteString(`\` + strconv.FormatInt(int64(c)|0o1000, 8)[1:])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
