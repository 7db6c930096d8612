package expand

import (
	"strings"
	"testing"
)

func TestListNamed(t *testing.T) {
	named := map[string]string{
		"domain/d1":   "a.b : c::d : +d2",
		"domain/d2":   "x : y",
		"host/h1":     "<; 1.2.3.4 ; ::1 ; +h2",
		"host/h2":     "5.6.7.8",
		"domain/loop": "a : +loop",
	}
	ctx := &Context{NamedList: func(kind, name string) (string, bool) {
		v, ok := named[kind+"/"+name]
		return v, ok
	}}
	tests := []struct{ in, want string }{
		{"${listnamed:d1}", "a.b : c:d : x : y"},
		{"${listnamed:+d1}", "a.b : c:d : x : y"},
		{"${listnamed:h1}", "1.2.3.4 : ::::1 : 5.6.7.8"},
		{"${listnamed_h:h2}", "5.6.7.8"},
		{"${listnamed_dd:d2}", "x : y"},
		{"${listnamed_l:d1}", `Failed: "d1" is not a localpart named list`},
		{"${listnamed_h:d1}", `Failed: "d1" is not a host named list`},
		{"${listnamed:none}", `Failed: "none" is not a named list`},
		{"${listnamed_q:d1}", `Failed: bad suffix on "list" operator`},
	}
	for _, tc := range tests {
		got, err := String(tc.in, ctx)
		if err != nil {
			got = "Failed: " + err.Error()
		}
		if got != tc.want {
			t.Errorf("%s = %q, want %q", tc.in, got, tc.want)
		}
	}
	// A list that refers to itself ends, however deep.
	got, err := String("${listnamed:loop}", ctx)
	if err != nil || !strings.HasPrefix(got, "a : a : ") {
		t.Errorf("loop: %q, %v", got, err)
	}
}

func TestHashString(t *testing.T) {
	// Examples from the spec, item "hash".
	tests := []struct {
		s    string
		n, m int
		want string
	}{
		{"monty", 3, 26, "jmg"},
		{"monty", 5, 26, "monty"},
		{"monty python", 4, 62, "fbWx"},
		{"abc", 0, 26, ""},
	}
	for _, tc := range tests {
		if got := hashString(tc.s, tc.n, tc.m); got != tc.want {
			t.Errorf("hash(%q,%d,%d) = %q, want %q", tc.s, tc.n, tc.m, got, tc.want)
		}
	}
	if got, _ := nhashString("supercalifragilisticexpialidocious", 8, 64, true); got != "6/33" {
		t.Errorf("nhash = %q, want 6/33", got)
	}
	if _, err := nhashString("abc", 0, 0, false); err == nil {
		t.Error("nhash with 0 did not fail")
	}
}

func TestEvalArith(t *testing.T) {
	tests := []struct {
		in      string
		decimal bool
		want    string
	}{
		{"1+2*3", false, "7"},
		{"(1+2)*3", false, "9"},
		{"~255&0x1234", false, "4608"},
		{"010", false, "8"},
		{"010", true, "10"},
		{"1/0", false, `error in expression evaluation: divide by zero (after processing "1/0")`},
		{"1 2", false, `error in expression evaluation: expecting operator (after processing "1 ")`},
	}
	for _, tc := range tests {
		got, err := evalArith(tc.in, tc.decimal)
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("eval(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestEvalArithDepth(t *testing.T) {
	deep := strings.Repeat("(", 100000) + "1" + strings.Repeat(")", 100000)
	_, err := evalArith(deep, false)
	if err == nil || !strings.Contains(err.Error(), "expression nested too deeply") {
		t.Errorf("deep nesting: %v", err)
	}
	_, err = evalArith(strings.Repeat("-", 100000)+"1", false)
	if err == nil {
		t.Error("deep unary minus did not fail")
	}
}

func TestSubstrOf(t *testing.T) {
	// Examples from the spec, item "substr".
	tests := []struct {
		s             string
		start, length int
		has           bool
		want          string
	}{
		{"1234567", -5, 2, true, "34"},
		{"12", -5, 2, true, ""},
		{"12", -3, 2, true, "1"},
		{"abcde", -1, 0, false, "abcd"},
		{"abcde", 3, 2, true, "de"},
	}
	for _, tc := range tests {
		if got := substrOf(tc.s, tc.start, tc.length, tc.has); got != tc.want {
			t.Errorf("substr(%q,%d,%d) = %q, want %q", tc.s, tc.start, tc.length, got, tc.want)
		}
	}
}

// FuzzEvalArith checks that ${eval:...} never panics or hangs and that a
// success is a decimal number.
func FuzzEvalArith(f *testing.F) {
	for _, s := range []string{"1+1", "(1+2)*3", "-(~255&0x1234)", "0x1g", "1<<-1",
		"(-9223372036854775807-1)/-1", "9223372036854775807+1", "((((1", "1 K", "010", ""} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, decimal bool) {
		r, err := evalArith(s, decimal)
		if err != nil {
			return
		}
		if r == "" || strings.Trim(strings.TrimPrefix(r, "-"), "0123456789") != "" {
			t.Fatalf("eval(%q) = %q", s, r)
		}
	})
}
