package transport

import (
	"bufio"
	"strings"
	"testing"
)

// FuzzReadReply checks that the SMTP reply parser never panics, that a
// reply it accepts has a valid code, and that Text() reads back as the
// same reply.
func FuzzReadReply(f *testing.F) {
	for _, s := range []string{
		"250 OK\r\n", "250-a\r\n250-b\r\n250 c\r\n", "220\r\n", "354 go\n",
		"250-x\r\n251 y\r\n", "2500 x\r\n", "abc\r\n", "", "250", "550-5.1.1 a\r\n550 5.1.1 b\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r, err := readReply(bufio.NewReader(strings.NewReader(in)))
		if err != nil {
			return
		}
		if r.Code < 200 || r.Code > 599 || len(r.Lines) == 0 {
			t.Fatalf("bad reply %+v from %q", r, in)
		}
		again, err := readReply(bufio.NewReader(strings.NewReader(r.Text() + "\r\n")))
		if err != nil {
			if strings.ContainsAny(r.Message(), "\r\n") {
				return
			}
			t.Fatalf("Text %q does not parse: %v", r.Text(), err)
		}
		if again.Code != r.Code || again.Message() != strings.TrimRight(r.Message(), " ") && len(r.Lines) == 1 {
			t.Fatalf("round trip %q -> %q", in, r.Text())
		}
		_ = parseEHLO(r)
	})
}

// FuzzLineWriter checks that escaping with the SMTP settings can be
// undone: unstuffing the output gives back the input with CRLF.
func FuzzLineWriter(f *testing.F) {
	f.Add("a\n.b\n..\nFrom x\n")
	f.Add(".")
	f.Fuzz(func(t *testing.T, in string) {
		if strings.Contains(in, "\r") {
			return
		}
		var b strings.Builder
		bw := bufio.NewWriter(&b)
		lw := &lineWriter{w: bw, opts: &writeOpts{crlf: true, dot: true}, bol: true}
		lw.Write([]byte(in))
		lw.flushHold()
		bw.Flush()
		lines := strings.SplitAfter(b.String(), "\r\n")
		var out strings.Builder
		for _, l := range lines {
			out.WriteString(strings.TrimPrefix(l, "."))
		}
		if out.String() != strings.ReplaceAll(in, "\n", "\r\n") {
			t.Fatalf("%q -> %q", in, b.String())
		}
	})
}
