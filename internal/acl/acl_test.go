package acl

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/expand"
)

// engineFor loads a configuration from text.
func engineFor(t *testing.T, conf string) *Engine {
	t.Helper()
	cfg, err := config.LoadBytes("/test.conf", []byte(conf), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return New(cfg)
}

func TestVerdicts(t *testing.T) {
	cases := []struct {
		acl     string
		verdict Verdict
		user    string
	}{
		{"accept", Accept, ""},
		{"deny message = no", Deny, "no"},
		{"defer message = later", Defer, "later"},
		{"drop", Drop, ""},
		{"discard", Discard, ""},
		{"require condition = no\n  accept", Deny, ""},
		{"require message = m\n    condition = no", Deny, "m"},
		{"require condition = no\n    message = m", Deny, ""},
		{"warn condition = yes\n  deny message = d", Deny, "d"},
		{"accept condition = no", Deny, ""},
		{"accept condition = yes\n    endpass\n    condition = no", Deny, ""},
		{"accept condition = ${bogus}", Error, ""},
		{"accept condition = ${if eq{a}{b}{yes}fail}\n    message = forced", Accept, "forced"},
		{"deny !condition = no\n  message = neg", Deny, "neg"},
		{"accept acl = sub\nsub:\n  deny message = inner", Deny, "inner"},
		{"accept acl = sub\nsub:\n  accept message = inner ok", Accept, ""},
		{"accept acl = sub\n  deny message = outer\nsub:\n  deny message = inner", Deny, "outer"},
	}
	for _, c := range cases {
		e := engineFor(t, "acl_smtp_mail = a\nbegin acl\na:\n  "+c.acl+"\n")
		s := &Session{Vars: expand.VarMap{}}
		res := e.Run(MAIL, s)
		if res.Verdict != c.verdict || res.UserMessage != c.user {
			t.Errorf("%q: got %v %q (%v), want %v %q", c.acl, res.Verdict, res.UserMessage, res.Err, c.verdict, c.user)
		}
	}
}

func TestTrace(t *testing.T) {
	e := engineFor(t, "acl_smtp_mail = a\nbegin acl\na:\n  warn set acl_m_x = $sender_address\n  accept condition = yes\n")
	var b bytes.Buffer
	s := &Session{Vars: expand.VarMap{"sender_address": "a@b.c"}, Trace: &b}
	if v := e.Run(MAIL, s).Verdict; v != Accept {
		t.Fatal(v)
	}
	want := `>>> using ACL "a"
>>> processing "warn" (/test.conf 4)
>>> check set acl_m_x = $sender_address
>>>                   = a@b.c
>>> warn: condition test succeeded in ACL "a"
>>> processing "accept" (/test.conf 5)
>>> check condition = yes
>>> accept: condition test succeeded in ACL "a"
>>> end of ACL "a": ACCEPT
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	if s.Vars["acl_m_x"] != "a@b.c" {
		t.Errorf("acl_m_x = %q", s.Vars["acl_m_x"])
	}
}

func TestIndent(t *testing.T) {
	for n, want := range map[int]string{0: "", 1: " ", 3: "   ", 4: "   ╎", 5: "   ╎ ", 8: "   ╎   ╎"} {
		if got := indent(n); got != want {
			t.Errorf("indent(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestRatelimitSmoothing(t *testing.T) {
	e := engineFor(t, "acl_smtp_rcpt = a\nbegin acl\na:\n  accept ratelimit = 2 / 1h / strict / per_rcpt / k\n")
	now := time.Unix(1_000_000, 0)
	e.Now = func() time.Time { return now }
	s := &Session{Vars: expand.VarMap{}}
	rates := []string{}
	for i := 0; i < 3; i++ {
		e.Run(RCPT, s)
		rates = append(rates, s.Vars["sender_rate"])
		now = now.Add(time.Hour)
	}
	// 1 at first; then 1*(1-e^-1)/1 + e^-1*rate.
	if strings.Join(rates, " ") != "1.0 1.0 1.0" {
		t.Errorf("rates %v", rates)
	}
	e.Run(RCPT, s)
	e.Run(RCPT, s)
	if s.Vars["sender_rate"] != "2.0" {
		t.Errorf("burst rate %s", s.Vars["sender_rate"])
	}
}

func TestParseRatelimitErrors(t *testing.T) {
	for in, want := range map[string]string{
		"x / 1h":                     `"x" is not a positive number`,
		"3 / 1x":                     `"1x" is not a time value`,
		"3":                          `"NULL" is not a time value`,
		"3 / 1h / strict/leaky":      `conflicting update modes`,
		"3 / 1h / per_mail/per_rcpt": `conflicting per_* options`,
	} {
		_, err := parseRatelimit(in)
		if err == nil || !strings.HasSuffix(err.Error(), want) {
			t.Errorf("%q: %v, want %s", in, err, want)
		}
	}
}

func FuzzParseRatelimit(f *testing.F) {
	for _, s := range []string{"1 / 1h", "1K/1d/per_byte/readonly/k", "3/1h/per_rcpt/unique=a/count=2.5/k"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := parseRatelimit(s)
		if err == nil && (a.periodSecs <= 0 || a.limit < 0) {
			t.Fatalf("%q: bad result %+v", s, a)
		}
	})
}

func FuzzRun(f *testing.F) {
	for _, s := range []string{"accept", "deny message = x\\ny", "warn add_header = :at_start:X: y\n  accept control = freeze/no_tell", "require acl = accept hosts = *"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.Contains(s, "udpsend") {
			return // no datagrams to arbitrary hosts from a fuzzer
		}
		cfg, err := config.LoadBytes("/f.conf", []byte("acl_smtp_rcpt = a\nbegin acl\na:\n  "+s+"\n"), config.Options{})
		if err != nil {
			return
		}
		e := New(cfg)
		e.Sleep = func(time.Duration) {}
		e.Run(RCPT, &Session{Vars: expand.VarMap{"local_part": "x", "domain": "y"}, HostChecking: true})
	})
}
