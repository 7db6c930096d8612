package receive

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestReadLocal checks Exim's line ending and dot rules for local input
// (observed with exim -odq -t: the -D file and the header block).
func TestReadLocal(t *testing.T) {
	tests := []struct {
		name, in       string
		dotEnds        bool
		headers, body  string
		blank, dotEnd  bool
		bodyLines, max int
	}{
		{"lf", "To: a@b\nSubject: s\n\nl1\nl2\n", true, "To: a@b\nSubject: s\n", "l1\nl2\n", true, false, 2, 10},
		{"crlf", "To: a@b\r\n\r\nl1\r\n", true, "To: a@b\n", "l1\n", true, false, 1, 7},
		{"bare cr in header continues it", "To: a@b\rX: b\r\n\r\nl1\rl2\r\n", true, "To: a@b\n X: b\n", "l1\nl2\n", true, false, 2, 13},
		{"bare lf after crlf header", "To: a@b\r\nX: b\nY: c\n\nl1\n", true, "To: a@b\nX: b\n Y: c\n \n l1\n", "", false, false, 0, 7},
		{"dot ends", "To: a@b\n\nl1\n.\nafter\n", true, "To: a@b\n", "l1\n", true, true, 1, 7},
		{"dot crlf ends", "To: a@b\n\nl1\n.\r\nafter\n", true, "To: a@b\n", "l1\n", true, true, 1, 7},
		{"-i keeps dot", "To: a@b\n\nl1\n.\nafter\n", false, "To: a@b\n", "l1\n.\nafter\n", true, false, 3, 7},
		{"dot cr does not end", "To: a@b\n\nl1\n.\rx\n.\n", true, "To: a@b\n", "l1\n.\nx\n", true, true, 3, 7},
		{"cr dot does not end", "To: a@b\n\nl1\r.\r\ny\n", true, "To: a@b\n", "l1\n.\ny\n", true, false, 3, 7},
		{"double dot kept", "To: a@b\n\n..\n", true, "To: a@b\n", "..\n", true, false, 1, 7},
		{"non-header line starts body", "To: a@b\nnot a header\n\nb\n", true, "To: a@b\n", "not a header\n\nb\n", false, false, 3, 12},
		{"no final newline", "To: a@b\n\nlast", true, "To: a@b\n", "last\n", true, false, 1, 7},
		{"header at eof", "To: a@b", true, "To: a@b\n", "", false, false, 0, 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Read(strings.NewReader(tc.in), ReadOptions{Format: FormatLocal, DotEnds: tc.dotEnds})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Body.Close()
			body, _ := m.Body.Bytes()
			if got := m.Headers.String(); got != tc.headers {
				t.Errorf("headers %q, want %q", got, tc.headers)
			}
			if string(body) != tc.body {
				t.Errorf("body %q, want %q", body, tc.body)
			}
			if m.BlankLine != tc.blank || m.Terminated != tc.dotEnd {
				t.Errorf("blank %v dot %v, want %v %v", m.BlankLine, m.Terminated, tc.blank, tc.dotEnd)
			}
			if m.BodyLineCount != tc.bodyLines || m.MaxLineLength != tc.max {
				t.Errorf("body lines %d max %d, want %d %d", m.BodyLineCount, m.MaxLineLength, tc.bodyLines, tc.max)
			}
		})
	}
}

func TestReadSMTP(t *testing.T) {
	m, err := Read(strings.NewReader("To: a@b\r\n\r\n..x\r\n.\r\nQUIT\r\n"), ReadOptions{Format: FormatSMTP})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := m.Body.Bytes()
	if string(body) != ".x\n" || !m.Terminated {
		t.Errorf("body %q terminated %v", body, m.Terminated)
	}
}

func TestSizeLimit(t *testing.T) {
	_, err := Read(strings.NewReader("Subject: hi\nTo: bob\n\n"+strings.Repeat("x", 100)+"\n"), ReadOptions{SizeLimit: 20})
	var se *SizeError
	if !errors.As(err, &se) || se.Max != 20 || se.Local() != "message too big (max=20)" {
		t.Fatalf("got %v", err)
	}
}

