package filter

import (
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/message"
)

func sieveTestEnv() *SieveEnv {
	hs := message.Headers{
		{Name: "From", Text: "From: Sender <sender+tag@test.example>\n", Type: 'F'},
		{Name: "To", Text: "To: a@x.example, \"B, C\" <b@y.example>\n", Type: 'T'},
		{Name: "Subject", Text: "Subject: this is\n urgent\n"},
		{Name: "X-N", Text: "X-N: 0042\n"},
	}
	return &SieveEnv{Headers: SieveHeaders(hs), Sender: "sender@test.example", Recipient: "me@test.example", Size: 2000, Vacation: true}
}

func TestRunSieve(t *testing.T) {
	cases := []struct {
		script string
		want   string // actions, then "keep" when the implicit keep is left
		err    string
	}{
		{"keep;", "F:inbox", ""},
		{"discard;", "", ""},
		{"", "keep", ""},
		{`redirect "a@b.c";`, "A:a@b.c", ""},
		{`require "copy"; redirect :copy "a@b.c";`, "A:a@b.c keep", ""},
		{`require "fileinto"; fileinto "f";`, "F:f", ""},
		{`if header :contains "subject" "is urgent" { discard; } else { keep; }`, "", ""},
		{`if header :is "subject" "THIS IS URGENT" { discard; }`, "", ""},
		{`if header :comparator "i;octet" :is "subject" "THIS IS URGENT" { discard; }`, "keep", ""},
		{`if header :matches "subject" "th?s*urg*" { discard; }`, "", ""},
		{`if header :matches "subject" "*\\*" { discard; }`, "keep", ""},
		{`if header :matches "subject" "*\*" { discard; }`, "", ""},
		{`if address :domain "to" "y.example" { discard; }`, "", ""},
		{`if address :localpart "to" "b" { discard; }`, "", ""},
		{`require "subaddress"; if address :detail "from" "tag" { discard; }`, "", ""},
		{`require "envelope"; if envelope :localpart "to" "me" { discard; }`, "", ""},
		{`require "comparator-i;ascii-numeric"; if header :comparator "i;ascii-numeric" "x-n" "42" { discard; }`, "", ""},
		{`if size :over 1K { discard; }`, "", ""},
		{`if size :under 1K { discard; }`, "keep", ""},
		{`if allof(true, not false, exists "x-n") { discard; }`, "", ""},
		{`if anyof(false, exists "x-none") { discard; }`, "keep", ""},
		{"if false { keep; } elsif true { discard; } else { keep; }", "", ""},
		{"stop; reject;", "keep", ""},
		{`require "fileinto"; fileinto "x"; redirect "bob";`, "F:x", "unqualified recipient address in line 1"},
		{"reject;", "keep", "syntax error in line 1"},
		{"if true { reject; }", "keep", "expecting command or closing brace in line 1"},
		{"keep", "keep", "missing semicolon in line 1"},
		{`fileinto "x";`, "keep", `missing previous require "fileinto"; in line 1`},
		{`require "regex";`, "keep", "unknown capability in line 1"},
		{`require "enotify";`, "keep", "enotify disabled in line 1"},
		{"if foo {}", "keep", "missing test in line 1"},
		{"if true keep;", "keep", "missing block in line 1"},
		{"\"x\n", "keep", "syntax error in line 1"},
		{"/* x", "keep", "missing end of comment in line 1"},
		{"if header :contains \"subject\" text:\nurgent\n.\n{ discard; }", "keep", ""},
		{strings.Repeat("if true {", 200) + strings.Repeat("}", 200), "keep", "nesting too deep in line 1"},
	}
	for _, c := range cases {
		res, err := RunSieve(c.script, sieveTestEnv())
		var got []string
		for _, a := range res.Actions {
			k := "F:"
			if a.Kind == Address {
				k = "A:"
			}
			got = append(got, k+a.Text)
		}
		if res.ImplicitKeep {
			got = append(got, "keep")
		}
		es := ""
		if err != nil {
			es = err.Error()
		}
		if g := strings.Join(got, " "); g != c.want || es != c.err {
			t.Errorf("%q: got %q, error %q; want %q, error %q", c.script, g, es, c.want, c.err)
		}
	}
}

func TestWildMatch(t *testing.T) {
	cases := []struct {
		v, p string
		ok   bool
	}{
		{"abc", "a*c", true}, {"abc", "a?c", true}, {"abc", "*", true}, {"", "*", true},
		{"abc", "ab", false}, {"a*c", `a\*c`, true}, {"abc", `a\*c`, false},
		{strings.Repeat("a", 5000), strings.Repeat("*a", 40) + "b", false},
	}
	for _, c := range cases {
		if got := wildMatch(c.v, c.p); got != c.ok {
			t.Errorf("wildMatch(%q, %q) = %v", c.v, c.p, got)
		}
	}
}

func FuzzSieve(f *testing.F) {
	for _, s := range []string{
		"keep;", `require ["fileinto","copy"]; if header :contains "subject" "x" { fileinto :copy "f"; } elsif true { stop; } else { discard; }`,
		"if anyof(not exists \"x\", size :over 10K) { redirect \"a@b\"; }",
		"text:\nline\n..x\n.\n", "/* c */ # x\n", `if header :matches "s" "*?\*" {}`,
		`require "vacation"; vacation :days 3 :subject "s" :addresses ["a"] :mime "r";`,
		`require "encoded-character"; if header :is "s" "${hex:41 42}${unicode:263a}" {}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		RunSieve("# Sieve filter\n"+s, sieveTestEnv())
	})
}

func TestDecodeEncoded(t *testing.T) {
	cases := []struct{ in, want string }{
		{"${hex:41 42}c", "ABc"}, {"${unicode:263A}", "\u263a"}, {"${HEX: 41 }", "A"},
		{"${hex:zz}", "${hex:zz}"}, {"${foo:41}", "${foo:41}"}, {"${hex:41", "${hex:41"},
		{"a${hex:41}b${unicode:42}c", "aAbBc"}, {"${unicode:D800}", "${unicode:D800}"},
	}
	for _, c := range cases {
		if got := decodeEncoded(c.in); got != c.want {
			t.Errorf("decodeEncoded(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
