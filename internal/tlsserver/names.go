package tlsserver

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/tls"
	"strconv"
	"strings"
)

// Naming of the negotiated parameters the way Exim 4.96 built with GnuTLS
// shows them in $tls_in_cipher and the X= log field: GnuTLS's session
// description "(TLS1.3)-(ECDHE-X25519)-(RSA-PSS-RSAE-SHA256)-(AES-256-GCM)"
// becomes "TLS1.3:ECDHE_X25519__RSA_PSS_RSAE_SHA256__AES_256_GCM:256" (the
// version, then the key exchange, signature, cipher and, for non-AEAD
// ciphers, MAC joined by "__" with "-" turned into "_", then the cipher's
// key bits). Exim specification: chapter "Encrypted SMTP connections using
// TLS/SSL", section "Configuring an Exim server to use TLS"; chapter "Log
// files", X= field.

// Suite describes a cipher suite in GnuTLS's terms.
type Suite struct {
	// Kx is the key exchange family: "ECDHE" or "RSA" (TLS 1.2 and
	// below); empty for TLS 1.3 suites, whose key exchange is always
	// (EC)DHE.
	Kx string
	// Auth is the certificate type the suite needs: "RSA", "ECDSA" or
	// empty (TLS 1.3: any).
	Auth string
	// Cipher is GnuTLS's cipher name ("AES-128-GCM").
	Cipher string
	// MAC is GnuTLS's MAC name: "AEAD" for AEAD ciphers, else "SHA1",
	// "SHA256", "SHA384".
	MAC string
	// Bits is the cipher key size in bits, as $tls_in_bits shows it.
	Bits int
}

// suites maps Go's cipher suite ids onto GnuTLS's description.
var suites = map[uint16]Suite{
	tls.TLS_AES_128_GCM_SHA256:       {"", "", "AES-128-GCM", "AEAD", 128},
	tls.TLS_AES_256_GCM_SHA384:       {"", "", "AES-256-GCM", "AEAD", 256},
	tls.TLS_CHACHA20_POLY1305_SHA256: {"", "", "CHACHA20-POLY1305", "AEAD", 256},

	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:         {"ECDHE", "RSA", "AES-128-GCM", "AEAD", 128},
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:         {"ECDHE", "RSA", "AES-256-GCM", "AEAD", 256},
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256:   {"ECDHE", "RSA", "CHACHA20-POLY1305", "AEAD", 256},
	tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA:            {"ECDHE", "RSA", "AES-128-CBC", "SHA1", 128},
	tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA:            {"ECDHE", "RSA", "AES-256-CBC", "SHA1", 256},
	tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256:         {"ECDHE", "RSA", "AES-128-CBC", "SHA256", 128},
	tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA:           {"ECDHE", "RSA", "3DES-CBC", "SHA1", 192},
	tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA:                {"ECDHE", "RSA", "ARCFOUR-128", "SHA1", 128},
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:       {"ECDHE", "ECDSA", "AES-128-GCM", "AEAD", 128},
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:       {"ECDHE", "ECDSA", "AES-256-GCM", "AEAD", 256},
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: {"ECDHE", "ECDSA", "CHACHA20-POLY1305", "AEAD", 256},
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA:          {"ECDHE", "ECDSA", "AES-128-CBC", "SHA1", 128},
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA:          {"ECDHE", "ECDSA", "AES-256-CBC", "SHA1", 256},
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256:       {"ECDHE", "ECDSA", "AES-128-CBC", "SHA256", 128},
	tls.TLS_ECDHE_ECDSA_WITH_RC4_128_SHA:              {"ECDHE", "ECDSA", "ARCFOUR-128", "SHA1", 128},
	tls.TLS_RSA_WITH_AES_128_GCM_SHA256:               {"RSA", "RSA", "AES-128-GCM", "AEAD", 128},
	tls.TLS_RSA_WITH_AES_256_GCM_SHA384:               {"RSA", "RSA", "AES-256-GCM", "AEAD", 256},
	tls.TLS_RSA_WITH_AES_128_CBC_SHA:                  {"RSA", "RSA", "AES-128-CBC", "SHA1", 128},
	tls.TLS_RSA_WITH_AES_256_CBC_SHA:                  {"RSA", "RSA", "AES-256-CBC", "SHA1", 256},
	tls.TLS_RSA_WITH_AES_128_CBC_SHA256:               {"RSA", "RSA", "AES-128-CBC", "SHA256", 128},
	tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA:                 {"RSA", "RSA", "3DES-CBC", "SHA1", 192},
	tls.TLS_RSA_WITH_RC4_128_SHA:                      {"RSA", "RSA", "ARCFOUR-128", "SHA1", 128},
}

// SuiteInfo returns GnuTLS's description of a Go cipher suite id.
func SuiteInfo(id uint16) (Suite, bool) {
	s, ok := suites[id]
	return s, ok
}

