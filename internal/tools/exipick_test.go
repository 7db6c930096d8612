package tools

import (
	"strings"
	"testing"
)

// TestParseRule checks the criterion parser against what Debian's
// exipick shows with --show-rules (and its error texts).
func TestParseRule(t *testing.T) {
	cases := []struct {
		in, want string // want: "name\ttest" or the error text
		caseful  bool
	}{
		{in: "$message_size > 1K", want: "$message_size\t($var > 1024) ? 1 : 0"},
		{in: "$message_size >= 1.5M", want: "$message_size\t($var >= 1572864) ? 1 : 0"},
		{in: "$message_size > 0.3K", want: "$message_size\t($var > 307.2) ? 1 : 0"},
		{in: "$message_size > 10000000000000000000K", want: "$message_size\t($var > 1.024e+22) ? 1 : 0"},
		{in: "$message_size > -.5m", want: "$message_size\t($var > -30) ? 1 : 0"},
		{in: "$message_size > 1.10", want: "$message_size\t($var > 1.10) ? 1 : 0"},
		{in: "$message_size > 1.5.K", want: "$message_size\t($var > 1536) ? 1 : 0"},
		{in: "$message_size != 2d", want: "$message_size\t($var != 172800) ? 1 : 0"},
		{in: "$Message_Size  >  1", want: "$message_size\t($var > 1) ? 1 : 0"},
		{in: "a b > 1", want: "a b\t($var > 1) ? 1 : 0"},
		{in: "!$deliver_freeze", want: "$deliver_freeze\t($var) ? 0 : 1"},
		{in: "!!$deliver_freeze", want: "!$deliver_freeze\t($var) ? 0 : 1"},
		{in: "!", want: "\t($var) ? 0 : 1"},
		{in: "$message_size>1", want: "$message_size>1\t($var) ? 1 : 0"},
		{in: "$sender_address eq 'x'", want: "$sender_address\t(\"$var\" eq \"x\") ? 1 : 0"},
		{in: "$sender_address eq a@b", want: "$sender_address\t(\"$var\" eq \"a\\@b\") ? 1 : 0"},
		{in: "$sender_address ne x y", want: "$sender_address\t(\"$var\" ne \"x y\") ? 1 : 0"},
		{in: "$sender_address eq ", want: "$sender_address\t(\"$var\" eq \"\") ? 1 : 0"},
		{in: "$sender_address = a.b", want: "$sender_address\t(\"$var\" =~ /a.b/i) ? 1 : 0"},
		{in: "$sender_address = a.b", want: "$sender_address\t(\"$var\" =~ /a.b/) ? 1 : 0", caseful: true},
		{in: "$message_size = ~2", want: "$message_size\t(\"$var\" =~ /~2/i) ? 1 : 0"},
		{in: "$sender_address =~ m{a}", want: "$sender_address\t(\"$var\" =~ m{a}) ? 1 : 0"},
		{in: "$header_X-Foo eq 1", want: "$header_x-foo\t(\"$var\" eq \"1\") ? 1 : 0"},
		{in: "$message_size >", want: "Expression $message_size > did not parse"},
		{in: "$message_size > abc", want: "Expression $message_size > abc did not parse: numeric comparison with non-number"},
		{in: "$message_size > 1 ", want: "Expression $message_size > 1  did not parse: numeric comparison with non-number"},
		{in: "$message_size > 1e3", want: "Expression $message_size > 1e3 did not parse: numeric comparison with non-number"},
		{in: "$message_size > +3", want: "Expression $message_size > +3 did not parse: numeric comparison with non-number"},
		{in: "$sender_address lt b", want: "Expression $sender_address lt b did not parse"},
		{in: "! $deliver_freeze", want: "Expression ! $deliver_freeze did not parse"},
		{in: "", want: "Expression  did not parse"},
	}
	for _, c := range cases {
		r, err := parseRule(c.in, c.caseful)
		got := ""
		if err != nil {
			got = err.Error()
		} else {
			got = r.name + "\t" + r.display(false)
		}
		if got != c.want {
			t.Errorf("%q: got %q, want %q", c.in, got, c.want)
		}
	}
}

// TestPickRuleTest checks the outcome of tests on values.
func TestPickRuleTest(t *testing.T) {
	cases := []struct {
		crit, value string
		want        bool
	}{
		{"$x > 100", "192.0.2.7", true},
		{"$x == 2", "2\n", true},
		{"$x", "0", false},
		{"$x", "00", true},
		{"$x", "", false},
		{"!$x", "", true},
		{"$x = ab", "xABy", true},
		{"$x =~ /ab/", "xABy", false},
		{"$x =~ /ab/i", "xABy", true},
		{"$x !~ /ab/", "xABy", true},
		{"$x eq ''", "", true},
		{"$x > 007", "8", true},
		{"$x > 010", "9", true},
		{"$x < 3h", "10799", true},
		{"$x = a/b", "a/b", false}, // Perl rejects the expression: no message matches
		{"$x eq a@b", "a@b", true},
		{"$x eq a\\tb", "a\tb", true},
		{"$x eq a$b", "a", true},
		{"$x = a@b.c$", "xa@bxc", true},
		{"$x =~ /a$/", "xa", true},
	}
	for _, c := range cases {
		r, err := parseRule(c.crit, false)
		if err != nil {
			t.Fatalf("%q: %v", c.crit, err)
		}
		if got := r.test(c.value, false); got != c.want {
			t.Errorf("%q on %q: %v, want %v", c.crit, c.value, got, c.want)
		}
		if got := r.test(c.value, true); got == c.want && r.bad == "" {
			t.Errorf("%q on %q with --not: %v", c.crit, c.value, got)
		}
	}
}

// TestParseExipick checks option parsing: bundles, prefixes, one or two
// hyphens, and the errors Getopt::Long gives.
func TestParseExipick(t *testing.T) {
	x, err := ParseExipick([]string{"-zi", "--rev", "-spool", "/s", "--so=message_size", "-o60", "crit", "--", "-x"})
	if err != nil {
		t.Fatal(err)
	}
	if !x.Frozen || !x.IDs || !x.Reverse || x.Spool != "/s" || strings.Join(x.Sort, ",") != "message_size" ||
		x.Older == nil || *x.Older != "60" || strings.Join(x.Criteria, "|") != "crit|-x" || x.NotFrozen {
		t.Errorf("parsed %+v", x)
	}
	for in, want := range map[string]string{
		"--bogus": "Unknown option: bogus",
		"-zq":     "Unknown option: q",
		"-bpqz":   "Unknown option: pqz",
		"--sh":    "Option sh is ambiguous (show-rules, show-tests, show-vars)",
		"--bp=":   "Option bp does not take an argument",
		"--sort":  "Option sort requires an argument",
		"-o":      "Option o requires an argument",
	} {
		if _, err := ParseExipick([]string{in}); err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %q", in, err, want)
		}
	}
}
