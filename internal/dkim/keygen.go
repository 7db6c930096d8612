package dkim

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"strings"
)

// GenerateKey makes a new private key: keyType "rsa" (bits, at least 1024)
// or "ed25519" (bits ignored).
func GenerateKey(keyType string, bits int) (crypto.Signer, error) {
	switch keyType {
	case "rsa":
		if bits < 1024 {
			return nil, fmt.Errorf("RSA keys must have at least 1024 bits (RFC 8301), not %d", bits)
		}
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			return nil, fmt.Errorf("generating RSA key: %w", err)
		}
		return k, nil
	case "ed25519":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generating Ed25519 key: %w", err)
		}
		return k, nil
	}
	return nil, fmt.Errorf("unknown key type %q (rsa or ed25519)", keyType)
}

// MarshalPrivateKey returns the key as PKCS#8 PEM ("PRIVATE KEY"), the
// form dkim_private_key takes and `openssl genpkey` writes.
func MarshalPrivateKey(k crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("encoding private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// Record returns the key record to publish for a public key:
// "v=DKIM1; k=rsa; p=<base64 SubjectPublicKeyInfo>" for RSA, and
// "v=DKIM1; k=ed25519; p=<base64 of the raw 32 bytes>" for Ed25519 (RFC
// 8463; Exim reads this form). Spec: option dkim_private_key.
func Record(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			return "", fmt.Errorf("encoding public key: %w", err)
		}
		return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der), nil
	case ed25519.PublicKey:
		return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(k), nil
	}
	return "", fmt.Errorf("unsupported public key type %T", pub)
}

// RecordTTL is the TTL ZoneLine writes.
const RecordTTL = 10799

// ZoneLine returns the master-file line publishing record for a selector
// and domain: `SEL._domainkey.DOMAIN 10799 IN TXT "…"`, the text cut into
// quoted strings of at most 255 bytes.
func ZoneLine(selector, domain, record string) string {
	var parts []string
	for record != "" {
		n := min(255, len(record))
		parts = append(parts, `"`+record[:n]+`"`)
		record = record[n:]
	}
	return fmt.Sprintf("%s._domainkey.%s %d IN TXT %s", selector, domain, RecordTTL, strings.Join(parts, " "))
}
