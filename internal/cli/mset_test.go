package cli

import (
	"testing"
)

func TestSpoolAddrPort(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"[192.0.2.7]:1234", "192.0.2.7:1234", true},
		{"[2001:db8::1]:25", "[2001:db8::1]:25", true},
		{"192.0.2.7.1234", "192.0.2.7:1234", true},
		{"2001:db8::1.25", "[2001:db8::1]:25", true},
		{"[192.0.2.7]", "192.0.2.7:0", true},
		{"", "", false},
		{"[x]:1", "", false},
		{"192.0.2.7.99999", "", false},
	} {
		ap, ok := spoolAddrPort(c.in)
		if ok != c.ok || ok && ap.String() != c.want {
			t.Errorf("spoolAddrPort(%q) = %v, %v; want %s, %v", c.in, ap, ok, c.want, c.ok)
		}
	}
}

func FuzzSpoolAddrPort(f *testing.F) {
	for _, s := range []string{"[192.0.2.7]:1234", "192.0.2.7.1234", "[::1]:0", "[", "]:", "1.2.3.4."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ap, ok := spoolAddrPort(s); ok && !ap.Addr().IsValid() {
			t.Fatalf("%q: invalid address accepted", s)
		}
	})
}
