package tools

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// logSet returns the files of dir with their (decompressed) contents and
// permission bits.
func logSet(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(p, ".gz") {
			z, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			b, _ = io.ReadAll(z)
		}
		fi, _ := e.Info()
		m[e.Name()] = fmt.Sprintf("%o %s", fi.Mode().Perm(), b)
	}
	return m
}

// fillLogs makes a log directory with the live logs and some older
// generations, plain and compressed.
func fillLogs(t *testing.T, dir, pattern string, old []string) {
	t.Helper()
	for _, w := range []string{"main", "reject", "panic"} {
		name := strings.Replace(pattern, "%s", w, 1)
		os.WriteFile(filepath.Join(dir, name), []byte(w+" live\n"), 0o644)
		for _, o := range old {
			p := filepath.Join(dir, name+"."+o)
			if strings.HasSuffix(o, ".gz") {
				var b bytes.Buffer
				z := gzip.NewWriter(&b)
				z.Write([]byte(w + " " + o + "\n"))
				z.Close()
				os.WriteFile(p, b.Bytes(), 0o640)
			} else {
				os.WriteFile(p, []byte(w+" "+o+"\n"), 0o640)
			}
		}
	}
}

// TestExicyclogOracle rotates copies of the same log directory with
// /usr/sbin/exicyclog and with exigo's and compares the file sets.
func TestExicyclogOracle(t *testing.T) {
	script := needScript(t, "exicyclog")
	for i, c := range []struct {
		pattern string
		keep    string
		old     []string
	}{
		{"%slog", "", nil},
		{"%slog", "", []string{"01", "02.gz", "03.gz"}},
		{"%slog", "3", []string{"01", "02.gz", "03.gz", "04.gz"}},
		{"%s.log", "5", []string{"01", "02", "03.gz", "05.gz"}},
		{"exim-%s", "1", []string{"01"}},
		{"%slog", "12", []string{"01", "02.gz", "09.gz", "10.gz", "11.gz", "12.gz"}},
		{"%slog", "100", []string{"001", "002.gz", "099.gz", "100.gz"}},
		{"%slog", "", []string{"01", "02", "10", "10.gz"}},
	} {
		a, b := t.TempDir(), t.TempDir()
		fillLogs(t, a, c.pattern, c.old)
		fillLogs(t, b, c.pattern, c.old)
		args := []string{"-l", a + "/" + c.pattern}
		if c.keep != "" {
			args = append(args, "-k", c.keep)
		}
		out, errs, code := runScript(t, a, append([]string{script}, args...)...)
		o, _, _, _, ok := ParseExicyclog(append([]string{"-l", b + "/" + c.pattern}, args[2:]...))
		if !ok {
			t.Fatalf("case %d: options refused", i)
		}
		var gout, gerr bytes.Buffer
		gcode := Exicyclog(o, &gout, &gerr)
		if gcode != code || gout.String() != out {
			t.Errorf("case %d: exit %d %q, want %d %q (%s)", i, gcode, gout.String(), code, out, errs)
		}
		want, got := logSet(t, a), logSet(t, b)
		if !reflect.DeepEqual(got, want) {
			var names []string
			for n := range want {
				names = append(names, n)
			}
			sort.Strings(names)
			t.Errorf("case %d: files\n got %v\nwant %v", i, got, want)
		}
	}
}

// TestExicyclogOptions checks the option errors and the syslog refusal.
func TestExicyclogOptions(t *testing.T) {
	if _, _, msg, code, ok := ParseExicyclog([]string{"-x"}); ok || code != 1 || msg != "** exicyclog: unknown option -x\n" {
		t.Errorf("-x: %q %d", msg, code)
	}
	var out bytes.Buffer
	if code := Exicyclog(ExicyclogOptions{LogFilePath: "syslog", Keep: 10}, &out, &out); code != 1 || out.String() != "*** Exim is logging to syslog - no log files to cycle ***\n" {
		t.Errorf("syslog: %d %q", code, out.String())
	}
	dir := t.TempDir()
	if code := Exicyclog(ExicyclogOptions{LogFilePath: "syslog : " + dir + "/%slog", Keep: 10}, &out, &out); code != 0 {
		t.Errorf("syslog+file: %d", code)
	}
}
