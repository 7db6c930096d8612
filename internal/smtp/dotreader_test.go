package smtp

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestDotReader(t *testing.T) {
	tests := []struct {
		name, in, want, rest string
		err                  error
	}{
		{"simple", "a\r\nb\r\n.\r\nNEXT", "a\nb\n", "NEXT", nil},
		{"empty", ".\r\n", "", "", nil},
		{"stuffed", "..x\r\n.\r\n", ".x\n", "", nil},
		{"double dot line", "..\r\n.\r\n", ".\n", "", nil},
		{"blank lines", "\r\n\r\n.\r\n", "\n\n", "", nil},
		{"bare LF kept", "a\nb\r\n.\r\n", "a\nb\n", "", nil},
		{"LF.LF is data", "a\n.\nb\r\n.\r\n", "a\n.\nb\n", "", nil},
		{"LF.CRLF is data", "a\n.\r\nb\r\n.\r\n", "a\n.\nb\n", "", nil},
		{"CRLF.LF is data", "a\r\n.\nb\r\n.\r\n", "a\n\nb\n", "", nil},
		{"bare CR kept", "a\rb\r\n.\r\n", "a\rb\n", "", nil},
		{"CR CR LF", "a\r\r\n.\r\n", "a\r\n", "", nil},
		{"dot CR x", ".\rx\r\n.\r\n", "\rx\n", "", nil},
		{"dot CR CR LF", ".\r\r\n.\r\n", "\r\n", "", nil},
		{"no end", "a\r\nb\r\n", "a\nb\n", "", ErrIncompleteData},
		{"only dot LF", ".\n", "\n", "", ErrIncompleteData},
		{"smuggle", "x\r\n\n.\nMAIL FROM:<e@v>\r\n.\r\n", "x\n\n.\nMAIL FROM:<e@v>\n", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			br := bufio.NewReader(strings.NewReader(tt.in))
			got, err := io.ReadAll(NewDotReader(br))
			if !errors.Is(err, tt.err) && !(err == nil && tt.err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if string(got) != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			rest, _ := io.ReadAll(br)
			if string(rest) != tt.rest {
				t.Errorf("rest %q, want %q", rest, tt.rest)
			}
		})
	}
}

// TestDotReaderSmallReads reads one byte at a time.
func TestDotReaderSmallReads(t *testing.T) {
	in := "a\r\n..b\r\n.\rc\r\nd\re\r\n.\r\n"
	want := "a\n.b\n\rc\nd\re\n"
	d := NewDotReader(bufio.NewReader(strings.NewReader(in)))
	var b strings.Builder
	p := make([]byte, 1)
	for {
		n, err := d.Read(p)
		b.Write(p[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

func TestFormatReply(t *testing.T) {
	tests := []struct {
		code int
		text string
		want string
	}{
		{250, "OK", "250 OK\r\n"},
		{550, "line1\nline2", "550-line1\r\n550 line2\r\n"},
		{503, "a\nb\nc\n", "503-a\r\n503-b\r\n503 c\r\n"},
		{220, "", "220 \r\n"},
	}
	for _, tt := range tests {
		if got := FormatReply(tt.code, tt.text); got != tt.want {
			t.Errorf("FormatReply(%d, %q) = %q, want %q", tt.code, tt.text, got, tt.want)
		}
	}
}

func TestParseAddress(t *testing.T) {
	tests := []struct {
		in, want, err string
		empty         bool
	}{
		{in: "<a@b>", want: "a@b"},
		{in: "a@b", want: "a@b"},
		{in: "Name <a@b>", want: "a@b"},
		{in: "<a(c)@b>", want: "a@b"},
		{in: "<@x,@y:a@b>", want: "a@b"},
		{in: "<>", empty: true, want: ""},
		{in: "<>", err: "missing or malformed local part"},
		{in: "<a@>", err: "domain missing or malformed"},
		{in: "<@b>", err: "no local part"},
		{in: "<a@b", err: "'>' missing at end of address"},
		{in: "a@b>", err: "malformed address: > may not follow a@b"},
		{in: "<x y@z>", err: `"@" or "." expected after "x"`},
		{in: "<a@[1.2.3.4]>", err: "domain literals not allowed"},
		{in: `<"a@b>`, err: "unmatched doublequote in local part"},
		{in: "<a@b> junk", err: "malformed address: junk may not follow <a@b> "},
		{in: "<a>", want: "a"},
	}
	for _, tt := range tests {
		got, err := ParseAddress(tt.in, tt.empty)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("ParseAddress(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseAddress(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
