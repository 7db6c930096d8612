package queuecmd_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/cli"
)

// needExim skips when Exim is missing, but fails under CI=true.
func needExim(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range append([]string{"exim"}, names...) {
		if _, err := exec.LookPath(n); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is required in CI: %v", n, err)
			}
			t.Skipf("%s not installed: %v", n, err)
		}
	}
	if os.Getuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("oracle tests need root")
		}
		t.Skip("oracle tests need root")
	}
}

// makeSpool builds the varied test spool with real Exim.
func makeSpool(t *testing.T) (dir string, ids []string) {
	dir = t.TempDir()
	os.Chmod(dir, 0o755)
	out, err := exec.Command("bash", "testdata/mkspool.sh", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("mkspool: %v\n%s", err, out)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "ids"))
	return dir, strings.Fields(string(b))
}

func runExim(t *testing.T, conf string, args ...string) (string, int) {
	cmd := exec.Command("exim", append([]string{"-C", conf}, args...)...)
	var out bytes.Buffer
	cmd.Stdout = &out
	err := cmd.Run()
	rc := 0
	if ee, ok := err.(*exec.ExitError); ok {
		rc = ee.ExitCode()
	}
	return out.String(), rc
}

func runExigo(argv ...string) (string, int) {
	var out, errb bytes.Buffer
	rc := cli.Main(argv, strings.NewReader(""), &out, &errb)
	return out.String(), rc
}

