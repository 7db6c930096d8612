package expand_test

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// TestDifferential runs every expression in testdata/diff/*.txt through
// "exim -be" and "exigo -be" with the same configuration and compares the
// output. A case file holds one expression per line; "#" lines are
// comments, except "#mask REGEX", which replaces matches of REGEX with
// "<masked>" in both outputs (for times, pids and the like). NAME.conf
// beside NAME.txt is the configuration, default.conf otherwise. The macro
// TESTDATA names the absolute path of testdata/diff/files. With NAME.eml
// beside NAME.txt, the expressions run under -bem with that message.
func TestDifferential(t *testing.T) {
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	files, err := filepath.Glob("testdata/diff/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	data, err := filepath.Abs("testdata/diff/files")
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".txt")
		cases, masks := readCases(t, f)
		total += len(cases)
		t.Run(name, func(t *testing.T) {
			conf := strings.TrimSuffix(f, ".txt") + ".conf"
			if _, err := os.Stat(conf); err != nil {
				conf = "testdata/diff/default.conf"
			}
			conf, _ = filepath.Abs(conf)
			args := []string{"-C", conf, "-DTESTDATA=" + data, "-be"}
			if eml, err := filepath.Abs(strings.TrimSuffix(f, ".txt") + ".eml"); err == nil {
				if _, err := os.Stat(eml); err == nil {
					args = []string{"-C", conf, "-DTESTDATA=" + data, "-bem", eml}
				}
			}
			want := oracletest.Run(t, exim, "", append(args, cases...)...)
			got := oracletest.Run(t, exigo, "", append(args, cases...)...)
			if mask(want.Stdout, masks) == mask(got.Stdout, masks) && want.Code == got.Code {
				return
			}
			// Find the cases that differ.
			for _, c := range cases {
				w := oracletest.Run(t, exim, "", append(args, c)...)
				g := oracletest.Run(t, exigo, "", append(args, c)...)
				if mask(w.Stdout, masks) != mask(g.Stdout, masks) {
					t.Errorf("%s: %q\n exim:  %q\n exigo: %q", name, c, w.Stdout, g.Stdout)
				}
			}
			if want.Code != got.Code {
				t.Errorf("%s: exit code exim %d, exigo %d", name, want.Code, got.Code)
			}
		})
	}
	t.Logf("%d expansion cases in %d files", total, len(files))
}

func readCases(t *testing.T, path string) (cases []string, masks []*regexp.Regexp) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m, ok := strings.CutPrefix(line, "#mask "); ok {
			masks = append(masks, regexp.MustCompile(m))
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cases = append(cases, line)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases, masks
}

func mask(s string, masks []*regexp.Regexp) string {
	for _, m := range masks {
		s = m.ReplaceAllString(s, "<masked>")
	}
	return s
}
