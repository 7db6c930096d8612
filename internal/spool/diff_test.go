package spool

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/message"
)

// TestEximListsExigoSpool writes messages with exigo's Writer and checks
// that real Exim's -bp lists them exactly as it lists messages it queued
// itself with the same envelopes (ids masked).
func TestEximListsExigoSpool(t *testing.T) {
	type tc struct {
		name      string
		sender    string
		rcpts     []string
		frozen    bool
		delivered string
	}
	cases := []tc{
		{name: "plain", sender: "sender@x.example", rcpts: []string{"rcpt@y.example", "other@z.example"}},
		{name: "frozen", sender: "sender@x.example", rcpts: []string{"rcpt@y.example"}, frozen: true},
		{name: "delivered", sender: "s@x.example", rcpts: []string{"a@y.example", "b@y.example", "c@y.example"}, delivered: "b@y.example"},
		{name: "bounce", sender: "", rcpts: []string{"postmaster@y.example"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ex := newEximSpool(t, false)
			from := c.sender
			if from == "" {
				from = "<>"
			}
			body := "Subject: hi\n\nbody line\n"
			ex.run(body, append([]string{"-odq", "-f", from}, c.rcpts...)...)
			eid := idRE.FindString(ex.run("", "-bpr"))
			if c.frozen {
				ex.run("", "-Mf", eid)
			}
			if c.delivered != "" {
				ex.run("", "-Mmd", eid, c.delivered)
			}
			want := idRE.ReplaceAllString(ex.run("", "-bp"), "ID")
			// The header lines Exim added, moved to our id.
			eh, err := Parse(mustRead(t, ex.dir+"/input/"+eid+"-H"))
			if err != nil {
				t.Fatal(err)
			}

			ours := newEximSpool(t, false)
			s, err := Open(Options{Dir: ours.dir})
			if err != nil {
				t.Fatal(err)
			}
			g, _ := NewGenerator(os.Getpid(), -1, nil)
			id := g.New()
			h := NewHeader(id)
			h.User, h.UID, h.GID = "root", 0, 0
			h.Sender = c.sender
			h.Received = time.Now()
			h.ReceivedComplete = h.Received
			h.Ident = "root"
			h.ReceivedProtocol = "local"
			h.BodyLinecount = 1
			h.MaxReceivedLinelength = 11
			if c.frozen {
				h.Frozen = time.Now()
			}
			for _, r := range c.rcpts {
				h.Recipients = append(h.Recipients, NewRecipient(r))
			}
			if c.delivered != "" {
				h.NonRecipients = BuildTree([]string{c.delivered})
			}
			for _, hd := range eh.Headers {
				h.Headers = append(h.Headers, message.Header{Name: hd.Name, Type: hd.Type,
					Text: strings.ReplaceAll(hd.Text, eid, string(id))})
			}
			if err := s.Write(h, []byte("body line\n")); err != nil {
				t.Fatal(err)
			}
			got := idRE.ReplaceAllString(ours.run("", "-bp"), "ID")
			if got != want {
				t.Errorf("exim -bp of exigo's spool:\n%s\nof Exim's own:\n%s", got, want)
			}
			if !strings.Contains(got, "ID") {
				t.Errorf("listing empty: %q", got)
			}
		})
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
