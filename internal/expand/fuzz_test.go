package expand

import (
	"testing"
	"time"
)

// FuzzParse checks that no input makes the parser or the evaluator panic
// or recurse without bound, and that evaluation of what parsed terminates.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"plain", "${lc:ABC}", "${if eq{a}{b}{y}{n}}", "$h_subject:", "\\N${\\N",
		"${lookup{x}lsearch{/dev/null}{$value}fail}", "${substr_1_2:abc}",
		"${if and{{eq{a}{a}}{!eq{b}{c}}}}", "${map{a:b}{<$item>}}",
		"${sg{abc}{b}{X}}", "${extract{1}{:}{a:b}}", "${eval:1+2*3}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tmpl, err := Parse(s)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("Parse(%q) error of type %T", s, err)
			}
			return
		}
		ctx := &Context{
			Now:    func() time.Time { return time.Unix(0, 0) },
			Forbid: Forbid{Run: true, ReadFile: true, ReadSocket: true, Lookups: true, Env: true},
		}
		tmpl.Eval(ctx)
	})
}
