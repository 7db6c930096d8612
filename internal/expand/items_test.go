package expand

import (
	"strings"
	"testing"
)

func TestItemHelpers(t *testing.T) {
	tests := []struct{ in, want string }{
		{"${hash{3}{monty}}", "jmg"},
		{"${hash{4}{62}{monty python}}", "fbWx"},
		{"${nhash{8}{64}{supercalifragilisticexpialidocious}}", "6/33"},
		{"${nhash{-1}{abc}}", "32236"},
		{"${substr{-3}{2}{12}}", "1"},
		{"${substr{-1}{abcde}}", "abcd"},
		{"${length{2}{abc}}", "ab"},
		{"${tr{abcdea}{ac}{13}}", "1b3de1"},
		{"${sg{abcdef}{^(...)(...)\\$}{\\$2\\$1}}", "defabc"},
		{"${extract{-4}{:}{x:42:99:& Mailer::/bin/bash}}", "99"},
		{"${extract{gid}{uid=1984 gid=2001}}", "2001"},
		{`${extract jsons{2}{\N[1, "x"]\N}}`, "x"},
		{"${listextract{-3}{<, x,42,99,& Mailer,,/bin/bash}{result: $value}}", "result: 42"},
		{"${listquote{:}{a:b}}", "a::b"},
		{"${map{<- x-y-z}{($item)}}", "(x)-(y)-(z)"},
		{"${filter{a:b:c}{!eq{$item}{b}}}", "a:c"},
		{"${reduce{a:b}{x}{$value$item}}", "xab"},
		{"${sort{3:2:1:4}{<}{$item}}", "1:2:3:4"},
		{"${sort{b:a:B:A}{lti}{$item}}", "a:A:b:B"},
	}
	for _, tt := range tests {
		got, err := String(tt.in, nil)
		if err != nil || got != tt.want {
			t.Errorf("%s = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestItemErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"${hash{1}}", "Not enough arguments for 'hash' (min is 2)"},
		{"${tr{1}{2}{3}{4}}", "Too many arguments for 'tr' (max is 3)"},
		{"${length{1}{2} x}", "missing '}' after 'length'"},
		{"${hash{3}{63}{abcdef}}", `hash count "63" too big`},
		{"${substr{1}{x}{abcde}}", `"x" is not a positive number (in "substr" expansion)`},
		{"${extract{}{a=b}}", `first argument of "extract" must not be empty`},
		{"${extract{1}{2}{3}{4}xx}", `syntax error in "extract" item - "fail" expected`},
		{"${sort{a}{eq}{$item}}", "comparator not handled for sort"},
		{"${sort{3:2}{<}{}}", `field-extract in sort: ""`},
		{"${map{a}}", "missing '{' for last arg of map"},
		{"${listextract{x}{a}}", `first argument of "listextract" must be numeric`},
		{"${nhash{0}{abc}}", `division by zero in "nhash" expansion`},
	}
	for _, tt := range tests {
		_, err := String(tt.in, nil)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s: error %v; want %q", tt.in, err, tt.want)
		}
	}
}

func TestItemScoping(t *testing.T) {
	st := &state{ctx: &Context{}, item: "outer", value: "val"}
	tmpl := MustParse("${map{a:b}{$item}}$item ${reduce{a}{x}{$value}}$value ${sg{ab}{(b)}{$1}}$1")
	var b []byte
	if err := tmpl.root.eval(st, &b); err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), "a:bouter xval a"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// FuzzItems checks that no expansion of the items in this group panics
// or runs away, whatever the input.
func FuzzItems(f *testing.F) {
	for _, s := range []string{
		"${extract{1}{:}{a:b}{$value}fail}", `${extract json{a}{\N{"a":[1,{"b":2}]}\N}}`,
		"${extract jsons{2}{\\N[1,\"x\"]\\N}}", "${sort{3:1:2}{<}{$item}}",
		"${map{a:b}{${filter{$item}{eq{$item}{a}}}}}", "${reduce{1:2}{0}{$value$item}}",
		"${sg{abc}{(b)}{\\N${sg{$1}{b}{c}}\\N}}", "${hash{3}{62}{x}}", "${nhash{5}{7}{x}}",
		"${substr{-3}{2}{abc}}", "${tr{abc}{ab}{x}}", "${listextract{-1}{a:b}}",
		"${listquote{:}{a:b}}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 4096 || strings.Count(s, "sg") > 8 {
			return
		}
		tmpl, err := Parse(s)
		if err != nil {
			return
		}
		_, _ = tmpl.Eval(&Context{})
	})
}
