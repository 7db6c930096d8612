package callout

import (
	"bufio"
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/transport/smtptest"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		in   string
		ok   bool
		err  string
		want func(Options) bool
	}{
		{"callout", true, "", func(o Options) bool { return o.Timeout == 30*time.Second && o.MaxWait == 120*time.Second }},
		{"callout=5s,defer_ok,no_cache", true, "", func(o Options) bool {
			return o.Timeout == 5*time.Second && o.DeferOK && o.NoCache && o.Connect == 5*time.Second
		}},
		{"callout=connect=1s,maxwait=10s,random,use_sender,hold", true, "", func(o Options) bool {
			return o.Connect == time.Second && o.MaxWait == 10*time.Second && o.Random && o.UseSender && o.Hold
		}},
		{"callout=fullpostmaster", true, "", func(o Options) bool { return o.Postmaster && o.FullPostmaster }},
		{"callout=postmaster_mailfrom=a@b", true, "", func(o Options) bool { return o.Postmaster && o.PostmasterFrom == "a@b" }},
		{"callout=mailfrom=x@y,use_postmaster", true, "", func(o Options) bool { return *o.MailFrom == "x@y" && o.UsePostmaster }},
		{"defer_ok", false, "", func(o Options) bool { return true }},
		{"callout=bogus", true, `bad time value in ACL condition "verify C"`, nil},
		{"callout,random", false, `'=' expected after "callout" in ACL condition "C"`, nil},
	} {
		o, ok, err := Parse(c.in, "C")
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("%q: error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || ok != c.ok || !c.want(o) {
			t.Errorf("%q: %+v %v %v", c.in, o, ok, err)
		}
	}
}

// TestVerifyCache calls a test server and then answers from the cache.
func TestVerifyCache(t *testing.T) {
	srv := &smtptest.Server{Pipelining: true, Rcpt: func(to string) string {
		if strings.HasPrefix(to, "bad") {
			return "550 no such user"
		}
		return "250 Accepted"
	}}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	spool := t.TempDir()
	os.MkdirAll(spool, 0o755)
	req := func(addr string) *Request {
		o, _, _ := Parse("callout=5s", "")
		return &Request{Address: addr, Helo: "me.example", Hosts: []Host{{Name: "127.0.0.1", Addr: "127.0.0.1", Port: srv.Port()}},
			Options: o, Spool: spool, Expire: DefaultExpiry}
	}
	if r := Verify(req("good@d.example")); r.Status != OK || r.Cached {
		t.Errorf("good: %+v", r)
	}
	r := Verify(req("bad@d.example"))
	if r.Status != Fail || r.Failure != "recipient" || r.Reason != "127.0.0.1 [127.0.0.1] : SMTP error from remote mail server after RCPT TO:<bad@d.example>: 550 no such user" {
		t.Errorf("bad: %+v", r)
	}
	n := len(srv.Log())
	if r := Verify(req("bad@d.example")); r.Status != Fail || !r.Cached {
		t.Errorf("bad again: %+v", r)
	}
	if r := Verify(req("good@d.example")); r.Status != OK || !r.Cached {
		t.Errorf("good again: %+v", r)
	}
	if len(srv.Log()) != n {
		t.Errorf("cached callouts talked to the server: %q", srv.Log()[n:])
	}
}

// FuzzParse parses arbitrary verify options.
func FuzzParse(f *testing.F) {
	f.Add("callout=5s,defer_ok,connect=1s,maxwait=2m,postmaster_mailfrom=a@b")
	f.Add("callout,x/callout=")
	f.Fuzz(func(t *testing.T, s string) {
		o, ok, err := Parse(s, s)
		if err == nil && ok && (o.Connect <= 0 && o.Timeout > 0) {
			t.Fatalf("no connect timeout: %+v", o)
		}
	})
}

// FuzzReadReply reads arbitrary server replies: no panics, and the
// limits hold.
func FuzzReadReply(f *testing.F) {
	f.Add([]byte("250-a\r\n250 b\r\n"))
	f.Add([]byte("2\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		code, lines, err := readReply(bufio.NewReaderSize(bytes.NewReader(in), 16))
		if err == nil && (code < 100 || code > 599) {
			t.Fatalf("code %d", code)
		}
		if len(lines) > maxReplyLines {
			t.Fatalf("%d lines", len(lines))
		}
		for _, l := range lines {
			if len(l) > maxReplyLine {
				t.Fatalf("line of %d", len(l))
			}
		}
	})
}
