package smtpserver

import (
	"strings"
	"testing"
)

// Cases observed with Exim 4.96 (deny message = $local_part).
func TestSplitLong(t *testing.T) {
	x := strings.Repeat
	for _, c := range []struct{ in, want string }{
		{x("x", 72) + " yy", x("x", 72) + " yy"},
		{x("x", 73) + " yy", x("x", 73) + "\nyy"},
		{x("x", 76) + " yy", x("x", 76) + "\nyy"},
		{x("x", 80), x("x", 80)},
		{x("x", 35) + " " + x("y", 43) + " zz", x("x", 35) + " " + x("y", 43) + "\nzz"},
		{x("x", 36) + " " + x("y", 42) + " zz", x("x", 36) + "\n" + x("y", 42) + " zz"},
		{"a\n" + x("x", 74) + " yy", "a\n" + x("x", 74) + "\nyy"},
	} {
		if got := splitLong(c.in); got != c.want {
			t.Errorf("splitLong(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}