// blocks sorts a listing's messages (for unsorted modes and exiqgrep,
// whose order is Perl's hash order).
func blocks(s string) string {
	lines := strings.Split(s, "\n")
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func TestListingAgainstExim(t *testing.T) {
	needExim(t)
	dir, ids := makeSpool(t)
	conf := filepath.Join(dir, "conf")
	cases := [][]string{
		{"-bp"}, {"-bpa"}, {"-bpu"}, {"-bpc"}, {"-bpr"}, {"-bpra"}, {"-bpru"},
		{"-bp", ids[0]}, {"-bp", ids[4], ids[1]}, {"-bpu", ids[5]}, {"-bpa", ids[15]},
		{"-bp", "1xWrpf-0004bL-99"}, {"-bp", ids[6], "1xWrpf-0004bL-99", ids[2]},
	}
	for _, c := range cases {
		t.Run(strings.Join(c, " "), func(t *testing.T) {
			want, wrc := runExim(t, conf, c...)
			got, grc := runExigo(append([]string{"exim", "-C", conf}, c...)...)
			if strings.HasPrefix(c[0], "-bpr") {
				want, got = blocks(want), blocks(got)
			}
			if want != got || wrc != grc {
				t.Errorf("exim rc=%d:\n%s\nexigo rc=%d:\n%s", wrc, want, grc, got)
			}
		})
	}
	t.Run("mailq", func(t *testing.T) {
		want, _ := runExim(t, conf, "-bp")
		got, _ := runExigo("mailq", "-C", conf)
		if want != got {
			t.Errorf("mailq differs from exim -bp:\n%s\n%s", want, got)
		}
	})
}

func TestExiqgrepAgainstPerl(t *testing.T) {
	needExim(t, "exiqgrep")
	dir, _ := makeSpool(t)
	conf := filepath.Join(dir, "conf")
	cases := []string{"-r d[0-9]", "-a -r d[0-9]", "-b -r d", "-b -a -r d", "-i -z", "-c -z",
		"-c -x", `-i -s ^2\.2K`, "-f ^<>$", "-c", "-i -o 10", "-c -y 100000", "-i -r C@EXAMPLE",
		"-b -f someone", "-x -i", "-z", "-R -i -f root", "-c -r nomatch", "-h", "-b -r many"}
	for _, c := range cases {
		for _, viaExim := range []bool{false, true} {
			name := c
			args := append([]string{"-C", conf}, strings.Fields(c)...)
			if viaExim {
				// Debian's exiqgrep with exigo as its -E binary.
				name += " (perl -E exigo)"
			}
			t.Run(name, func(t *testing.T) {
				want, _ := exec.Command("exiqgrep", args...).Output()
				var got string
				if viaExim {
					exe := buildExigo(t)
					b, _ := exec.Command("exiqgrep", append([]string{"-E", exe}, args...)...).Output()
					got = string(b)
				} else {
					got, _ = runExigo(append([]string{"exiqgrep"}, args...)...)
				}
				if blocks(string(want)) != blocks(got) {
					t.Errorf("perl:\n%s\nexigo:\n%s", want, got)
				}
			})
		}
	}
}

var exigoBin string

func buildExigo(t *testing.T) string {
	t.Helper()
	if exigoBin != "" {
		return exigoBin
	}
	p := filepath.Join(os.TempDir(), "exigo-queuecmd-test")
	os.Remove(p)
	out, err := exec.Command("go", "build", "-o", p, "../../cmd/exigo").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	exigoBin = p
	return p
}

var stamp = regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d `)

// TestMessageCommandsAgainstExim runs each -M command on two copies of
// one spool, with Exim and with exigo, and compares stdout, exit code,
// the new main log lines and the -H files afterwards.
func TestMessageCommandsAgainstExim(t *testing.T) {
	needExim(t)
	dir, ids := makeSpool(t)
	unknown := "1xWrpf-0004bL-99"
	cases := [][]string{
		{"-Mrm", ids[0]}, {"-Mrm", unknown}, {"-Mrm", ids[0], unknown, ids[1]},
		{"-Mf", ids[0]}, {"-Mf", ids[4]}, {"-Mf", unknown}, {"-Mf", ids[0], ids[1]},
		{"-Mt", ids[4]}, {"-Mt", ids[0]}, {"-Mt", ids[6], ids[4]},
		{"-Mvh", ids[0]}, {"-Mvb", ids[0]}, {"-Mvl", ids[0]}, {"-Mvc", ids[9]}, {"-Mvc", ids[0]},
		{"-Mvh", unknown}, {"-Mvb", unknown}, {"-Mvl", unknown}, {"-Mvh", ids[0], ids[1]},
		{"-Mar", ids[0], "new@example.com", "Other <x@y.example>"}, {"-Mar", ids[0], "bad@@"},
		{"-Mar", ids[0], "localonly"}, {"-Mar", unknown, "a@b.example"},
		{"-Mmd", ids[0], "a@example.com", "nothere@example.com"}, {"-Mmd", ids[5], "d1@example.com"},
		{"-Mmd", ids[3], "rcpt9@many.example", "rcpt1@many.example", "rcpt30@many.example", "rcpt2@many.example"},
		{"-Mmad", ids[3]}, {"-Mmad", ids[5], unknown, ids[0]}, {"-Mmad", ids[10]},
		{"-Mes", ids[0], "new@sender.example"}, {"-Mes", ids[0], "<>"}, {"-Mes", ids[0], "a@b.c", "d@e.f"},
		{"-Mes", ids[0], "bad@@"}, {"-M", unknown}, {"-Mg", unknown}, {"-Mg", ids[1]},
	}
	for _, c := range cases {
		t.Run(strings.Join(c, " "), func(t *testing.T) {
			a, b := copySpool(t, dir), copySpool(t, dir)
			wout, wrc := runExim(t, filepath.Join(a, "conf"), c...)
			gout, grc := runExigo(append([]string{"exim", "-C", filepath.Join(b, "conf")}, c...)...)
			if wout != gout || wrc != grc {
				t.Errorf("exim rc=%d:\n%s\nexigo rc=%d:\n%s", wrc, wout, grc, gout)
			}
			if w, g := newLog(a, dir), newLog(b, dir); w != g {
				t.Errorf("log lines:\nexim:\n%s\nexigo:\n%s", w, g)
			}
			if w, g := headers(a), headers(b); w != g {
				t.Errorf("-H files differ:\nexim:\n%s\nexigo:\n%s", w, g)
			}
		})
	}
}

// copySpool copies the test spool with its conf pointing at the copy.
func copySpool(t *testing.T, src string) string {
	dst := t.TempDir()
	if out, err := exec.Command("cp", "-a", src+"/.", dst).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	conf, _ := os.ReadFile(filepath.Join(src, "conf"))
	os.WriteFile(filepath.Join(dst, "conf"), bytes.ReplaceAll(conf, []byte(src), []byte(dst)), 0o644)
	return dst
}

// newLog returns the main log lines added since the copy, without time
// stamps and Exim's environment warning.
func newLog(dir, orig string) string {
	old, _ := os.ReadFile(filepath.Join(orig, "log", "mainlog"))
	cur, _ := os.ReadFile(filepath.Join(dir, "log", "mainlog"))
	added := strings.TrimPrefix(string(cur), string(old))
	var keep []string
	for _, l := range strings.Split(stamp.ReplaceAllString(added, ""), "\n") {
		if strings.Contains(l, "purging the environment") || strings.Contains(l, "Suggested action") {
			continue
		}
		keep = append(keep, strings.ReplaceAll(l, dir, "DIR"))
	}
	return strings.Join(keep, "\n")
}

// headers returns every -H file of a spool, frozen times masked.
func headers(dir string) string {
	files, _ := filepath.Glob(filepath.Join(dir, "spool", "input", "*-H"))
	sort.Strings(files)
	var b strings.Builder
	for _, f := range files {
		data, _ := os.ReadFile(f)
		b.WriteString(filepath.Base(f) + "\n")
		b.WriteString(regexp.MustCompile(`(?m)^-frozen \d+$`).ReplaceAllString(string(data), "-frozen T"))
	}
	return b.String()
}

// TestListingEmptySpoolAgainstExim: before the first message, when the
// spool has no input directory yet, the listings show an empty queue.
func TestListingEmptySpoolAgainstExim(t *testing.T) {
	needExim(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "conf")
	os.Chmod(dir, 0o755)
	text := "primary_hostname = test.example\nexim_user = root\nexim_group = root\nkeep_environment =\n" +
		"spool_directory = " + dir + "/spool\nlog_file_path = " + dir + "/%slog\n"
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range [][]string{{"-bp"}, {"-bpc"}, {"-bpr"}, {"-bpa"}, {"-bpu"}} {
		t.Run(c[0], func(t *testing.T) {
			os.RemoveAll(filepath.Join(dir, "spool"))
			want, wrc := runExim(t, conf, c...)
			os.RemoveAll(filepath.Join(dir, "spool"))
			got, grc := runExigo(append([]string{"exim", "-C", conf}, c...)...)
			if want != got || wrc != grc {
				t.Errorf("exim rc=%d:\n%q\nexigo rc=%d:\n%q", wrc, want, grc, got)
			}
		})
	}
}
