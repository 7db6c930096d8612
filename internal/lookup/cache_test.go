package lookup

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/debug"
	"github.com/exigo-mta/exigo/internal/oracletest"
)

// cacheSteps is a sequence of lookups and file changes whose results show
// Exim's caching (spec 9.8). A step with a key looks it up in c.txt; a
// step with write replaces the file in place; a step with rename replaces
// it by renaming a new file over it.
var cacheSteps = []struct {
	typ, key      string
	write, rename string
	want          string
}{
	{typ: "lsearch", key: "k", want: "old"},
	{write: "k new\nj jnew\n"},
	{typ: "lsearch", key: "k", want: "old"},             // cached
	{typ: "lsearch", key: "j", want: "jnew"},            // not cached: reads the open file
	{typ: "lsearch,cache=no_rd", key: "k", want: "new"}, // skips the cache ...
	{typ: "lsearch", key: "k", want: "new"},             // ... and refreshes it
	{rename: "k renamed\nz zz\n"},                       // replaced by rename
	{typ: "lsearch", key: "z", want: "nf"},              // the old file is still open
	{typ: "lsearch", key: "K", want: "new"},             // a new key, read from the old file
	{typ: "lsearch,ret=full", key: "k", want: "k new"},  // options that change the result are part of the key
}

func runCacheSteps(t *testing.T, r *Registry, file string) []string {
	var out []string
	for _, s := range cacheSteps {
		switch {
		case s.write != "":
			if err := os.WriteFile(file, []byte(s.write), 0o644); err != nil {
				t.Fatal(err)
			}
		case s.rename != "":
			tmp := file + ".new"
			if err := os.WriteFile(tmp, []byte(s.rename), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, file); err != nil {
				t.Fatal(err)
			}
		default:
			v, ok, err := r.Find(s.typ, file, s.key, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				v = "nf"
			}
			out = append(out, v)
		}
	}
	return out
}

func wantCache() []string {
	var w []string
	for _, s := range cacheSteps {
		if s.key != "" {
			w = append(w, s.want)
		}
	}
	return w
}

func TestCacheBehaviour(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "c.txt", "k old\n")
	r := New(Options{})
	got := runCacheSteps(t, r, file)
	if strings.Join(got, "|") != strings.Join(wantCache(), "|") {
		t.Errorf("got  %q\nwant %q", got, wantCache())
	}
	r.Flush()
	if v, _, _ := r.Find("lsearch", file, "z", nil); v != "zz" {
		t.Errorf("after Flush: got %q, want the new file's zz", v)
	}
}

// TestCacheOracle runs the same steps in one Exim process (file changes
// done with ${run}) and compares.
func TestCacheOracle(t *testing.T) {
	exim := oracletest.Exim(t)
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	file := writeFile(t, dir, "c.txt", "k old\n")
	conf := writeFile(t, dir, "exim.conf", "\n")
	var in strings.Builder
	for _, s := range cacheSteps {
		switch {
		case s.write != "":
			writeFile(t, dir, "w1", s.write)
			in.WriteString("${run{/bin/cp " + filepath.Join(dir, "w1") + " " + file + "}{}}\n")
		case s.rename != "":
			writeFile(t, dir, "w2", s.rename)
			in.WriteString("${run{/bin/mv " + filepath.Join(dir, "w2") + " " + file + "}{}}\n")
		default:
			in.WriteString("${lookup{" + s.key + "}" + s.typ + "{" + file + "}{$value}{nf}}\n")
		}
	}
	res := oracletest.Run(t, exim, in.String(), "-C", conf, "-be")
	var got []string
	for _, l := range strings.Split(res.Stdout, "\n") {
		l = strings.TrimPrefix(l, "> ")
		if l != "" && l != ">" {
			got = append(got, l)
		}
	}
	if strings.Join(got, "|") != strings.Join(wantCache(), "|") {
		t.Errorf("exim gave %q\nwant      %q\nstderr %s", got, wantCache(), res.Stderr)
	}
}

func TestOpenMax(t *testing.T) {
	dir := t.TempDir()
	r := New(Options{OpenMax: 2})
	var files []string
	for _, n := range []string{"a", "b", "c"} {
		files = append(files, writeFile(t, dir, n, "k "+n+"\n"))
	}
	for _, f := range files {
		if _, ok, err := r.Find("lsearch", f, "k", nil); !ok || err != nil {
			t.Fatalf("%s: %v %v", f, ok, err)
		}
	}
	if len(r.files) != 2 {
		t.Errorf("%d files open, want 2", len(r.files))
	}
	if _, ok := r.files[fileID{"lsearch", files[0]}]; ok {
		t.Errorf("least recently used file still open")
	}
}

func TestDebugLines(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "l", "*.fict.example: p\n")
	var buf bytes.Buffer
	r := New(Options{Debug: debug.New(debug.Lookup, &buf)})
	r.Find("partial-lsearch", file, "a.fict.example", nil)
	r.Find("partial-lsearch", file, "a.fict.example", nil)
	for _, want := range []string{"trying partial match *.fict.example", "file lookup required for *.fict.example", "cached data used for lookup of *.fict.example", "lookup yielded: p"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("debug output lacks %q:\n%s", want, buf.String())
		}
	}
}

// TestNoCache checks that a registry with NoCache (a long-lived daemon)
// sees every change: no result is reused and no file is kept open.
func TestNoCache(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "c.txt", "k old\n")
	r := New(Options{NoCache: true})
	var got []string
	for _, s := range cacheSteps {
		switch {
		case s.write != "":
			writeFile(t, dir, "c.txt", s.write)
		case s.rename != "":
			writeFile(t, dir, "w2", s.rename)
			if err := os.Rename(filepath.Join(dir, "w2"), file); err != nil {
				t.Fatal(err)
			}
		default:
			v, found, err := r.Find(s.typ, file, s.key, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !found {
				v = "nf"
			}
			got = append(got, v)
		}
	}
	want := []string{"old", "new", "jnew", "new", "new", "zz", "renamed", "k renamed"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
