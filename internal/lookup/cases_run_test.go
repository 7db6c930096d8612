package lookup

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

var printWant = flag.Bool("print-want", false, "print Exim's answers for lookupCases (to refresh want fields)")

func (c lookupCase) name() string {
	if c.file != "" {
		return fmt.Sprintf("%s{%s}{%s}", c.typ, c.key, filepath.Base(c.file))
	}
	return fmt.Sprintf("%s{%s}", c.typ, c.query)
}

func (c lookupCase) run(r *Registry, dir string) string {
	d := func(s string) string { return strings.ReplaceAll(s, "DIR", dir) }
	if c.file != "" {
		return render(r.Find(d(c.typ), d(c.file), d(c.key), testExpander))
	}
	return render(r.Query(d(c.typ), d(c.query), testExpander))
}

// expr is the Exim expansion that shows the same result as render.
func (c lookupCase) expr(dir string) string {
	d := func(s string) string { return eximQuote(strings.ReplaceAll(s, "DIR", dir)) }
	if c.file != "" {
		return fmt.Sprintf("${lookup{%s}%s{%s}{F<$value>}{N}}", d(c.key), d(c.typ), d(c.file))
	}
	return fmt.Sprintf("${lookup %s{%s}{F<$value>}{N}}", d(c.typ), d(c.query))
}

func TestLookupCases(t *testing.T) {
	dir := fixture(t)
	r := New(Options{SQLiteDBFile: filepath.Join(dir, "db.sqlite")})
	for _, c := range lookupCases {
		got := c.run(r, dir)
		want := strings.ReplaceAll(c.want, "DIR", dir)
		if got != want {
			t.Errorf("%s:\n got %q\nwant %q", c.name(), got, want)
		}
	}
}

// TestLookupOracle runs every case through real Exim (one exim -be with
// an argument per case) and compares its answers with exigo's.
func TestLookupOracle(t *testing.T) {
	exim := oracletest.Exim(t)
	dir := fixture(t)
	conf := filepath.Join(dir, "exim.conf")
	if err := os.WriteFile(conf, []byte("sqlite_dbfile = "+filepath.Join(dir, "db.sqlite")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var exprs []string
	for _, c := range lookupCases {
		exprs = append(exprs, c.expr(dir))
	}
	answers := eximBatch(t, exim, conf, exprs)
	r := New(Options{SQLiteDBFile: filepath.Join(dir, "db.sqlite")})
	for i, c := range lookupCases {
		want := answers[i]
		if *printWant {
			fmt.Printf("%s\t%q\n", c.name(), strings.ReplaceAll(want, dir, "DIR"))
		}
		got := c.run(r, dir)
		if c.stale {
			got, want = got[:strings.LastIndex(got, ": ")], want[:max(strings.LastIndex(want, ": "), 0)]
		}
		if got != want {
			t.Errorf("%s:\n exigo %q\n  exim %q", c.name(), got, want)
		}
	}
}

// eximBatch expands exprs with one "exim -C conf -be expr..." run and
// returns each result: a success is printed as "@@<n> value" (the value may
// span lines), a failure as a "Failed: ..." line without the marker.
func eximBatch(t *testing.T, exim, conf string, exprs []string) []string {
	t.Helper()
	args := []string{"-C", conf, "-be"}
	for i, e := range exprs {
		args = append(args, fmt.Sprintf("@@%d %s", i, e))
	}
	res := oracletest.Run(t, exim, "", args...)
	out := make([]string, len(exprs))
	cur := -1
	for _, line := range strings.Split(strings.TrimSuffix(res.Stdout, "\n"), "\n") {
		var n int
		if _, err := fmt.Sscanf(line, "@@%d ", &n); err == nil && n == cur+1 {
			cur = n
			out[cur] = strings.TrimPrefix(line, fmt.Sprintf("@@%d ", n))
			continue
		}
		if strings.HasPrefix(line, "Failed: ") && cur+1 < len(out) {
			cur++
			out[cur] = line
			continue
		}
		if cur >= 0 {
			out[cur] += "\n" + line
		}
	}
	if cur != len(exprs)-1 {
		t.Fatalf("exim gave %d answers for %d expressions; stdout:\n%s\nstderr:\n%s", cur+1, len(exprs), res.Stdout, res.Stderr)
	}
	return out
}
