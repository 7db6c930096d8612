package queue

import (
	"crypto/x509"
	"encoding/pem"
	"strconv"
	"strings"

	"github.com/exigo-mta/exigo/internal/spool"
)

// tlsHeader sets the -tls_* lines of a new message's -H file as Exim
// 4.96 writes them for a message received over TLS (spec chapter
// "Format of spool files"; observed): -tls_certificate_verified,
// -tls_cipher, --tls_peercert, --tls_peerdn, --tls_sni, -tls_ourcert,
// -tls_ocsp (when the client asked for a status) and -tls_ver, the
// client's values tainted; and for every message -tls_resumption, a
// letter from "A" up that carries the resumption bits.
func tlsHeader(h *spool.Header, a *Arrival) {
	h.TLSResumption = string(rune('A' + a.TLSResumption&0x1f))
	if a.TLSCipher == "" {
		return
	}
	h.TLSCertificateVerified = a.TLSVerified
	h.TLSCipher = a.TLSCipher
	h.TLSPeerCert = EscapeCert(a.TLSPeerCert)
	h.TLSPeerDN = a.TLSPeerDN
	h.TLSOurCert = EscapeCert(a.TLSOurCert)
	h.TLSSNI = a.TLSSNI
	if a.TLSOCSP != 0 {
		h.TLSOCSP = strconv.Itoa(a.TLSOCSP)
	}
	h.TLSVer = a.TLSVer
	for name, v := range map[string]string{"tls_peercert": h.TLSPeerCert, "tls_peerdn": h.TLSPeerDN, "tls_sni": h.TLSSNI} {
		if v != "" {
			h.Tainted[name] = true
		}
	}
}

// CertPEM returns c in PEM form, as $tls_in_ourcert and
// $tls_in_peercert expand to; "" for nil.
func CertPEM(c *x509.Certificate) string {
	if c == nil {
		return ""
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

// EscapeCert writes a PEM certificate on one -H line the way Exim 4.96
// does for -tls_ourcert and -tls_peercert: each newline as the two
// characters backslash and n (observed; the base64 and the armour lines
// hold no backslash of their own).
func EscapeCert(p string) string {
	return strings.ReplaceAll(p, "\n", `\n`)
}