func TestBodySpill(t *testing.T) {
	big := strings.Repeat("0123456789\n", 1000)
	m, err := Read(strings.NewReader("To: a@b\n\n"+big), ReadOptions{MemoryThreshold: 1024, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Body.Close()
	if !m.Body.InFile() {
		t.Fatal("body not spooled to a file")
	}
	b, _ := m.Body.Bytes()
	if string(b) != big || m.BodyLineCount != 1000 {
		t.Fatalf("body differs (%d lines)", m.BodyLineCount)
	}
	start, end := BodyVisible(m.Body, 500)
	if len(start) != 500 || len(end) != 500 || !strings.HasSuffix(end, "789 ") {
		t.Fatalf("visible %q %q", start[:20], end[480:])
	}
}

// TestExtract checks -t recipient extraction and Bcc: removal.
func TestExtract(t *testing.T) {
	tests := []struct {
		in, args, want string
		remove         bool
	}{
		{"To: a, b@x\nCc: c\nBcc: d\n\n", "", "a@q.example b@x c@q.example d@q.example", true},
		{"To: a, b@x\nBcc: d\n\n", "b@x", "a@q.example d@q.example", true},
		{"To: a\n\n", "z@x", "z@x a@q.example", false},
		{"To: a\nResent-To: r\nResent-Bcc: s\n\n", "", "r@q.example s@q.example", true},
		{"To: g: m1, m2@x;\n\n", "", "m1@q.example m2@x", true},
	}
	for _, tc := range tests {
		m, err := Read(strings.NewReader(tc.in), ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		o := Options{QualifyDomain: "q.example", QualifyRecipient: "q.example", PrimaryHostname: "h.example", ExtractAddressesRemoveArguments: tc.remove}
		env := &Envelope{Local: true, Trusted: true, User: User{Login: "root"}}
		if tc.args != "" {
			env.Recipients = strings.Fields(tc.args)
		}
		in := &Intake{Options: &o, Envelope: env, ID: "1xWrXf-0000lQ-29", Now: time.Unix(0, 0).UTC(), Extract: true}
		if err := in.FixUp(m); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(env.Recipients, " "); got != tc.want {
			t.Errorf("%q: recipients %q, want %q", tc.in, got, tc.want)
		}
		for _, h := range m.Headers {
			if strings.HasSuffix(strings.ToLower(h.Name), "bcc") && h.Type != '*' {
				t.Errorf("%q: %s not removed", tc.in, h.Name)
			}
		}
	}
}

func TestQualifyHeader(t *testing.T) {
	tests := []struct{ in, want string }{
		{"To: a\n", "To: a@d\n"},
		{"To: \"X Y\" <a>, b@c\n", "To: \"X Y\" <a@d>, b@c\n"},
		{"To: a (c), <b>\n", "To: a@d (c), <b@d>\n"},
		{"To: g: a, b@c;\n", "To: g: a@d, b@c;\n"},
		{"To: <>\n", "To: <>\n"},
	}
	for _, tc := range tests {
		if got, _ := qualifyHeader(tc.in, "d"); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestQuotePhrase(t *testing.T) {
	for in, want := range map[string]string{
		"root":              "root",
		`Joe & Q. "Bloggs"`: `"Joe & Q." "Bloggs"`,
		"A. B":              `"A. B"`,
	} {
		if got := quotePhrase(in); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}

func FuzzRead(f *testing.F) {
	f.Add([]byte("To: a@b\r\nX: b\nY: c\n\nl1\n"), uint8(0))
	f.Add([]byte("To: a, \"b\" <c>, g: d;\rX\r\n\r\n..\r\n.\r\n"), uint8(1))
	f.Add([]byte("Resent-To: r\nBcc: (((x\n\n"), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		opt := ReadOptions{Format: Format(mode % 3), DotEnds: mode&4 != 0, MemoryThreshold: 64, TempDir: t.TempDir()}
		m, err := Read(bytes.NewReader(data), opt)
		if err != nil {
			return
		}
		defer m.Body.Close()
		o := Options{QualifyDomain: "q", QualifyRecipient: "q", PrimaryHostname: "h"}
		env := &Envelope{Local: mode&8 != 0, User: User{Login: "u"}}
		in := &Intake{Options: &o, Envelope: env, ID: "x", Now: time.Unix(0, 0), Extract: mode&16 != 0}
		if err := in.FixUp(m); err != nil {
			t.Fatal(err)
		}
		if m.Size() < 0 || m.BodyLineCount < 0 {
			t.Fatal("negative counts")
		}
	})
}
