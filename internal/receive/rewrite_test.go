package receive

import (
	"strings"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/message"
	"github.com/exigo-mta/exigo/internal/rewrite"
)

// testRewriteRules are a Debian-style sender rule and a recipient rule.
func testRewriteRules(t *testing.T) *rewrite.Rules {
	t.Helper()
	rs, err := rewrite.New([]config.RewriteRule{
		{Pattern: "root@vm", Replacement: "Root.User@example.org", Flags: "Ffrs", File: "t", Line: 1},
		{Pattern: "*@old.example", Replacement: "$1@new.example", Flags: "T", File: "t", Line: 2},
	}, rewrite.Options{Expand: func(s string, v rewrite.Vars) (string, error) {
		if len(v.Numeric) > 1 {
			s = strings.ReplaceAll(s, "$1", v.Numeric[1])
		}
		return s, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// TestRewriteEnvelope checks that recipients, then the sender, are
// rewritten, with the deleted lines Exim 4.96 records them in.
func TestRewriteEnvelope(t *testing.T) {
	rs := testRewriteRules(t)
	e := &Envelope{Sender: "root@vm", Recipients: []string{"a@old.example", "b@vm", "c@old.example"}}
	marks := RewriteEnvelope(rs, e)
	if e.Sender != "Root.User@example.org" || strings.Join(e.Recipients, " ") != "a@new.example b@vm c@new.example" {
		t.Errorf("envelope %q %q", e.Sender, e.Recipients)
	}
	var got []string
	for _, m := range marks {
		got = append(got, string(m.Type)+m.Text)
	}
	want := "*X-rewrote-original-recipient: a@old.example\n*X-rewrote-original-recipient: c@old.example\n*X-rewrote-sender: root@vm\n"
	if strings.Join(got, "") != want {
		t.Errorf("marks %q, want %q", strings.Join(got, ""), want)
	}
	if RewriteEnvelope(nil, e) != nil {
		t.Error("nil rules made marks")
	}
	if m := RewriteEnvelope(rs, &Envelope{}); m != nil {
		t.Errorf("null sender made marks %q", m)
	}
}

// TestFixUpRewrite checks FixUp with rules: a header qualified and then
// rewritten leaves only its original behind (observed with Exim 4.96),
// and the records go before the Date: the fix-ups add.
func TestFixUpRewrite(t *testing.T) {
	hs := message.Headers{
		{Name: "From", Text: "From: root\n", Type: 'F'},
		{Name: "To", Text: "To: a@old.example\n", Type: 'T'},
	}
	in := &Intake{
		Options:  &Options{PrimaryHostname: "vm", QualifyDomain: "vm", QualifyRecipient: "vm", ReceivedHeaderText: "Received: x"},
		Envelope: &Envelope{Sender: "root@vm", Recipients: []string{"a@old.example"}, Local: true, Trusted: true, UnqualifiedSender: true, UnqualifiedRecipient: true, User: User{Login: "nobody"}, Protocol: "local"},
		ID:       "1xWxG1-000175-0n",
		Now:      time.Date(2026, 11, 27, 14, 0, 0, 0, time.UTC),
		Rewrite:  testRewriteRules(t),
	}
	m := &Message{Headers: hs}
	if err := in.FixUp(m); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range m.Headers[1:] {
		got = append(got, string(h.Type)+" "+strings.SplitN(h.Text, "\n", 2)[0])
	}
	want := []string{
		"* From: root",
		"F From: Root.User@example.org",
		"T To: a@old.example",
		"I Message-Id: <E1xWxG1-000175-0n@vm>",
		"* X-rewrote-original-recipient: a@old.example",
		"* X-rewrote-sender: root@vm",
		"  Date: Fri, 27 Nov 2026 14:00:00 +0000",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("headers\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if in.Envelope.Sender != "Root.User@example.org" || in.Envelope.Recipients[0] != "a@new.example" {
		t.Errorf("envelope %q %q", in.Envelope.Sender, in.Envelope.Recipients)
	}
}

// TestPlaceMarks checks where the records go among the fix-ups' lines.
func TestPlaceMarks(t *testing.T) {
	rcpt := message.Headers{{Name: "R", Text: "R: 1\n", Type: '*'}}
	sender := message.Headers{{Name: "S", Text: "S: 1\n", Type: '*'}}
	tests := []struct {
		tail         []string
		rcpt, sender bool
		want         string
	}{
		{nil, true, true, "R S"},
		{[]string{"Message-Id", "From", "Date"}, true, true, "Message-Id R From S Date"},
		{[]string{"Message-Id", "Date"}, false, true, "Message-Id S Date"},
		{[]string{"From", "Date"}, true, false, "R From Date"},
		{[]string{"Message-Id"}, true, true, "Message-Id R S"},
		{[]string{"Message-Id", "Date"}, false, false, "Message-Id Date"},
	}
	for _, tc := range tests {
		var tail message.Headers
		for _, n := range tc.tail {
			tail = append(tail, message.Header{Name: n, Text: n + ": v\n"})
		}
		var r, s message.Headers
		if tc.rcpt {
			r = rcpt
		}
		if tc.sender {
			s = sender
		}
		var names []string
		for _, h := range placeMarks(tail, r, s) {
			names = append(names, h.Name)
		}
		if strings.Join(names, " ") != tc.want {
			t.Errorf("%v: got %v, want %s", tc.tail, names, tc.want)
		}
	}
}
