package transport

import (
	"bufio"
	"bytes"
	"testing"
)

func TestLineWriter(t *testing.T) {
	cases := []struct {
		name  string
		opts  writeOpts
		in    []string
		want  string
	}{
		{"plain", writeOpts{}, []string{"a\nb\n"}, "a\nb\n"},
		{"from escape", writeOpts{check: "From ", escape: ">From "}, []string{"From x\nxFrom y\nFrom\n"}, ">From x\nxFrom y\nFrom\n"},
		{"from split across writes", writeOpts{check: "From ", escape: ">From "}, []string{"a\nFr", "om z\nFro", "g\n"}, "a\n>From z\nFrog\n"},
		{"crlf", writeOpts{crlf: true}, []string{"a\n\nb\n"}, "a\r\n\r\nb\r\n"},
		{"dot", writeOpts{crlf: true, dot: true}, []string{".\n..x\na.b\n"}, "..\r\n...x\r\na.b\r\n"},
		{"dot split", writeOpts{dot: true}, []string{"a\n", ".b\n"}, "a\n..b\n"},
		{"partial at end", writeOpts{check: "From ", escape: ">From "}, []string{"x\nFro"}, "x\nFro"},
		{"check at start only", writeOpts{check: "From ", escape: ">From "}, []string{"From a From b\n"}, ">From a From b\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			bw := bufio.NewWriter(&out)
			o := c.opts
			lw := &lineWriter{w: bw, opts: &o, bol: true}
			for _, s := range c.in {
				lw.Write([]byte(s))
			}
			lw.flushHold()
			bw.Flush()
			if out.String() != c.want {
				t.Errorf("got %q want %q", out.String(), c.want)
			}
		})
	}
}

func TestSplitCommand(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{`/bin/cat`, []string{"/bin/cat"}},
		{`/bin/sh -c "echo \"x\" y"`, []string{"/bin/sh", "-c", `echo "x" y`}},
		{`a 'b c\n' d`, []string{"a", `b c\n`, "d"}},
		{`  a   b  `, []string{"a", "b"}},
	}
	for _, c := range cases {
		got, err := splitCommand(c.in)
		if err != nil || len(got) != len(c.want) {
			t.Errorf("%s: got %q %v", c.in, got, err)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s: got %q", c.in, got)
			}
		}
	}
	if _, err := splitCommand(`a "b`); err == nil {
		t.Error("missing quote accepted")
	}
}
