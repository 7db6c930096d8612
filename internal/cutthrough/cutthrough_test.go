package cutthrough

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/transport/smtptest"
)

func TestParseReply(t *testing.T) {
	for _, tc := range []struct {
		in, text string
		code     int
		bad      bool
	}{
		{in: "250 OK\r\n", code: 250, text: "250 OK"},
		{in: "250-one\r\n250-two\r\n250 three\r\n", code: 250, text: "250-one\n250-two\n250 three"},
		{in: "354\r\n", code: 354, text: "354"},
		{in: "550 no such user\n", code: 550, text: "550 no such user"},
		{in: "25\r\n", bad: true},
		{in: "abc hello\r\n", bad: true},
		{in: "250-one\r\n451 two\r\n", bad: true},
		{in: "700 out of range\r\n", bad: true},
		{in: "250-unterminated", bad: true},
	} {
		r, err := ParseReply(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("%q: no error, got %+v", tc.in, r)
			}
			continue
		}
		if err != nil || r.Code != tc.code || r.Text() != tc.text {
			t.Errorf("%q: got %d %q %v, want %d %q", tc.in, r.Code, r.Text(), err, tc.code, tc.text)
		}
	}
}

func FuzzParseReply(f *testing.F) {
	for _, s := range []string{"250 OK\r\n", "250-a\r\n250 b\r\n", "5", "550-x\n550-y\n", "220 \r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseReply(s)
		if err != nil {
			return
		}
		if r.Code < 100 || r.Code > 599 || len(r.Lines) == 0 || len(r.Lines) > maxReplyLines {
			t.Fatalf("%q: bad reply %+v", s, r)
		}
		again, err := ParseReply(r.Text() + "\r\n")
		if err != nil || again.Code != r.Code {
			t.Fatalf("%q: %q does not parse again: %v", s, r.Text(), err)
		}
	})
}

func TestWriteDotStuffed(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a\nb\n", "a\r\nb\r\n.\r\n"},
		{"a\r\nb\r\n", "a\r\nb\r\n.\r\n"},
		{".hidden\n..two\n", "..hidden\r\n...two\r\n.\r\n"},
		{"no end", "no end\r\n.\r\n"},
		{"", ".\r\n"},
		{"\n\n", "\r\n\r\n.\r\n"},
	} {
		var b strings.Builder
		w := bufio.NewWriter(&b)
		if err := writeDotStuffed(w, []byte(tc.in)); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		if b.String() != tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, b.String(), tc.want)
		}
	}
}

// destination starts a scripted server: "rej" local parts get 550,
// "tmp" ones 451, a body with "DATA5" 550 after the data.
func destination(t *testing.T) *smtptest.Server {
	t.Helper()
	s := &smtptest.Server{Pipelining: true, Size: true}
	s.Rcpt = func(to string) string {
		switch {
		case strings.HasPrefix(to, "rej"):
			return "550 no such user"
		case strings.HasPrefix(to, "tmp"):
			return "451 try later"
		}
		return "250 Accepted"
	}
	s.Data = func(_ string, msg []byte) string {
		if strings.Contains(string(msg), "DATA5") {
			return "550-content\n550 rejected"
		}
		return "250 OK id=1abc-000001-AB"
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func target(port int) Target {
	return Target{
		Router: "out", Transport: "remote", Helo: "test.example",
		Hosts:          []Host{{Name: "mx.example", Addr: "127.0.0.1", Port: port, TLS: true}},
		ConnectTimeout: 5 * time.Second, CommandTimeout: 5 * time.Second, DataTimeout: 5 * time.Second,
	}
}

func TestConnDelivers(t *testing.T) {
	dest := destination(t)
	m := &Manager{Route: func(_ map[string]string, addr string) (Target, bool) {
		return target(dest.Port()), !strings.HasSuffix(addr, "@local.example")
	}}
	if _, _, err := m.Open(context.Background(), nil, "a@client.example", "x@local.example"); err == nil {
		t.Errorf("an address not routed to smtp opened a connection")
	}
	c, r, err := m.Open(context.Background(), nil, "a@client.example", "b@dest.example")
	if err != nil || c == nil || r.Code != 250 {
		t.Fatalf("Open: %v %+v", err, r)
	}
	if !c.Compatible(target(dest.Port())) {
		t.Errorf("the same target is not compatible")
	}
	other := target(dest.Port())
	other.Transport = "remote2"
	if c.Compatible(other) {
		t.Errorf("another transport is compatible")
	}
	if r, err := c.Add("rej@dest.example"); err != nil || r.Code != 550 {
		t.Errorf("Add rej: %v %+v", err, r)
	}
	if r, err := c.Add("c@dest.example"); err != nil || r.Code != 250 {
		t.Errorf("Add c: %v %+v", err, r)
	}
	r, err = c.Data([]byte("Subject: t\n\n.dot\nbody\n"))
	if err != nil || r.Code != 250 {
		t.Fatalf("Data: %v %+v", err, r)
	}
	want := []string{
		`ID >> c@dest.example R=out T=remote H=mx.example [127.0.0.1] C="250 OK id=1abc-000001-AB"`,
		`ID >> b@dest.example R=out T=remote H=mx.example [127.0.0.1] C="250 OK id=1abc-000001-AB"`,
	}
	if got := c.DeliveryLines("ID", r); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("delivery lines\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	dest.Close()
	wantLog := "EHLO test.example|MAIL FROM:<a@client.example>|RCPT TO:<b@dest.example>|RCPT TO:<rej@dest.example>|RCPT TO:<c@dest.example>|DATA|QUIT"
	if got := strings.Join(dest.Log(), "|"); got != wantLog {
		t.Errorf("destination saw %s\nwant %s", got, wantLog)
	}
	if msgs := dest.Messages(); len(msgs) != 1 || string(msgs[0]) != "Subject: t\r\n\r\n.dot\r\nbody\r\n" {
		t.Errorf("destination received %q", msgs)
	}
}

func TestConnRefusals(t *testing.T) {
	dest := destination(t)
	m := &Manager{}
	ctx := context.Background()
	c, r, err := m.OpenTarget(ctx, target(dest.Port()), "a@client.example", "rej@dest.example")
	if err != nil || c != nil || r.Code != 550 || r.Message() != "no such user" {
		t.Errorf("rej: %v %v %+v", c, err, r)
	}
	c, r, err = m.OpenTarget(ctx, target(dest.Port()), "a@client.example", "tmp@dest.example")
	if err != nil || c != nil || r.Code != 451 {
		t.Errorf("tmp: %v %v %+v", c, err, r)
	}
	c, _, err = m.OpenTarget(ctx, target(dest.Port()), "", "b@dest.example")
	if err != nil {
		t.Fatal(err)
	}
	r, err = c.Data([]byte("Subject: x\n\nDATA5\n"))
	if err != nil || r.Code != 550 || r.Text() != "550-content\n550 rejected" {
		t.Errorf("data: %v %+v", err, r)
	}
	if got := c.Where(r); got != `R=out T=remote H=mx.example [127.0.0.1] C="550-content\n550 rejected"` {
		t.Errorf("Where: %s", got)
	}
	// No host listening: a port just freed.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := target(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	if _, _, err := m.OpenTarget(ctx, dead, "", "b@dest.example"); err == nil {
		t.Errorf("no error from an unreachable host")
	}
	dest.Close()
	if got := strings.Join(dest.Log(), "|"); !strings.Contains(got, "MAIL FROM:<>|RCPT TO:<b@dest.example>|DATA|QUIT") {
		t.Errorf("destination saw %s", got)
	}
}
