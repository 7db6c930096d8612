package rewrite

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/message"
	"github.com/exigo-mta/exigo/internal/oracletest"
)

// spoolHeaders reads the header section of a -H spool file: each header
// as its flag and text.
func spoolHeaders(t *testing.T, path string) []message.Header {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "\n\n")
	if i < 0 {
		t.Fatalf("no header section in %s", path)
	}
	var out []message.Header
	for _, line := range strings.SplitAfter(s[i+2:], "\n") {
		if isSpoolHeaderStart(line) {
			text := line[5:]
			name := text[:strings.IndexByte(text, ':')]
			out = append(out, message.Header{Name: name, Text: text, Type: line[3]})
		} else if len(out) > 0 {
			out[len(out)-1].Text += line
		}
	}
	return out
}

// TestHeadersOracle submits messages to Exim 4.96 with -odq and compares
// the header lines it wrote to the spool with Headers' result.
func TestHeadersOracle(t *testing.T) {
	exim := oracletest.Exim(t)
	conf := oracletest.WriteConfig(t, "")
	dir := filepath.Join(filepath.Dir(conf), "spool")
	for _, d := range []string{filepath.Dir(conf), filepath.Dir(filepath.Dir(conf))} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	text := "spool_directory = " + dir + "\nlog_file_path = " + dir + "/%slog\nprimary_hostname = vm\nbegin rewrite\n"
	for _, r := range spoolRules {
		text += r + "\n"
	}
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	r := testRules(t, nil, spoolRules...)
	var msg strings.Builder
	var in message.Headers
	for _, c := range headerCases {
		if strings.HasPrefix(c.in, "From: unq") {
			continue // a second From: header would change Exim's handling
		}
		msg.WriteString(c.in)
		name := c.in[:strings.IndexByte(c.in, ':')]
		in = append(in, message.Header{Name: name, Text: c.in, Type: message.TypeFlag(name)})
	}
	msg.WriteString("\nbody\n")
	res := oracletest.Run(t, exim, msg.String(), "-C", conf, "-odq", "-oi", "-f", "s@other.example", "rcpt@other.example")
	if res.Code != 0 {
		t.Fatalf("exim: %d %s", res.Code, res.Stderr)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "input", "*-H"))
	if len(files) != 1 {
		t.Fatalf("spool files: %v", files)
	}
	var want []message.Header
	for _, h := range spoolHeaders(t, files[0]) {
		switch strings.ToLower(h.Name) {
		case "received", "resent-date", "resent-message-id", "message-id", "date", "x-rewrote-original-recipient", "x-rewrote-sender":
			continue
		}
		want = append(want, h)
	}
	got, _ := r.Headers(in, "vm")
	if len(got) != len(want) {
		t.Fatalf("got %d headers, want %d:\n%+v\n%+v", len(got), len(want), got, want)
	}
	for i := range got {
		if got[i].Type != want[i].Type || got[i].Text != want[i].Text {
			t.Errorf("header %d: got %c %q, want %c %q", i, got[i].Type, got[i].Text, want[i].Type, want[i].Text)
		}
	}
}

// isSpoolHeaderStart reports whether a -H line starts a header: three
// digits of length, the flag character and a space.
func isSpoolHeaderStart(line string) bool {
	if len(line) < 6 || line[4] != ' ' {
		return false
	}
	for i := 0; i < 3; i++ {
		if line[i] < '0' || line[i] > '9' {
			return false
		}
	}
	return true
}
