package expand

import "testing"

// TestTaint: the cases observed with Exim 4.96 as an appendfile file
// name (Tainted '...' not permitted, or delivered).
func TestTaint(t *testing.T) {
	vars := VarMap{"local_part": "t4", "local_part_data": "t4", "domain": "test.example",
		"sender_address": "s@test.example", "sender_address_local_part": "s", "original_local_part": "t4",
		"home": "/home/t4", "empty": ""}
	cases := []struct {
		in      string
		tainted bool
	}{
		{"/mail/fixed", false},
		{"/mail/$domain", true},
		{"/mail/${if eq{$sender_address}{}{x}{$sender_address_local_part}}", true},
		{"/mail/${if eq{$local_part}{t4}{yes}{no}}", false},
		{"/mail/${lookup{$local_part}lsearch{/found}{$value}{none}}", false},
		{"/mail/${lookup{$local_part}lsearch{/found}}", false},
		{"/mail/${lookup{$local_part}lsearch{/missing}{$value}{$local_part}}", true},
		{"/mail/$local_part_data", false},
		{"/mail/${length_1:$local_part}", true},
		{"/mail/${if match{$local_part}{^(t)}{$1}{no}}", true},
		{"/mail/${if match{$local_part_data}{^(t)}{$1}{no}}", false},
		{"/mail/$original_local_part", true},
		{"$home/mbox", false},
		{"/mail/$local_part", true},
		{"/mail/${lc:$local_part}", true},
		{"/mail/${if def:local_part{x}{y}}", false},
	}
	for _, c := range cases {
		got, tainted, err := StringTaint(c.in, &Context{Vars: vars, Lookups: taintLookups{}})
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if tainted != c.tainted {
			t.Errorf("%s = %q: tainted %v, want %v", c.in, got, tainted, c.tainted)
		}
	}
}

// taintLookups finds every key in "/found" (the value is the key) and
// none elsewhere.
type taintLookups struct{}

func (taintLookups) Find(typ, file, key string, x func(string) (string, error)) (string, bool, error) {
	return key, file == "/found", nil
}

func (taintLookups) Query(typ, query string, x func(string) (string, error)) (string, bool, error) {
	return "", false, nil
}
