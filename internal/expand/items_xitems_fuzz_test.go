package expand

import (
	"strings"
	"testing"
)

// FuzzParseAddress checks that the address parser used by srs_encode
// never panics and keeps its results inside its input (less comments).
func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{"a@b", "Name <a@b>", "<@r,@s:a@b>", `"a b"@c`, "a(c(d))@b", "<>", "@", "a@[1.2", "x <a@b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, d, err := parseAddress(s)
		bare := stripComments(s)
		if err == nil && (!strings.Contains(bare, l) || !strings.Contains(bare, d)) {
			t.Errorf("parseAddress(%q) = %q, %q: not from the input", s, l, d)
		}
	})
}

// FuzzSplitCommand checks that command splitting never panics and never
// yields more arguments than the input has bytes.
func FuzzSplitCommand(f *testing.F) {
	for _, s := range []string{`/bin/echo "a b" 'c'`, `x "\`, `"\x4`, `a"b c"d`, `'`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if args := splitCommand(s); len(args) > len(s) {
			t.Errorf("splitCommand(%q): %d arguments", s, len(args))
		}
	})
}

// FuzzItemsParse parses and evaluates strings using this group's items
// with everything that reaches outside the process forbidden.
func FuzzItemsParse(f *testing.F) {
	for _, s := range []string{
		"${run{/bin/echo ${lc:A} a\\}b}{$value}{$runrc}}",
		"${run,preexpand{/bin/echo}}",
		"${readsocket{inet:h:1}{r}{1s:cache=yes}{x}{y}",
		"${certextract{subject,CN,>;}{$tls_in_peercert}{$value}fail}",
		"${prvscheck{prvs=1999e5730d=a@b}{s}{$prvscheck_address}}",
		"${srs_encode{s}{Name <a@b>}{d}}${hmac{md5}{k}{t}}",
		"${imapfolder{Räk/s&}{/}{.}}${env{HOME}{$value}fail}",
		"${acl{x}{1}}${authresults{id}}${perl{f}}${dlfunc{a}{b}}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tpl, err := Parse(s)
		if err != nil {
			return
		}
		ctx := &Context{Forbid: Forbid{Run: true, ReadFile: true, ReadSocket: true, Lookups: true, Perl: true, DLFunc: true, Env: true}}
		tpl.Eval(ctx)
	})
}
