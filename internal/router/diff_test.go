package router_test

// Differential -bt/-bv tests: each file in testdata/bt is one case, run
// through real Exim and through exigo; standard output and the exit code
// must be the same.
//
// # Case file format
//
//	args: -bt a@b c        the command line after -C (split on spaces)
//	--- config             the configuration (TESTDIR is the case's temp dir)
//	--- file NAME          a file written into the temp dir
//
// Lines before the first "---" other than "args:" are comments.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

type btCase struct {
	args   []string
	config string
	files  map[string]string
}

func parseCase(t *testing.T, text string) btCase {
	c := btCase{files: map[string]string{}}
	cur := ""
	var b strings.Builder
	flush := func() {
		switch {
		case cur == "config":
			c.config = b.String()
		case strings.HasPrefix(cur, "file "):
			c.files[strings.TrimPrefix(cur, "file ")] = b.String()
		}
		b.Reset()
	}
	for _, line := range strings.SplitAfter(text, "\n") {
		if strings.HasPrefix(line, "--- ") {
			flush()
			cur = strings.TrimSpace(line[4:])
			continue
		}
		if cur == "" {
			if strings.HasPrefix(line, "args:") {
				c.args = strings.Fields(line[5:])
			}
			continue
		}
		b.WriteString(line)
	}
	flush()
	if c.config == "" || len(c.args) == 0 {
		t.Fatal("case needs args and a config")
	}
	return c
}

func run(bin, dir string, args []string) (string, int) {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "RD=" + os.Getenv("NOPE")}
	out, err := cmd.Output()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	return string(out), code
}

func TestDifferentialBT(t *testing.T) {
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	files, _ := filepath.Glob("testdata/bt/*.txt")
	if len(files) == 0 {
		t.Fatal("no cases")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".txt")
		t.Run(name, func(t *testing.T) {
			text, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			c := parseCase(t, string(text))
			dir, err := os.MkdirTemp("", "exigo-bt-")
			if err != nil {
				t.Fatal(err)
			}
			defer os.RemoveAll(dir)
			os.Chmod(dir, 0o755)
			for n, body := range c.files {
				if err := os.WriteFile(filepath.Join(dir, n), []byte(strings.ReplaceAll(body, "TESTDIR", dir)), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			conf := filepath.Join(dir, "exim.conf")
			if err := os.WriteFile(conf, []byte(strings.ReplaceAll(c.config, "TESTDIR", dir)), 0o644); err != nil {
				t.Fatal(err)
			}
			args := append([]string{"-C", conf}, c.args...)
			wantOut, wantCode := run(exim, dir, args)
			gotOut, gotCode := run(exigo, dir, args)
			if gotOut != wantOut || gotCode != wantCode {
				t.Errorf("exim -C %s %s\n--- exim (rc=%d):\n%s--- exigo (rc=%d):\n%s", conf, strings.Join(c.args, " "), wantCode, wantOut, gotCode, gotOut)
			}
		})
	}
}
