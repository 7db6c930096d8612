package smtpserver

import (
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/message"
)

// names lists the live headers of a block, "|"-separated.
func names(hs message.Headers) string {
	var out []string
	for _, h := range hs {
		if h.Type != '*' {
			out = append(out, h.Name)
		}
	}
	return strings.Join(out, "|")
}

// TestApplyHeaderChanges checks placements observed with Exim 4.96
// (-bh, $message_headers_raw in the DATA ACL).
func TestApplyHeaderChanges(t *testing.T) {
	base := func() message.Headers {
		return message.Headers{
			{Name: "Received", Text: "Received: ours\n", Type: 'P'},
			{Name: "Received", Text: "Received: old\n", Type: 'P'},
			{Name: "Resent-From", Text: "Resent-From: x@y\n"},
			{Name: "Subject", Text: "Subject: x\n"},
			{Name: "X-A", Text: "X-A: orig\n"},
		}
	}
	added := []string{"X-A: 1", ":at_start:X-S1: 1", ":at_start:X-S2: 2", ":after_received:X-R1: 1",
		":after_received:X-R2: 2", ":at_start_rfc:X-F1: 1", ":at_start_rfc:X-F2: 2"}
	tests := []struct {
		removed, added []string
		want           string
	}{
		{[]string{"X-A"}, added, "X-S2|X-F2|X-F1|X-S1|Received|Received|X-R2|X-R1|Resent-From|Subject|X-A"},
		{[]string{"x-a", "received"}, added, "X-S2|X-F2|X-F1|X-S1|X-R2|X-R1|Resent-From|Subject|X-A"},
		{[]string{"X-A"}, []string{"X-A: 1", ":after_received:X-R1: 1", ":after_received:X-R2: 2", ":at_start_rfc:X-F1: 1", ":at_start_rfc:X-F2: 2"},
			"Received|Received|X-F2|X-F1|X-R2|X-R1|Resent-From|Subject|X-A"},
		{nil, nil, "Received|Received|Resent-From|Subject|X-A"},
	}
	for _, tt := range tests {
		got := names(applyHeaderChanges(base(), tt.removed, tt.added))
		if got != tt.want {
			t.Errorf("remove %q add %q:\n got %s\nwant %s", tt.removed, tt.added, got, tt.want)
		}
	}
}

// TestSplitACLMessage checks how ACL messages become replies (observed
// with Exim 4.96).
func TestSplitACLMessage(t *testing.T) {
	tests := []struct {
		msg   string
		code  int
		text  string
		plain string
	}{
		{"custom", 550, "custom", "custom"},
		{"551 5.7.1 custom code", 551, "5.7.1 custom code", "custom code"},
		{"551 5.7.1 l1\nl2", 551, "5.7.1 l1\n5.7.1 l2", "l1\nl2"},
		{"550 5.1.1 l1\n\tl2", 550, "5.1.1 l1\n5.1.1 l2", "l1\nl2"},
		{"l1\n  l2", 550, "l1\nl2", "l1\nl2"},
		{"5.7.1 only ext", 550, "5.7.1 only ext", "5.7.1 only ext"},
		{"55 short", 550, "55 short", "55 short"},
		{"550 5.7 notext", 550, "5.7 notext", "5.7 notext"},
		{"550 5.7.1", 550, "5.7.1", "5.7.1"},
		{"250 2.0.0 done", 250, "2.0.0 done", "done"},
	}
	for _, tt := range tests {
		r := splitACLMessage(550, tt.msg)
		if r.code != tt.code || r.text != tt.text || r.plain != tt.plain {
			t.Errorf("%q: got %d %q %q, want %d %q %q", tt.msg, r.code, r.text, r.plain, tt.code, tt.text, tt.plain)
		}
	}
}

// FuzzSplitACLMessage checks that any ACL message gives a reply whose
// lines carry no line breaks of their own and a three-digit code.
func FuzzSplitACLMessage(f *testing.F) {
	for _, s := range []string{"custom", "551 5.7.1 l1\nl2", "550 5.7.1 ", "2.0.0", "999 9.999.999 x\n\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		r := splitACLMessage(550, msg)
		if r.code < 100 || r.code > 999 {
			t.Fatalf("%q: code %d", msg, r.code)
		}
		if strings.Count(r.text, "\n") != strings.Count(r.plain, "\n") {
			t.Fatalf("%q: text %q and plain %q differ in lines", msg, r.text, r.plain)
		}
		hs := applyHeaderChanges(nil, []string{"x"}, strings.Split(msg, "\n"))
		if len(hs) != len(strings.Split(msg, "\n")) {
			t.Fatalf("%q: %d headers", msg, len(hs))
		}
	})
}
