package dkim

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

var (
	keyOnce sync.Once
	keyMap  map[string]crypto.Signer
)

// testKeys returns keys made once per test binary: "rsa1024", "rsa2048",
// "ed25519".
func testKeys(t testing.TB) map[string]crypto.Signer {
	t.Helper()
	keyOnce.Do(func() {
		keyMap = map[string]crypto.Signer{}
		for name, bits := range map[string]int{"rsa1024": 1024, "rsa2048": 2048} {
			k, err := rsa.GenerateKey(rand.Reader, bits)
			if err != nil {
				panic(err)
			}
			keyMap[name] = k
		}
		_, ed, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			panic(err)
		}
		keyMap["ed25519"] = ed
	})
	return keyMap
}

// writeKey writes k as a PKCS#8 PEM file in dir and returns its path.
func writeKey(t testing.TB, dir, name string, k crypto.Signer) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name+".pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
