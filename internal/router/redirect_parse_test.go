package router

import (
	"strings"
	"testing"
)

func TestParseRedirect(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{"a, b@x", "a|b@x", ""},
		{"x <a@b>", "a@b", ""},
		{"a@b (c)", "a@b", ""},
		{"\"a,b\"@c", "\"a,b\"@c", ""},
		{"|/bin/x", "P|/bin/x", ""},
		{"/tmp/f, /tmp/d/", "F/tmp/f|D/tmp/d/", ""},
		{"# c\na", "a", ""},
		{"a b", "", "missing or malformed local part (expected word or \"<\") in \"a b\""},
		{"a@", "", "domain missing or malformed in \"a@\""},
		{"@b", "", "no local part in \"@b\""},
		{"<a@b", "", "'>' missing at end of address in \"<a@b\""},
		{"a@b>", "", "malformed address: > may not follow a@b in \"a@b>\""},
		{"<bad", "", "\"@\" or \".\" expected after \"bad\" in \"<bad\""},
		{"a@b (c) d", "", "malformed address: d may not follow a@b (c)  in \"a@b (c) d\""},
		{"\"q", "", "unmatched doublequote in local part in \"\"q\""},
		{"a@[1.2", "", "malformed domain literal in \"a@[1.2\""},
		{"<a@[1.2.3.4]>", "", "domain literals not allowed in \"<a@[1.2.3.4]>\""},
		{"<>", "", "missing or malformed local part in \"<>\""},
		{"a@b_c", "", "malformed address: _c may not follow a@b in \"a@b_c\""},
		{"a . b@c. d", "a.b@c.d", ""},
		{"a..b@c", "a..b@c", ""},
		{"\\x@y, \\z", "\\x@y|z", ""},
		{"a\\@c", "a\\@c", ""},
	}
	for _, tt := range tests {
		l, err := (&rdParser{}).parse(tt.in)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("%q: error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		var got []string
		for _, it := range l.items {
			got = append(got, [...]string{"", "P", "F", "D"}[it.kind]+it.text)
		}
		if g := strings.Join(got, "|"); g != tt.want {
			t.Errorf("%q: got %q, want %q", tt.in, g, tt.want)
		}
	}
}

func FuzzRedirectData(f *testing.F) {
	for _, s := range []string{"a, b@x", "x <a@b>", ":fail: no", ":include:/x", "\"|/bin/x, y\"", "a (c(d)) <b@[1.2.3.4]>", "\\fred, #c\n :blackhole:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := &rdParser{include: func(string) (string, error) { return s, nil }}
		l, err := p.parse(s)
		if err == nil && l == nil {
			t.Fatal("nil list without error")
		}
	})
}
