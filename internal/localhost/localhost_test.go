package localhost

import (
	"net/netip"
	"strings"
	"testing"
)

func TestInterfaces(t *testing.T) {
	machine := []netip.Addr{
		netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("192.0.2.2"),
		netip.MustParseAddr("::1"), netip.MustParseAddr("fd00::2"),
	}
	cases := []struct{ li, extra, want string }{
		{DefaultInterfaces, "", "::1 127.0.0.1 192.0.2.2 fd00::2"},
		{"0.0.0.0", "", "127.0.0.1 192.0.2.2"},
		{"<; ::0", "", "::1 fd00::2"},
		{"192.0.2.2", "", "192.0.2.2"},
		{"127.0.0.1.2525", "", "127.0.0.1"},
		{"<; 127.0.0.1.2525 ; [::1]:26 ; 10.9.9.9", "", "10.9.9.9 127.0.0.1 ::1"},
		{"10.9.9.9", "127.0.0.1", "10.9.9.9 127.0.0.1"},
		{"10.9.9.9", "0.0.0.0", "10.9.9.9 127.0.0.1 192.0.2.2"},
		{"10.9.9.9 : 10.9.9.9", "10.9.9.9", "10.9.9.9"},
		// A colon list cannot hold an IPv6 address: nothing is left.
		{"::1", "", ""},
		{"not an address : 10.1.2 : 10.1.2.x", "", ""},
		{"", "", ""},
	}
	for _, c := range cases {
		var got []string
		for _, a := range Interfaces(c.li, c.extra, machine) {
			got = append(got, a.String())
		}
		g := strings.Join(sortStrings(got), " ")
		w := strings.Join(sortStrings(strings.Fields(c.want)), " ")
		if g != w {
			t.Errorf("Interfaces(%q, %q) = %q, want %q", c.li, c.extra, g, w)
		}
	}
}

func sortStrings(s []string) []string {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}

func TestContains(t *testing.T) {
	ifs := []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}
	cases := map[string]bool{
		"127.0.0.1": true, "::ffff:127.0.0.1": true, "::1": true,
		"127.0.0.2": false, "": false, "localhost": false,
	}
	for addr, want := range cases {
		if got := Contains(ifs, addr); got != want {
			t.Errorf("Contains(%q) = %v", addr, got)
		}
	}
}

func FuzzInterfaces(f *testing.F) {
	for _, s := range []string{DefaultInterfaces, "127.0.0.1.25", "<; [::1]:25 ; 0.0.0.0", "a::b", "<", "<;", "::::"} {
		f.Add(s)
	}
	machine := []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}
	f.Fuzz(func(t *testing.T, s string) {
		for _, a := range Interfaces(s, s, machine) {
			if !a.IsValid() || a.IsUnspecified() {
				t.Fatalf("bad address %v from %q", a, s)
			}
		}
	})
}
