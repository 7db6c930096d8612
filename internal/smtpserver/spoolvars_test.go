package smtpserver

import (
	"strings"
	"testing"
)

// TestMaxReceivedLineLength checks $max_received_linelength against
// values observed with Exim 4.96 (-bs, data after dot-unstuffing).
func TestMaxReceivedLineLength(t *testing.T) {
	for _, c := range []struct {
		name, data string
		want       int
	}{
		{"empty", "", 0},
		{"one line", "Subject: s\n", 10},
		{"no final newline", "abc\nabcdef", 6},
		{"header and body", "Subject: s\n\n" + strings.Repeat("x", 300) + "\n", 300},
		// "a" x 50, bare CR, "b" x 120 gave 119; "a" x 100, CR,
		// "b" x 50 gave 100.
		{"bare CR after", strings.Repeat("a", 50) + "\r" + strings.Repeat("b", 120) + "\n", 119},
		{"bare CR before", strings.Repeat("a", 100) + "\r" + strings.Repeat("b", 50) + "\n", 100},
		// "abcdefghijklmnop" CR CR LF on the wire gave 16.
		{"bare CR at the end", "abcdefghijklmnop\r\nx\n", 16},
	} {
		if got := maxReceivedLineLength([]byte(c.data)); got != c.want {
			t.Errorf("%s: got %d, want %d", c.name, got, c.want)
		}
	}
}

// TestAuthSenderParam checks the AUTH= decoding against Exim 4.96's
// answers.
func TestAuthSenderParam(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"<>", "", true},
		{"as@b.example", "as@b.example", true},
		{"a+2Bb@c.example", "a+b@c.example", true},
		{"a+2b@c.example", "a+@c.example", true},
		{"ab", "ab", true},
		{"<as@b.example>", "<as@b.example>", true},
		{"a+ZZb@c.example", "", false},
		{"a+", "", false},
		{"a+2", "", false},
	} {
		got, ok := authSenderParam(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("%q: got %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

// FuzzAuthSenderParam checks that decoding never panics and that a
// value without "+" decodes to itself.
func FuzzAuthSenderParam(f *testing.F) {
	for _, s := range []string{"<>", "a+2Bb@c", "a+", "+", "++41", "a+zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := authSenderParam(s)
		if ok && len(got) > len(s) {
			t.Fatalf("%q decoded longer: %q", s, got)
		}
		if !strings.Contains(s, "+") && s != "<>" && (!ok || got != s) {
			t.Fatalf("%q: got %q, %v", s, got, ok)
		}
	})
}
