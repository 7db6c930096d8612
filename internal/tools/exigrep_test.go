package tools

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestExigrepOracle runs /usr/sbin/exigrep and exigo's exigrep on the
// same logs with the same options and compares the output: byte for
// byte up to the "has not completed" trailer, whose order is Perl's hash
// order and so is compared as a set.
func TestExigrepOracle(t *testing.T) {
	script := needScript(t, "exigrep")
	os.Setenv("TZ", "UTC")
	time.Local = time.UTC
	cases := [][]string{
		{"example.com", "testdata/logs/synthetic.log"},
		{"-I", "Example.ORG", "testdata/logs/synthetic.log"},
		{"EXAMPLE.ORG", "testdata/logs/synthetic.log"},
		{"-l", "[192.0.2.1]", "testdata/logs/synthetic.log"},
		{"-v", "dest.example", "testdata/logs/synthetic.log"},
		{"-v", "-I", "Dest", "testdata/logs/synthetic.log"},
		{"-t", "100", ".", "testdata/logs/synthetic.log"},
		{"-t", "0", "example", "testdata/logs/synthetic.log"},
		{"--queue-time=3000", "x@", "testdata/logs/synthetic.log"},
		{"rejected", "testdata/logs/synthetic.log"},
		{"syslog|frac", "testdata/logs/synthetic.log"},
		{"timeout", "testdata/logs/synthetic.log"},
		{"^2023-11-1[45] 2", "testdata/logs/synthetic.log"},
		{"user9", "testdata/logs/exim-run.log"},
		{"-M", "failme", "testdata/logs/exim-run.log"},
		{"--related", "src1", "testdata/logs/exim-run.log"},
		{"failme", "testdata/logs/exim-run.log"},
		{"Frozen", "testdata/logs/exim-run.log"},
		{"10.0.0", "testdata/logs/exim-run.log.bz2", "testdata/logs/synthetic.log.gz"},
		{"-v", "Connection refused", "testdata/logs/exim-run.log"},
		{"queue run", "testdata/logs/exim-run.log"},
		{"no-such-thing", "testdata/logs/exim-run.log"},
		{"x", "testdata/logs/missing.log"},
		{},
		{"-Z", "x"},
		{"-t5", "x"},
		{"example.com", "testdata/logs/synthetic.log", "--invert"},
	}
	for _, args := range cases {
		wantOut, wantErr, wantCode := runScript(t, ".", append([]string{script}, args...)...)
		var out, errb bytes.Buffer
		code := RunExigrep(args, strings.NewReader(""), &out, &errb)
		if code != wantCode || errb.String() != wantErr {
			t.Errorf("%q: exit %d stderr %q, want %d %q", args, code, errb.String(), wantCode, wantErr)
		}
		got, want := out.String(), wantOut
		gi, wi := strings.Index(got, "+++ "), strings.Index(want, "+++ ")
		if gi < 0 || wi < 0 {
			if got != want {
				t.Errorf("%q: output differs\n got %q\nwant %q", args, got, want)
			}
			continue
		}
		if got[:gi] != want[:wi] || !reflect.DeepEqual(groups(got[gi:]), groups(want[wi:])) {
			t.Errorf("%q: output differs\n got %q\nwant %q", args, got, want)
		}
	}
}
