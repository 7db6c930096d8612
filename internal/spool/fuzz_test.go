package spool

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the -H parser. Whatever parses must
// encode, and the encoding must parse back to the same encoding.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*-H")
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("1xWrJp-0000uU-2E-H\nroot 0 0\n<>\n1 0\nXX\n0\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := Parse(data)
		if err != nil {
			return
		}
		out, err := h.Encode()
		if err != nil {
			return
		}
		h2, err := Parse(out)
		if err != nil {
			t.Fatalf("own output does not parse: %v\n%q", err, out)
		}
		out2, err := h2.Encode()
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("encoding not stable:\n%q\n%q", out, out2)
		}
		Addresses(h.NonRecipients)
	})
}
