package tools

import (
	"bytes"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

// needScript returns the path of one of Debian's companion scripts, or
// skips the test when it is missing (and fails when CI=true).
func needScript(t *testing.T, name string) string {
	t.Helper()
	p := "/usr/sbin/" + name
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is needed under CI: %v", p, err)
		}
		t.Skipf("%s not installed", p)
	}
	return p
}

// runScript runs a Debian script and returns its stdout, stderr and exit code.
func runScript(t *testing.T, dir string, argv ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TZ=UTC")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%v: %v", argv, err)
	}
	return out.String(), errb.String(), code
}

// groups splits exigrep output into its blank-line separated groups,
// sorted, for comparisons where Perl's hash order decides the order.
func groups(s string) []string {
	g := strings.Split(s, "\n\n")
	sort.Strings(g)
	return g
}
