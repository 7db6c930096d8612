package rewrite

import (
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/message"
)

// testRules builds rules from rewrite section lines "pattern repl flags".
func testRules(t testing.TB, logs *[]string, lines ...string) *Rules {
	t.Helper()
	var rs []config.RewriteRule
	for i, l := range lines {
		f, err := fields(l)
		if err != nil || len(f) < 2 {
			t.Fatalf("bad rule %q", l)
		}
		rs = append(rs, config.RewriteRule{Pattern: f[0], Replacement: f[1], Flags: strings.Join(f[2:], ""), File: "test", Line: i + 1})
	}
	r, err := New(rs, Options{
		Expand: func(s string, v Vars) (string, error) {
			ctx := &expand.Context{Vars: expand.VarMap{"local_part": v.LocalPart, "domain": v.Domain}, Numeric: v.Numeric}
			return expand.String(s, ctx)
		},
		QualifyRecipient: "qr.example",
		Log: func(s string) {
			if logs != nil {
				*logs = append(*logs, s)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestParseItem(t *testing.T) {
	for _, c := range []struct{ in, addr, span, err string }{
		{"a@b", "a@b", "a@b", ""},
		{"Fred <a@b>", "a@b", "a@b", ""},
		{`"A, B" <ab@x> (c)`, "ab@x", "ab@x", ""},
		{"a@b (comment)", "a@b", "a@b", ""},
		{"a . b @ c . d", "a.b@c.d", "a . b @ c . d", ""},
		{`"quoted lp"@x`, `"quoted lp"@x`, `"quoted lp"@x`, ""},
		{"<@r1,@r2:u@d>", "u@d", "@r1,@r2:u@d", ""},
		{"a(x)@b", "a@b", "a(x)@b", ""},
		{".a.@b", ".a.@b", ".a.@b", ""},
		{`a\b@c`, `a\b@c`, `a\b@c`, ""},
		{"a@b (unclosed", "a@b", "a@b", ""},
		{"x@[1.2.3.4]", "x@[1.2.3.4]", "x@[1.2.3.4]", ""},
		{"foo..bar@x", "foo..bar@x", "foo..bar@x", ""},
		{"unq", "unq", "unq", ""},
		{"", "", "", "empty address"},
		{"<>", "", "", "empty address"},
		{"<>@vm", "", "", "missing or malformed local part"},
		{"@vm", "", "", "no local part"},
		{"a@", "", "", "domain missing or malformed"},
		{"a@b, c@d", "", "", "malformed address: , c@d may not follow a@b"},
		{"<a@b@c>", "", "", "malformed address: @c> may not follow <a@b"},
		{"<a@b", "", "", "'>' missing at end of address"},
		{"<a@b> x", "", "", "malformed address: x may not follow <a@b> "},
		{"a b@c", "", "", `missing or malformed local part (expected word or "<")`},
		{`"unterminated@x`, "", "", "unmatched doublequote in local part"},
		{`Fr"ed <a@b>`, "", "", `unmatched doublequote in local part (expected word or "<")`},
		{"a@[1.2", "", "", "malformed domain literal"},
	} {
		it, err := parseItem(c.in)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("parseItem(%q) error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseItem(%q): %v", c.in, err)
			continue
		}
		if it.Addr != c.addr || c.in[it.Start:it.End] != c.span {
			t.Errorf("parseItem(%q) = %q span %q, want %q span %q", c.in, it.Addr, c.in[it.Start:it.End], c.addr, c.span)
		}
	}
}

func TestAddress(t *testing.T) {
	var logs []string
	r := testRules(t, &logs,
		`*@s.example $1@sx.example s`,
		`*@ef.example $1@efx.example F`,
		`*@e.example $1@ex.example E`,
		`\N^(.*)x(.*)@rq\.example$\N $1$2@rq.example Rq`,
		`*@rq.example after@rq.example`,
		`*@fail.example "${if eq{1}{2}{x}fail}" q`,
		`*@fail.example after@x.example`,
		`*@q.example local Q`,
		`*@nq.example local`,
		`*@loop.example a$1@loop.example R`,
		`*@star.example *`,
		`*@star.example no@x.example`,
		`*queen@*.fict.example $1+$2@cards.example`,
		`*@lp.example $local_part.$domain@y.example`,
	)
	for _, c := range []struct {
		in   string
		t    Type
		want string
	}{
		{"u@s.example", Sender, "u@sx.example"},
		{"u@s.example", From, "u@s.example"},
		{"u@ef.example", EnvFrom, "u@efx.example"},
		{"u@ef.example", EnvTo, "u@ef.example"},
		{"u@e.example", EnvTo, "u@ex.example"},
		{"u@e.example", Cc, "u@e.example"},
		{"axxb@rq.example", To, "ab@rq.example"},
		{"ab@rq.example", To, "after@rq.example"},
		{"x@fail.example", To, "x@fail.example"},
		{"x@q.example", To, "local@qr.example"},
		{"x@nq.example", To, "x@nq.example"},
		{"x@loop.example", To, "aaaaaaaaaaax@loop.example"},
		{"x@star.example", To, "x@star.example"},
		{"hearts-queen@wonderland.fict.example", To, "hearts-+wonderland@cards.example"},
		{"Joe@LP.example", To, "Joe.LP.example@y.example"},
	} {
		if got, _ := r.Address(c.in, c.t); got != c.want {
			t.Errorf("Address(%q, %b) = %q, want %q", c.in, c.t, got, c.want)
		}
	}
	if !strings.Contains(strings.Join(logs, "\n"), `Rewrite of x@nq.example yielded unqualified address "local"`) ||
		!strings.Contains(strings.Join(logs, "\n"), "rewrite rule repeat ignored after 10 times") {
		t.Errorf("logs: %q", logs)
	}
}

func TestNewErrors(t *testing.T) {
	for _, c := range []struct{ flags, pat, want string }{
		{"x", "a@b", "unknown rewrite flag character 'x'"},
		{"S", "a@b", "rewrite rule has the S flag but is not a regular expression"},
	} {
		_, err := New([]config.RewriteRule{{Pattern: c.pat, Replacement: "r@s", Flags: c.flags, File: "f", Line: 3}}, Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "line 3 of f") {
			t.Errorf("flags %q: %v", c.flags, err)
		}
	}
	if _, err := NewList(`*@a $1@b F`, Options{}); err == nil {
		t.Error("NewList accepted F")
	}
	r, err := NewList(`*@a.example $1@b.example f : *@c.example "x@y.example"`, Options{})
	if err != nil || len(r.Rules()) != 2 || r.Rules()[1].Types != AllHeaders {
		t.Errorf("NewList: %v %+v", err, r)
	}
}

// headerCases come from the header section of the -H spool files Exim
// 4.96 wrote (exim -odq) for messages with these headers and the rules of
// spoolRules.
var spoolRules = []string{
	`*@old.example $1@new.example`,
	`*@wo.example "Whole <w@whole.example>" w`,
	`*@to.example $1@tonew.example t`,
}

var headerCases = []struct{ in, out string }{
	{"From: Fred Bloggs <fred@old.example>, \"A, B\" <ab@old.example> (c)\n",
		"From: Fred Bloggs <fred@new.example>, \"A, B\" <ab@new.example> (c)\n"},
	{"To: x@to.example,\n  y@other.example, grp: g1@old.example, g2@wo.example;\n",
		"To: x@tonew.example,\n  y@other.example, grp: g1@new.example, Whole <w@whole.example>\n"},
	{"Cc: Joe <joe@wo.example>\n", "Cc: Whole <w@whole.example>\n"},
	{"Reply-To: r@old.example\n", "Reply-To: r@new.example\n"},
	{"Resent-From: rf@old.example\n", "Resent-From: rf@new.example\n"},
	{"Subject: s@old.example\n", ""},
	{"To: grp: g1@old.example, g2@old.example;, z@old.example\n",
		"To: grp: g1@new.example, g2@new.example;, z@new.example\n"},
	{"Cc: undisclosed:;\n", ""},
	{"Bcc: a@old.example (x) , <b@old.example>\n", "Bcc: a@new.example (x) , <b@new.example>\n"},
	{"Sender: Name\n  <snd@old.example>\n", "Sender: Name\n  <snd@new.example>\n"},
	{"From: unq\n", "From: unq@vm\n"},
}

func TestHeaders(t *testing.T) {
	r := testRules(t, nil, spoolRules...)
	for _, c := range headerCases {
		name := c.in[:strings.IndexByte(c.in, ':')]
		hs := message.Headers{{Name: name, Text: c.in, Type: message.TypeFlag(name)}}
		out, changed := r.Headers(hs, "vm")
		if c.out == "" {
			if changed || len(out) != 1 {
				t.Errorf("%q rewritten: %+v", c.in, out)
			}
			continue
		}
		if !changed || len(out) != 2 || out[0].Type != '*' || out[1].Text != c.out || out[1].Type != typeFlag[HeaderType(name)] {
			t.Errorf("%q:\n got %+v\nwant %q", c.in, out, c.out)
		}
	}
}
