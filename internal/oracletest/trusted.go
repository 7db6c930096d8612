package oracletest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// trustedNSEnv marks the child process that InTrustedNamespace starts.
const trustedNSEnv = "EXIGO_TRUSTED_NS"

// InTrustedNamespace lets Exim keep root for configurations the test
// writes: Exim 4.96 gives up root for a -C file that is not listed in
// /etc/exim4/trusted_configs (its TRUSTED_CONFIG_LIST), so its local
// deliveries as other users, and the delivery processes it re-executes,
// would not behave as in production. It reruns the test named name (a
// top-level test) in a private mount namespace (unshare -m) in which
// /etc/exim4 is an empty directory of its own; Trust lists a
// configuration there. It returns true in that child, and false in the
// parent, which has checked the child's outcome (and skipped when the
// child skipped). The machine's /etc is never changed.
func InTrustedNamespace(t *testing.T, name string) bool {
	t.Helper()
	if os.Getenv(trustedNSEnv) != "" {
		etc := t.TempDir()
		os.Chmod(filepath.Dir(etc), 0o755)
		os.Chmod(etc, 0o755)
		if err := os.WriteFile(filepath.Join(etc, "trusted_configs"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("mount", "--bind", etc, "/etc/exim4").CombinedOutput(); err != nil {
			t.Fatalf("mount --bind %s /etc/exim4: %v %s", etc, err, out)
		}
		return true
	}
	if os.Geteuid() != 0 {
		Missing(t, "root (for a private mount namespace)")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		Missing(t, "unshare(1)")
	}
	cmd := exec.Command(unshare, "-m", os.Args[0], "-test.run=^"+name+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), trustedNSEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("in a mount namespace: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "--- SKIP") && !strings.Contains(string(out), "--- PASS") {
		t.Skipf("child skipped:\n%s", out)
	}
	t.Logf("%s", out)
	return false
}

// Trust lists the configuration file conf in the trusted_configs of
// InTrustedNamespace's child; elsewhere it does nothing.
func Trust(t testing.TB, conf string) {
	t.Helper()
	if os.Getenv(trustedNSEnv) == "" {
		return
	}
	f, err := os.OpenFile("/etc/exim4/trusted_configs", os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(conf + "\n"); err != nil {
		t.Fatal(err)
	}
}
