package smtpserver

import (
	"bufio"
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/smtp"
)

func TestReadBatchData(t *testing.T) {
	for _, c := range []struct {
		in, want, rest string
		incomplete     bool
	}{
		{"a\n..b\n.\nNEXT\n", "a\n.b\n", "NEXT\n", false},
		{"a\r\n.\r\nQUIT\r\n", "a\n", "QUIT\r\n", false},
		{".\n", "", "", false},
		{"a\nb", "a\nb", "", true},
		{"", "", "", true},
	} {
		r := bufio.NewReaderSize(strings.NewReader(c.in), 16)
		got, _, err := readBatchData(r, 0)
		if string(got) != c.want || errors.Is(err, smtp.ErrIncompleteData) != c.incomplete {
			t.Errorf("%q: got %q %v", c.in, got, err)
		}
		var rest bytes.Buffer
		rest.ReadFrom(r)
		if rest.String() != c.rest {
			t.Errorf("%q: rest %q, want %q", c.in, rest.String(), c.rest)
		}
	}
}

func TestBatchErrorReports(t *testing.T) {
	e := &BatchError{Code: 501, Text: "'>' missing at end of address", Start: 7, Line: 9, Command: "rcpt to:<x", Accepted: 1}
	if got, want := e.Stdout(), "501 '>' missing at end of address\nTransaction started in line 7\nError detected in line 9\nrcpt to:<x\n"; got != want {
		t.Errorf("stdout %q", got)
	}
	if !strings.Contains(e.Stderr(), "\n1 previous message was successfully processed.\n") || e.ExitCode() != 1 {
		t.Errorf("stderr %q code %d", e.Stderr(), e.ExitCode())
	}
}

// FuzzBatchData reads arbitrary batched message data: no panics, and
// what is kept is never more than what was counted.
func FuzzBatchData(f *testing.F) {
	f.Add([]byte("a\n..b\n.\nQUIT\n"))
	f.Add([]byte("x\r\n.\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bufio.NewReaderSize(bytes.NewReader(in), 16)
		data, n, _ := readBatchData(r, 0)
		if int64(len(data)) > n+1 {
			t.Fatalf("kept %d bytes of %d: %q", len(data), n, data)
		}
	})
}