// VersionName is GnuTLS's name of a protocol version ("TLS1.2").
func VersionName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLS1.0"
	case tls.VersionTLS11:
		return "TLS1.1"
	case tls.VersionTLS12:
		return "TLS1.2"
	case tls.VersionTLS13:
		return "TLS1.3"
	case 0x0300: // SSL 3.0, which crypto/tls no longer speaks: naming only
		return "SSL3.0"
	}
	return "UNKNOWN"
}

// GroupName is GnuTLS's name of a key exchange group ("X25519",
// "SECP256R1").
func GroupName(c tls.CurveID) string {
	switch c {
	case tls.X25519:
		return "X25519"
	case tls.CurveP256:
		return "SECP256R1"
	case tls.CurveP384:
		return "SECP384R1"
	case tls.CurveP521:
		return "SECP521R1"
	}
	// Hybrid post-quantum groups are never offered (GnuTLS 3.7 lacks them,
	// see curvesFor), so this is only reached for ids Go adds later.
	return strings.ReplaceAll(c.String(), "-", "_")
}

// SignatureName is GnuTLS's name for the signature the server made during
// the handshake, given the protocol version, the certificate's public key
// and the options the TLS stack passed to the key's Sign method. It is ""
// when no signature was made (RSA key exchange, resumption).
//
// Observed with Exim 4.96/GnuTLS 3.7.9: "RSA_PSS_RSAE_SHA256", "RSA_SHA256"
// (PKCS#1 v1.5 in TLS 1.2), "RSA_SHA1" (TLS 1.0's MD5+SHA1),
// "ECDSA_SHA256" (TLS 1.2: no curve), "ECDSA_SECP384R1_SHA384" (TLS 1.3:
// the curve is part of the scheme), "EdDSA_Ed25519".
func SignatureName(version uint16, pub crypto.PublicKey, hash crypto.Hash, pss bool) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if pss {
			return "RSA_PSS_RSAE_" + hashName(hash)
		}
		return "RSA_" + hashName(hash)
	case *ecdsa.PublicKey:
		if version >= tls.VersionTLS13 {
			return "ECDSA_" + curveName(k.Curve) + "_" + hashName(hash)
		}
		return "ECDSA_" + hashName(hash)
	case ed25519.PublicKey:
		return "EdDSA_Ed25519"
	}
	return ""
}

func hashName(h crypto.Hash) string {
	switch h {
	case crypto.SHA1, crypto.MD5SHA1:
		return "SHA1"
	case crypto.SHA224:
		return "SHA224"
	case crypto.SHA256:
		return "SHA256"
	case crypto.SHA384:
		return "SHA384"
	case crypto.SHA512:
		return "SHA512"
	}
	return strings.ReplaceAll(h.String(), "-", "")
}

func curveName(c elliptic.Curve) string {
	switch c {
	case elliptic.P256():
		return "SECP256R1"
	case elliptic.P384():
		return "SECP384R1"
	case elliptic.P521():
		return "SECP521R1"
	}
	return strings.ToUpper(c.Params().Name)
}

// CipherName builds Exim's $tls_in_cipher text (the X= log field) from
// the protocol version, the cipher suite id, the key exchange group (0 for
// RSA key exchange) and the signature name (see SignatureName).
func CipherName(version, suite uint16, group tls.CurveID, sig string) string {
	s, ok := suites[suite]
	if !ok {
		return VersionName(version) + ":" + tls.CipherSuiteName(suite) + ":0"
	}
	var b strings.Builder
	b.WriteString(VersionName(version))
	b.WriteByte(':')
	if s.Kx == "RSA" {
		b.WriteString("RSA")
	} else {
		b.WriteString("ECDHE_")
		b.WriteString(GroupName(group))
	}
	if sig != "" {
		b.WriteString("__")
		b.WriteString(sig)
	}
	b.WriteString("__")
	b.WriteString(strings.ReplaceAll(s.Cipher, "-", "_"))
	if s.MAC != "AEAD" {
		b.WriteString("__")
		b.WriteString(s.MAC)
	}
	b.WriteByte(':')
	b.WriteString(strconv.Itoa(s.Bits))
	return b.String()
}

// CipherStdName is Exim's $tls_in_cipher_std: the RFC name of the suite.
// For TLS 1.3 GnuTLS names it as if it were the TLS 1.2 ECDHE_RSA suite
// with the same cipher, whatever the certificate type or group (observed:
// an ECDSA certificate over TLS 1.3 with AES-128-GCM gives
// "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256").
func CipherStdName(version, suite uint16) string {
	name := tls.CipherSuiteName(suite)
	if version >= tls.VersionTLS13 {
		return "TLS_ECDHE_RSA_WITH_" + strings.TrimPrefix(name, "TLS_")
	}
	return name
}
