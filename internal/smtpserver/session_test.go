package smtpserver

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/message"
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

// recordingReceiver keeps the bodies of the messages it is given.
type recordingReceiver struct{ bodies []string }

func (r *recordingReceiver) Receive(_ context.Context, env *Envelope, _ message.Headers, body []byte) (string, error) {
	r.bodies = append(r.bodies, string(body))
	return env.ID, nil
}

// TestSmugglingRefused sends the "SMTP smuggling" pattern: a bare-LF
// end-of-data ("\n.\n") followed by a second envelope inside one DATA.
// Only CRLF.CRLF ends the data, so exactly one message is received and
// the smuggled lines are part of its body.
func TestSmugglingRefused(t *testing.T) {
	srv := fuzzServer(t)
	rec := &recordingReceiver{}
	srv.Receiver = rec
	for _, end := range []string{"\n.\n", "\n.\r\n", "\r\n.\n"} {
		rec.bodies = nil
		in := "EHLO client\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nDATA\r\nSubject: hi\r\n\r\nbody" + end +
			"MAIL FROM:<evil@x.y>\r\nRCPT TO:<victim@y.z>\r\nDATA\r\nSubject: forged\r\n\r\nforged\r\n.\r\nQUIT\r\n"
		var out bytes.Buffer
		if err := srv.Serve(context.Background(), strings.NewReader(in), &out, Peer{Addr: netip.MustParseAddr("10.0.0.1")}); err != nil {
			t.Fatal(err)
		}
		if len(rec.bodies) != 1 {
			t.Fatalf("end %q: %d messages received, want 1\n%s", end, len(rec.bodies), out.String())
		}
		if !strings.Contains(rec.bodies[0], "MAIL FROM:<evil@x.y>") || !strings.Contains(rec.bodies[0], "forged") {
			t.Errorf("end %q: smuggled lines not in the body: %q", end, rec.bodies[0])
		}
		if n := strings.Count(out.String(), "250 OK id="); n != 1 {
			t.Errorf("end %q: %d 250 OK replies, want 1\n%s", end, n, out.String())
		}
	}
}
