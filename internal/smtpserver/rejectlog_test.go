package smtpserver

import (
	"bufio"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/message"
)

// TestFlagMessageID checks the spool flags against what Exim 4.96 wrote
// to its reject log for the same header blocks.
func TestFlagMessageID(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"Message-ID: <1@x>\nMessage-Id: <2@x>\nTo: a\n", "I T"},
		{"Subject: s\nMessage-Id: <2@x>\n", " I"},
		{"Resent-Message-ID: <r1@x>\nResent-Message-ID: <r2@x>\nMessage-ID: <1@x>\nResent-From: x@y\n", "I  F"},
		{"Resent-Sender: x\nResent-To: a\nResent-Cc: b\nResent-Bcc: c\nResent-Reply-To: d\n", "STCB "},
		{"From: a\nSender: s\nReply-To: r\nCc: c\nBcc: d\n", "FSRCB"},
	}
	for _, tt := range tests {
		hs, _, err := message.ReadHeaders(bufio.NewReader(strings.NewReader(tt.in + "\n")))
		if err != nil {
			t.Fatal(err)
		}
		flagMessageID(hs)
		var got []byte
		for _, h := range hs {
			got = append(got, h.Type)
		}
		if string(got) != tt.want {
			t.Errorf("%q: flags %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRejectLogHeaders(t *testing.T) {
	hs := message.Headers{
		{Name: "Received", Text: "Received: from x\n\tby y\n", Type: 'P'},
		{Name: "Subject", Text: "Subject: s\n", Type: ' '},
		{Name: "To", Text: "To: a\n", Type: 'T'},
	}
	got := strings.Join(rejectLogHeaders("a@b", []string{"x@y", "z@y"}, hs), "\n")
	want := "Envelope-from: <a@b>\nEnvelope-to: <x@y>\n    <z@y>\nP Received: from x\n\tby y\n  Subject: s\nT To: a"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestPrintable(t *testing.T) {
	tests := []struct{ in, want string }{
		{"RCPT TO:<x@y>\r\nDATA\r\n", `RCPT TO:<x@y>\r\nDATA\r\n`},
		{"a\tb\x01", `a\tb\001`},
	}
	for _, tt := range tests {
		if got := printable([]byte(tt.in)); got != tt.want {
			t.Errorf("printable(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
