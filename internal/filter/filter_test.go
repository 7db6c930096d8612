package filter

import (
	"strings"
	"testing"
)

// testEnv expands only the filter's own variables and a few fixed ones.
func testEnv(out *strings.Builder) *Env {
	fixed := map[string]string{"local_part": "joe", "domain": "example.com", "h_subject:": "hello world"}
	return &Env{
		Expand: func(s string, v Vars) (string, error) {
			for k, val := range v.Extra {
				s = strings.ReplaceAll(s, "$"+k+" ", val+" ")
				if strings.HasSuffix(s, "$"+k) {
					s = strings.TrimSuffix(s, "$"+k) + val
				}
			}
			for k, val := range fixed {
				s = strings.ReplaceAll(s, "$"+k, val)
			}
			return s, nil
		},
		Test: out,
	}
}

func TestRun(t *testing.T) {
	tests := []struct {
		src, out    string
		significant bool
		deliveries  int
	}{
		{"# Exim filter\n", "", false, 0},
		{"# Exim filter\ndeliver a@b\n", "Deliver message to: a@b\n", true, 1},
		{"# Exim filter\nunseen deliver a@b\n", "Unseen deliver message to: a@b\n", false, 1},
		{"# Exim filter\nsave /x 600\n", "Save message to: /x 0600\n", true, 1},
		{"# Exim filter\npipe \"/bin/x $local_part\"\n", "Pipe message to: /bin/x $local_part\n", true, 1},
		{"# Exim filter\nadd 2 to n3\nadd 1k to n3\ntestprint $n3\n", "Add 2 to n3\nAdd 1024 to n3\nTestprint: 1026\n", false, 0},
		{"# Exim filter\nif $h_subject: contains WORLD then deliver x@y else deliver z@w endif\n", "Deliver message to: x@y\n", true, 1},
		{"# Exim filter\nif $h_subject: CONTAINS WORLD then deliver x@y else deliver z@w endif\n", "Deliver message to: z@w\n", true, 1},
		{"# Exim filter\nif $h_subject: matches \"^(h\\\\w+)\" then testprint ok endif\n", "Testprint: ok\n", false, 0},
		{"# Exim filter\nif 3 is above 2 and not 1 is above 2 then testprint yes endif\n", "Testprint: yes\n", false, 0},
		{"# Exim filter\nif foranyaddress \"a@b, Joe <joe@example.com>\" ($thisaddress is joe@example.com) then testprint hit endif\n", "Testprint: hit\n", false, 0},
		{"# Exim filter\nfinish\ndeliver a@b\n", "Finish\n", false, 0},
		{"# Exim filter\nvacation\n", "Mail to: <default> (vacation)\nsubject: On vacation\n   file: .vacation.msg (expanded)\n    log: .vacation.log\n   once: .vacation\nonce_repeat: 7d\n", false, 0},
		{"# Exim filter\ntestprint \"a\\tb\\001\"\n", "Testprint: a\tb\\001\n", false, 0},
	}
	for _, tc := range tests {
		f, err := Parse(tc.src, false)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.src, err)
			continue
		}
		var out strings.Builder
		res, err := f.Run(testEnv(&out))
		if err != nil {
			t.Errorf("Run(%q): %v", tc.src, err)
			continue
		}
		if out.String() != tc.out || res.Significant != tc.significant || len(res.Deliveries) != tc.deliveries {
			t.Errorf("Run(%q) = %q significant=%v deliveries=%d, want %q %v %d",
				tc.src, out.String(), res.Significant, len(res.Deliveries), tc.out, tc.significant, tc.deliveries)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		src    string
		system bool
		want   string
	}{
		{"# Exim filter\nif foo then\n", false, `unrecognized condition word "then" near line 3 of filter file`},
		{"# Exim filter\nif a is b then\n", false, `"endif" missing at end of filter file`},
		{"# Exim filter\ndeliver\n", false, `"deliver" requires an argument near line 3 of filter file`},
		{"# Exim filter\nfreeze\n", false, `filtering command "freeze" is disabled: near line 3 of filter file`},
		{"# Exim filter\nfreeze\n", true, ``},
		{"# Exim filter\nelse\n", false, `unexpected "else" command near line 3 of filter file`},
		{"# Exim filter\ntestprint \"x\n", false, `quote missing at end of string in line 2`},
		{"# Exim filter\nif a is b foo\n", false, `"and" or "or" or "then" expected near line 3 of filter file, but found "foo"`},
		{"# Exim filter\nif (a is a then x\n", false, `missing ")" at end of condition near line 2 of filter file`},
		{"# Exim filter\n" + strings.Repeat("if a is a then\n", 1000), false, `conditions nested too deeply near line 201 of filter file`},
		{"# Exim filter\nif " + strings.Repeat("not ", 1000) + "a is a then endif\n", false, `conditions nested too deeply near line 2 of filter file`},
	}
	for _, tc := range tests {
		_, err := Parse(tc.src, tc.system)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("Parse(%.40q) error = %q, want %q", tc.src, got, tc.want)
		}
	}
}

func TestSplitAddresses(t *testing.T) {
	got := strings.Join(splitAddresses(`"Doe, J" <j@x>, k@y (K, kay), , <l@z>`), "|")
	if got != "j@x|k@y|l@z" {
		t.Errorf("splitAddresses = %q", got)
	}
}

func TestIsEximFilter(t *testing.T) {
	for s, want := range map[string]bool{"# Exim filter\n": true, "#exim FILTER": true, "  #   Exim   filter x": true, "# Sieve filter": false, "a@b": false} {
		if IsEximFilter(s) != want {
			t.Errorf("IsEximFilter(%q) != %v", s, want)
		}
	}
}

// FuzzParse checks that no filter text makes the parser or a run panic.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"# Exim filter\nif a is b then deliver x@y elif c matches d then save /x 600 else pipe \"/bin/x\" endif\n",
		"# Exim filter\nmail to a subject \"s\\x41\\101\" expand file f return message\nvacation\nadd 1 to n1\n",
		"# Exim filter\nif foranyaddress \"a,b\" (not ($thisaddress is a) or personal alias x) then finish endif\n",
		"# Exim filter\nheaders add \"x: y\"\nfail text t\nlogfile /x 0600\nlogwrite \"a\\\n  b\"\n"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, src string, system bool) {
		flt, err := Parse(src, system)
		if err != nil {
			return
		}
		var out strings.Builder
		flt.Run(testEnv(&out))
	})
}
