package smtpserver_test

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// A -bh case file (testdata/bh/NAME.txt) has three parts:
//
//	#ip 10.0.0.1          (optional; the -bh argument)
//	#args -oMt alice      (optional; more arguments after -bh IP)
//	#conf                 the configuration, up to #script
//	#script               the client's lines, each sent with CRLF;
//	                      a line "#raw "text"" sends a Go-quoted string
//	                      as is (bare LF, no line ending...)
//	#known-diff REASON    exigo is known to differ: the case is skipped
//	                      with the reason (and fails once it matches,
//	                      so that the mark is removed)
//	#merged               standard output and standard error go to one
//	                      pipe and are compared as one stream: where the
//	                      replies fall among the ">>>" lines (replies
//	                      wait in a buffer that is written only before
//	                      input is read)
type bhCase struct {
	ip, conf, script, known string
	args                    []string
	merged                  bool
}

func parseCase(t *testing.T, text string) bhCase {
	c := bhCase{ip: "10.0.0.1"}
	part := ""
	var conf, script strings.Builder
	for _, line := range strings.SplitAfter(text, "\n") {
		trim := strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(trim, "#ip "):
			c.ip = strings.TrimSpace(trim[4:])
			continue
		case strings.HasPrefix(trim, "#args "):
			c.args = strings.Fields(trim[6:])
			continue
		case trim == "#merged":
			c.merged = true
			continue
		case strings.HasPrefix(trim, "#known-diff "):
			c.known = strings.TrimSpace(trim[12:])
			continue
		case trim == "#conf":
			part = "conf"
			continue
		case trim == "#script":
			part = "script"
			continue
		}
		switch part {
		case "conf":
			conf.WriteString(line)
		case "script":
			if strings.HasPrefix(trim, "#raw ") {
				s, err := strconv.Unquote(trim[5:])
				if err != nil {
					t.Fatalf("bad #raw line %q: %v", trim, err)
				}
				script.WriteString(s)
				continue
			}
			if line == "" {
				continue
			}
			script.WriteString(trim + "\r\n")
		}
	}
	c.conf, c.script = conf.String(), script.String()
	return c
}

var (
	maskDate = regexp.MustCompile(`[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [-+]\d{4}`)
	maskID   = regexp.MustCompile(`\b[0-9A-Za-z]{6}-[0-9A-Za-z]{6}-[0-9A-Za-z]{2}\b`)
	// log_selector +millisec and +pid leave the milliseconds and the
	// process id at the start of -bh's "LOG: " lines; D= is a duration.
	maskLogMS  = regexp.MustCompile(`(?m)^LOG: \d{3} `)
	maskLogPID = regexp.MustCompile(`(?m)^LOG: (<MS> )?\[\d+\] `)
	maskDur    = regexp.MustCompile(`\bD=[0-9.hms]+`)
)

func normalize(s string) string {
	s = maskDate.ReplaceAllString(s, "<DATE>")
	s = maskID.ReplaceAllString(s, "<ID>")
	s = maskLogMS.ReplaceAllString(s, "LOG: <MS> ")
	s = maskLogPID.ReplaceAllString(s, "LOG: $1[<PID>] ")
	s = maskDur.ReplaceAllString(s, "D=<T>")
	return sortUnspool(s)
}

// sortUnspool sorts each run of "unspool_mbox(): unlinking" lines: Exim
// removes the scan directory's files in directory order, which depends
// on the file system.
func sortUnspool(s string) string {
	lines := strings.Split(s, "\n")
	for i := 0; i < len(lines); {
		j := i
		for j < len(lines) && strings.HasPrefix(lines[j], ">>> unspool_mbox(): ") {
			j++
		}
		if j > i {
			sort.Strings(lines[i:j])
			i = j
			continue
		}
		i++
	}
	return strings.Join(lines, "\n")
}

// writeCaseConfig writes a case's configuration. "@DIR@" in it stands
// for a directory of the case's own that Exim's user may write to (for
// spool_directory).
func writeCaseConfig(t *testing.T, conf string) string {
	t.Helper()
	if !strings.Contains(conf, "@DIR@") {
		return oracletest.WriteConfig(t, conf)
	}
	// t.TempDir's parent is not open to other users.
	dir, err := os.MkdirTemp("", "exigo-bh-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "exim.conf")
	if err := os.WriteFile(p, []byte(strings.ReplaceAll(conf, "@DIR@", dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDifferentialBH runs every case through exim -bh and exigo -bh and
// compares standard output and standard error, masked.
func TestDifferentialBH(t *testing.T) {
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	files, _ := filepath.Glob("testdata/bh/*.txt")
	if len(files) == 0 {
		t.Fatal("no cases")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".txt")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			c := parseCase(t, string(b))
			conf := writeCaseConfig(t, c.conf)
			args := append([]string{"-C", conf, "-bh", c.ip}, c.args...)
			if c.merged {
				want, wantCode := oracletest.RunMerged(t, exim, c.script, args...)
				got, gotCode := oracletest.RunMerged(t, exigo, c.script, args...)
				if w, g := normalize(want), normalize(got); w != g || wantCode != gotCode {
					t.Errorf("output differs\n--- exim (rc=%d)\n%s\n--- exigo (rc=%d)\n%s", wantCode, w, gotCode, g)
				}
				return
			}
			want := oracletest.Run(t, exim, c.script, args...)
			got := oracletest.Run(t, exigo, c.script, args...)
			same := normalize(want.Stdout) == normalize(got.Stdout) && normalize(want.Stderr) == normalize(got.Stderr)
			if c.known != "" {
				if same {
					t.Fatalf("case now matches Exim: remove its #known-diff line")
				}
				t.Skipf("known difference: %s", c.known)
			}
			if w, g := normalize(want.Stdout), normalize(got.Stdout); w != g {
				t.Errorf("stdout differs\n--- exim\n%s\n--- exigo\n%s", w, g)
			}
			if w, g := normalize(want.Stderr), normalize(got.Stderr); w != g {
				t.Errorf("stderr differs\n--- exim\n%s\n--- exigo\n%s", w, g)
			}
			if want.Code != got.Code {
				t.Errorf("exit code: exim %d, exigo %d", want.Code, got.Code)
			}
		})
	}
}
