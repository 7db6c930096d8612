package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

func TestQuoteArg(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain", "plain"},
		{"", `""`},
		{"x y", `"x y"`},
		{"x\ty", "\"x\ty\""},
		{`a"b`, `a"b`},
		{"é", `\303\251`},
		{"a\x01b\nc\rd", `a\001b\nc\rd`},
	} {
		if got := quoteArg(c.in); got != c.want {
			t.Errorf("quoteArg(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// argsLine matches the arguments line; its first group is argv[0], which
// differs between the two programs.
var argsLine = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (cwd=\S+ \d+ args: )(\S+)(.*)$`)

// TestArgumentsLogDifferential runs Exim and exigo with log_selector =
// +arguments in modes that log the command line and modes that do not,
// and compares the "cwd=... N args: ..." lines of the main log (and of
// standard error for -bV), argv[0] aside.
func TestArgumentsLogDifferential(t *testing.T) {
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	calls := [][]string{
		{"-bpc", "x\ty", `a"b`, "é", "a\x01b\nc\rd", ""},
		{"-bp"},
		{"-bV"},
		{"-bt", "someone@test.example"},
		{"-be", "1"},
		{"-bP", "log_selector"},
		{"-bh", "10.0.0.1"},
	}
	run := func(bin string) []string {
		dir, err := os.MkdirTemp("", "exigo-args-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		os.Chmod(dir, 0o777)
		conf := filepath.Join(dir, "conf")
		os.WriteFile(conf, []byte("spool_directory = "+dir+"\nlog_file_path = "+dir+"/%slog\n"+
			"log_selector = +arguments\nkeep_environment =\nprimary_hostname = test.example\n"), 0o644)
		var out []string
		for _, c := range calls {
			r := oracletest.Run(t, bin, "QUIT\r\n", append([]string{"-C", conf}, c...)...)
			for _, l := range strings.Split(r.Stderr, "\n") {
				if m := argsLine.FindStringSubmatch(l); m != nil {
					out = append(out, "stderr: "+m[1]+"ARGV0"+strings.ReplaceAll(m[3], dir, "DIR"))
				}
			}
		}
		b, _ := os.ReadFile(filepath.Join(dir, "mainlog"))
		for _, l := range strings.Split(string(b), "\n") {
			if m := argsLine.FindStringSubmatch(l); m != nil {
				out = append(out, "mainlog: "+strings.ReplaceAll(m[1], dir, "DIR")+"ARGV0"+strings.ReplaceAll(m[3], dir, "DIR"))
			}
		}
		return out
	}
	want, got := run(exim), run(exigo)
	if len(want) < 3 {
		t.Fatalf("Exim wrote too few arguments lines: %q", want)
	}
	if strings.Join(want, "\n") != strings.Join(got, "\n") {
		t.Errorf("arguments lines differ\n--- exim\n%s\n--- exigo\n%s", strings.Join(want, "\n"), strings.Join(got, "\n"))
	}
}
