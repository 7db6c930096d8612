package smtp

import (
	"bufio"
	"io"
	"strings"
	"testing"
)

func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{"<a@b>", "Name <a@b>", "<@x,@y:a@b>", `<"a b"@c>`, "<a(((b)))@c>", "<a@b> SIZE=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddress(s, true)
		if err == nil && strings.ContainsAny(a, "<>") && !strings.ContainsAny(a, `"\\`) {
			t.Fatalf("address %q from %q keeps brackets", a, s)
		}
		ExtractMailParams(s, func(string, bool) bool { return true })
		ExtractRcptParams(s, func(string, bool) bool { return false })
	})
}

func FuzzDotReader(f *testing.F) {
	for _, s := range []string{"a\r\n.\r\n", "..\r\n.\r\n", "\n.\n", ".\r\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := io.ReadAll(NewDotReader(bufio.NewReader(strings.NewReader(s))))
		if err == nil && strings.Contains(s, "\r\n.\r\n") == false && !strings.HasPrefix(s, ".\r\n") {
			t.Fatalf("end of data found in %q", s)
		}
		if len(got) > len(s) {
			t.Fatalf("output %q longer than input %q", got, s)
		}
	})
}
