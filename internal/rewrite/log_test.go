package rewrite

import (
	"reflect"
	"testing"

	"github.com/exigo-mta/exigo/internal/message"
)

// TestRewrittenLines checks the address_rewrite log lines (texts
// observed with Exim 4.96) and that WithLog leaves the original rules
// silent.
func TestRewrittenLines(t *testing.T) {
	base := testRules(t, nil,
		"*@vm $1@example.org Ffrs",
		"*@old.example $1@new.example T",
		`*@w.example "Some One <$1@x.example>" tw`,
		`\N^<?x-([^@]*)@smtp\.example>?$\N <$1@smtp.example> S`,
	)
	tests := []struct {
		name string
		run  func(rs *Rules) string
		out  string
		logs []string
	}{
		{"env-from", func(rs *Rules) string { s, _ := rs.Address("root@vm", EnvFrom); return s },
			"root@example.org", []string{`"root@vm" from env-from rewritten as "root@example.org" by rule 1`}},
		{"env-to", func(rs *Rules) string { s, _ := rs.Address("a@old.example", EnvTo); return s },
			"a@new.example", []string{`"a@old.example" from env-to rewritten as "a@new.example" by rule 2`}},
		{"unchanged", func(rs *Rules) string { s, _ := rs.Address("a@old.example", EnvFrom); return s },
			"a@old.example", nil},
		{"whole", func(rs *Rules) string { s, _ := rs.Value("a@w.example", To, ""); return s },
			"Some One <a@x.example>", []string{`"a@w.example" from to: rewritten as "Some One <a@x.example>" by rule 3`}},
		{"smtp", func(rs *Rules) string { s, _ := rs.SMTPCommand("<x-y@smtp.example>"); return s },
			"<y@smtp.example>", []string{`"<x-y@smtp.example>" from smtp recipient rewritten as "<y@smtp.example>" by rule 4`}},
		{"smtp-unchanged", func(rs *Rules) string { s, _ := rs.SMTPCommand("<y@smtp.example>"); return s },
			"<y@smtp.example>", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs []string
			rs := base.WithLog(nil, func(s string) { logs = append(logs, s) })
			if got := tc.run(rs); got != tc.out {
				t.Errorf("got %q, want %q", got, tc.out)
			}
			if !reflect.DeepEqual(logs, tc.logs) {
				t.Errorf("logs %q, want %q", logs, tc.logs)
			}
			logs = nil
			tc.run(base)
			if logs != nil {
				t.Errorf("base rules logged %q", logs)
			}
		})
	}
	var nilRules *Rules
	if nilRules.WithLog(nil, nil) != nil {
		t.Error("WithLog of nil rules is not nil")
	}
}

// TestHeader checks the single-header form: the new line carries its
// type's spool flag, and deleted or non-address lines never change.
func TestHeader(t *testing.T) {
	rs := testRules(t, nil, "*@vm $1@example.org f")
	tests := []struct {
		in      message.Header
		qualify string
		want    message.Header
		changed bool
	}{
		{message.Header{Name: "From", Text: "From: a@vm\n", Type: 'F'}, "", message.Header{Name: "From", Text: "From: a@example.org\n", Type: 'F'}, true},
		{message.Header{Name: "Resent-From", Text: "Resent-From: <a@vm>\n", Type: ' '}, "", message.Header{Name: "Resent-From", Text: "Resent-From: <a@example.org>\n", Type: 'F'}, true},
		{message.Header{Name: "From", Text: "From: a@vm\n", Type: '*'}, "", message.Header{Name: "From", Text: "From: a@vm\n", Type: '*'}, false},
		{message.Header{Name: "Subject", Text: "Subject: a@vm\n", Type: ' '}, "", message.Header{Name: "Subject", Text: "Subject: a@vm\n", Type: ' '}, false},
		{message.Header{Name: "To", Text: "To: bob\n", Type: 'T'}, "", message.Header{Name: "To", Text: "To: bob\n", Type: 'T'}, false},
		{message.Header{Name: "To", Text: "To: bob\n", Type: 'T'}, "q.example", message.Header{Name: "To", Text: "To: bob@q.example\n", Type: 'T'}, true},
	}
	for _, tc := range tests {
		got, changed := rs.Header(tc.in, tc.qualify)
		if got != tc.want || changed != tc.changed {
			t.Errorf("Header(%q, %q) = %+v %v, want %+v %v", tc.in.Text, tc.qualify, got, changed, tc.want, tc.changed)
		}
	}
}
