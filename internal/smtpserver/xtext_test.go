package smtpserver

import (
	"strings"
	"testing"
)

func TestDecodeXtext(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"<a@b>", "<a@b>"},
		{"s+2Bt@x", "s+t@x"},
		{"a+3D", "a="},
		{"a+", "a+"},
		{"a+4", "a+4"},
		{"a+zz", "a+zz"},
		{"+41+42", "AB"},
	} {
		if got := decodeXtext(c.in); got != c.want {
			t.Errorf("decodeXtext(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func FuzzDecodeXtext(f *testing.F) {
	for _, s := range []string{"<a@b>", "s+2Bt@x", "a+", "+4", "++41"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := decodeXtext(s)
		if len(got) > len(s) {
			t.Fatalf("decoded %q is longer than %q", got, s)
		}
		if !strings.Contains(s, "+") && got != s {
			t.Fatalf("%q without + changed to %q", s, got)
		}
	})
}
