// Package oracletest runs exigo and real Exim 4.96 (the oracle) side by side
// for differential tests. Tests that need Exim skip when it is missing,
// except under CI (CI=true), where a missing oracle is a failure.
package oracletest

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Result is what one run of a binary produced.
type Result struct {
	Stdout string
	Stderr string
	Code   int
}

// Exim returns the path of the real Exim binary, or skips the test (fails
// it when CI=true) when Exim is not installed.
func Exim(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"/usr/sbin/exim4", "/usr/sbin/exim"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	Missing(t, "real Exim (apt-get install exim4-daemon-heavy)")
	return ""
}

// Missing skips the test because tool is not installed, or fails it when
// running under CI.
func Missing(t testing.TB, tool string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required under CI but missing", tool)
	}
	t.Skipf("%s not installed", tool)
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// Exigo builds the exigo command once per test binary and returns its path.
func Exigo(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "exigo-bin-")
		if err != nil {
			buildErr = err
			return
		}
		// A daemon started as root runs the binary again as exim_user
		// and as delivery users: they must reach it.
		os.Chmod(dir, 0o755)
		buildPath = filepath.Join(dir, "exigo")
		cmd := exec.Command("go", "build", "-o", buildPath, "github.com/exigo-mta/exigo/cmd/exigo")
		cmd.Dir = moduleRoot()
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = errors.New("building exigo: " + err.Error() + "\n" + string(out))
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Run runs bin with args and the given standard input (and an environment
// with TZ fixed to UTC so dates compare), with a 60-second limit.
func Run(t testing.TB, bin, stdin string, args ...string) Result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(t, bin, stdin, &out, &errb, args)
	return Result{Stdout: out.String(), Stderr: errb.String(), Code: code}
}

// RunMerged is Run with standard output and standard error on one pipe:
// it returns what bin wrote to both, in the order written, and its exit
// code.
func RunMerged(t testing.TB, bin, stdin string, args ...string) (string, int) {
	t.Helper()
	var out bytes.Buffer
	code := run(t, bin, stdin, &out, &out, args)
	return out.String(), code
}

func run(t testing.TB, bin, stdin string, stdout, stderr *bytes.Buffer, args []string) int {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.Env = append(os.Environ(), "TZ=UTC")
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%s %v: timed out", bin, args)
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %s: %v", bin, err)
	}
	return code
}

// WriteConfig writes a configuration file into a new temporary directory
// (mode 0755, so deliveries running as other users can read it) and
// returns its absolute path.
func WriteConfig(t testing.TB, text string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "exim.conf")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// WorkDir makes a directory for one run of a binary, removed when the
// test ends: mode 0755 outside t.TempDir (whose parents the Exim user
// cannot reach), with the named sub-directories (spool, log, ...) owned
// by Debian's Exim user when it exists (else open to all), so that Exim
// and exigo can write them after dropping root.
func WorkDir(t testing.TB, prefix string, subs ...string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	uid, gid := -1, -1
	if u, err := user.Lookup("Debian-exim"); err == nil {
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
	}
	for _, sub := range subs {
		p := filepath.Join(dir, sub)
		if err := os.MkdirAll(p, 0o750); err != nil {
			t.Fatal(err)
		}
		if uid >= 0 {
			os.Chown(p, uid, gid)
		} else {
			os.Chmod(p, 0o777)
		}
	}
	return dir
}

// EximUser returns the uid and gid of Debian's Exim user, which the
// comparisons that give the spool to the Exim user need, with root to
// do so; it skips the test (fails it when CI=true) without either.
func EximUser(t testing.TB) (uid, gid int) {
	t.Helper()
	if os.Geteuid() != 0 {
		Missing(t, "root (spool owned by the Exim user)")
	}
	u, err := user.Lookup("Debian-exim")
	if err != nil {
		Missing(t, "the Debian-exim user")
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid
}
