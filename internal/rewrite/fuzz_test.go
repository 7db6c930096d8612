package rewrite

import (
	"strings"
	"testing"
)

// FuzzParseItem checks that the address item parser never panics, that a
// parsed item's span lies inside its input, and that rewriting whole
// header values keeps the text outside the items.
func FuzzParseItem(f *testing.F) {
	for _, s := range []string{"a@b", "Fred <a@b>", `"A, B" <ab@x> (c)`, "<@r:u@d>", "a@[1.2", "((((", `"\`, "g: a@b, c@d;", "<>@x", "a..b@c"} {
		f.Add(s)
	}
	r := testRules(f, nil, `*@b $1@new.example`, `*@x "W <w@w.example>" w`)
	f.Fuzz(func(t *testing.T, s string) {
		if it, err := parseItem(s); err == nil {
			if it.Start < 0 || it.Start > it.End || it.End > len(s) {
				t.Fatalf("span %d-%d out of %q", it.Start, it.End, s)
			}
		}
		out, _ := r.Value(s, To, "q.example")
		if out == "" && strings.TrimSpace(s) != "" && !strings.ContainsAny(s, ",;:") {
			t.Fatalf("Value(%q) is empty", s)
		}
	})
}

// FuzzNewList checks that parsing headers_rewrite lists never panics.
func FuzzNewList(f *testing.F) {
	for _, s := range []string{`*@a $1@b f`, `"*@a" "x y" w : b@c * q`, `"unclosed`, `a b "\x41\101\n"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := NewList(s, Options{})
		if err == nil {
			r.Address("a@b", AllHeaders)
		}
	})
}
