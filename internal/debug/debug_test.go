package debug

import (
	"bytes"
	"strings"
	"testing"
)

// The expected values are the D= values Exim 4.96 prints for each -d
// setting.
func TestParseSelector(t *testing.T) {
	tests := []struct {
		in   string
		want Category
		err  string
	}{
		{"", 0xf7715cfd, ""},
		{"+all", 0xfff9ffff, ""},
		{"+all-memory", 0xfff9ffff, ""},
		{"+all-acl", 0xfff9fffb, ""},
		{"-all+acl", 0x4, ""},
		{"-all+memory", 0x20000, ""},
		{"-all+noutf8", 0x40000, ""},
		{"-all+local_scan", 0x2, ""},
		{"-all+verify", 0x80000000, ""},
		{"-all+all", 0xfff9ffff, ""},
		{"+memory", 0xf7735cfd, ""},
		{"+timestamp", 0xff715cfd, ""},
		{"+expand-all", 0, ""},
		{"=0x10", 0x10, ""},
		{"=10", 0xa, ""},
		{"=010", 0x8, ""},
		{"=-1", 0xffffffff, ""},
		{"= 5", 5, ""},
		{"=+5", 5, ""},
		{"=0X10", 0x10, ""},
		{"=0x100000000", 0, ""},
		{"=99999999999999999999", 0xffffffff, ""},
		{"=", 0, ""},
		{"=x", 0, "malformed numeric debug_selector setting: =x"},
		{"=0x", 0, "malformed numeric debug_selector setting: =0x"},
		{"=5 ", 0, "malformed numeric debug_selector setting: =5 "},
		{"=+", 0, "malformed numeric debug_selector setting: =+"},
		{"+bogus", 0, "unknown debug_selector setting: +bogus"},
		{"+ALL", 0, "unknown debug_selector setting: +ALL"},
		{"+", 0, "unknown debug_selector setting: +"},
		{"+all-", 0, "unknown debug_selector setting: -"},
		{"++acl", 0, "unknown debug_selector setting: +"},
		{"+v", 0, "unknown debug_selector setting: +v"},
		{"foo", 0, `malformed debug_selector setting: + or - expected but found "foo"`},
		{"+acl,dns", 0, `malformed debug_selector setting: + or - expected but found ",dns"`},
	}
	for _, tt := range tests {
		got, err := ParseSelector(tt.in)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("ParseSelector(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseSelector(%q) = %x, %v; want %x", tt.in, got, err, tt.want)
		}
	}
}

func TestLoggerPrefixes(t *testing.T) {
	var b bytes.Buffer
	l := New(Default|PID, &b)
	l.Printf(ACL, "one\ntwo")
	l.Printf(Expand, "not shown")
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 2 || !strings.HasSuffix(lines[0], " one") || !strings.HasSuffix(lines[1], " two") {
		t.Fatalf("output %q", b.String())
	}
	b.Reset()
	var nilLogger *Logger
	nilLogger.Printf(ACL, "x")
	nilLogger.Start("4.96", "f")
	nilLogger.End(0)
	l = New(0x5, &b)
	l.Start("4.96", "/etc/exim4/exim4.conf")
	l.End(0)
	out := b.String()
	if !strings.HasPrefix(out, "Exim version 4.96 uid=") || !strings.Contains(out, " D=5\nconfiguration file is /etc/exim4/exim4.conf\n") ||
		!strings.HasSuffix(out, "terminating with rc=0 >>>>>>>>>>>>>>>>\n") {
		t.Fatalf("start block %q", out)
	}
}

func FuzzParseSelector(f *testing.F) {
	for _, s := range []string{"", "+all", "-all+acl", "=0x10", "+expand-memory", "=99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ParseSelector(s)
	})
}
