package smtpserver

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"testing"
)

// TestSession runs a session without the Exim oracle and checks the
// replies.
func TestSession(t *testing.T) {
	srv := fuzzServer(t)
	in := "EHLO client\r\nMAIL FROM:<a@b.c> SIZE=10\r\nRCPT TO:<x@y.z>\r\nDATA\r\nSubject: hi\r\n\r\nbody\r\n..dot\r\n.\r\nQUIT\r\n"
	var out bytes.Buffer
	err := srv.Serve(context.Background(), strings.NewReader(in), &out, Peer{Addr: netip.MustParseAddr("10.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, l := range strings.Split(strings.TrimSuffix(out.String(), "\r\n"), "\r\n") {
		if len(l) > 4 && l[3] == ' ' {
			codes = append(codes, l[:3])
		}
	}
	want := "220 250 250 250 354 250 221"
	if got := strings.Join(codes, " "); got != want {
		t.Errorf("reply codes %q, want %q\n%s", got, want, out.String())
	}
	if !strings.Contains(out.String(), "250 OK id=") {
		t.Errorf("no message id in\n%s", out.String())
	}
}
