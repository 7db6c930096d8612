package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDKIMKeygen(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "k.pem")
	for _, argv := range [][]string{
		{"/usr/sbin/exigo-dkim-keygen", "-type", "ed25519", "-selector", "s1", "-domain", "example.org", "-out", key},
		{"exigo", "--dkim-keygen", "-bits", "1024", "-selector", "s2", "-domain", "example.org", "-out", key + "2"},
	} {
		var out, errb bytes.Buffer
		if rc := Main(argv, nil, &out, &errb); rc != 0 {
			t.Fatalf("%v: rc %d %s", argv, rc, errb.String())
		}
		if !strings.Contains(out.String(), "._domainkey.example.org 10799 IN TXT \"v=DKIM1; k=") {
			t.Errorf("%v: %q", argv, out.String())
		}
	}
	st, err := os.Stat(key)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v", st, err)
	}
	var out, errb bytes.Buffer
	if rc := Main([]string{"exigo-dkim-keygen", "-selector", "s1", "-domain", "example.org", "-out", key}, nil, &out, &errb); rc == 0 {
		t.Error("an existing key file was overwritten")
	}
}
