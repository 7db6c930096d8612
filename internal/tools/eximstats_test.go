package tools

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// statSections splits an eximstats text report into sections keyed by
// their underlined titles; the header line is the section "".
func statSections(s string) map[string]string {
	m := map[string]string{}
	lines := strings.Split(s, "\n")
	title := ""
	for i := 0; i < len(lines); i++ {
		if i+1 < len(lines) && lines[i] != "" && regexp.MustCompile(`^-+$`).MatchString(lines[i+1]) && len(lines[i+1]) == len(lines[i]) {
			title = lines[i]
			i++
			continue
		}
		m[title] += lines[i] + "\n"
	}
	return m
}

// TestEximstatsOracle compares each section exigo prints with the same
// section of /usr/sbin/eximstats' report on the same logs.
func TestEximstatsOracle(t *testing.T) {
	script := needScript(t, "eximstats")
	for _, args := range [][]string{
		{"testdata/logs/exim-run.log"},
		{"testdata/logs/synthetic.log"},
		{"testdata/logs/synthetic.log", "testdata/logs/exim-run.log"},
		{"-nvr", "testdata/logs/synthetic.log"},
		{"-h4", "testdata/logs/synthetic.log"},
		{"-h0", "-nt", "-ne", "testdata/logs/synthetic.log"},
		{"-h12", "testdata/logs/exim-run.log"},
	} {
		want, _, _ := runScript(t, ".", append([]string{script}, args...)...)
		var out, errb bytes.Buffer
		if code := RunEximstats(args, strings.NewReader(""), &out, &errb); code != 0 {
			t.Fatalf("%q: exit %d %s", args, code, errb.String())
		}
		got, ws := statSections(out.String()), statSections(want)
		for title, body := range got {
			if _, ok := ws[title]; !ok {
				t.Errorf("%q: section %q not in eximstats' report", args, title)
				continue
			}
			if strings.TrimRight(ws[title], "\n") != strings.TrimRight(body, "\n") {
				t.Errorf("%q: section %q\n got %q\nwant %q", args, title, body, ws[title])
			}
		}
	}
}
