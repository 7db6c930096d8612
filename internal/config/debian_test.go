// Debian's generated configurations ("internet site" and "local delivery
// only", with the TLS and DKIM macros) must load in exigo and print the
// same -bP output as Exim.
package config_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/oracletest"
)

var debianMacros = []string{"-DMAIN_TLS_ENABLE=yes", "-DDKIM_DOMAIN=example.com", "-DDKIM_SELECTOR=s1", "-DDKIM_PRIVATE_KEY=/etc/exim4/dkim.pem"}

// debianConfig generates Debian's configuration of the given type into a
// temporary directory, from a copy of /etc/exim4.
func debianConfig(t *testing.T, configtype string) string {
	t.Helper()
	if _, err := exec.LookPath("update-exim4.conf"); err != nil {
		oracletest.Missing(t, "update-exim4.conf (exim4-config)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("cp", "-a", "/etc/exim4", dir).CombinedOutput(); err != nil {
		t.Fatalf("copying /etc/exim4: %v\n%s", err, out)
	}
	confdir := filepath.Join(dir, "exim4")
	cc := filepath.Join(confdir, "update-exim4.conf.conf")
	data, err := os.ReadFile(cc)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^dc_eximconfig_configtype=.*$`)
	data = re.ReplaceAll(data, []byte("dc_eximconfig_configtype='"+configtype+"'"))
	if err := os.WriteFile(cc, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, configtype+".conf")
	gen := exec.Command("update-exim4.conf", "-d", confdir, "-o", out)
	// A clean environment: shell start-up hooks must not leak into the file.
	gen.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"}
	if b, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("update-exim4.conf: %v\n%s", err, b)
	}
	// Some build machines leak shell start-up noise (pyenv hooks) into the
	// generated file; it is not configuration, so drop such lines.
	gd, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	noise := regexp.MustCompile(`(?m)^/root/\.pyenv/.*\n`)
	if noise.Match(gd) {
		t.Logf("removed shell noise from %s", out)
		if err := os.WriteFile(out, noise.ReplaceAll(gd, nil), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestDebianConfigs(t *testing.T) {
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	for _, typ := range []string{"internet", "local"} {
		t.Run(typ, func(t *testing.T) {
			path := debianConfig(t, typ)
			opts := config.Options{Macros: []config.Macro{{Name: "MAIN_TLS_ENABLE", Value: "yes"}, {Name: "DKIM_DOMAIN", Value: "example.com"}}}
			c, err := config.Load(path, opts)
			if err != nil {
				b, _ := os.ReadFile(path)
				t.Fatalf("Load: %v\n%.1500s", err, b)
			}
			if c.Router("dnslookup") == nil && c.Router("nonlocal") == nil {
				t.Errorf("routers: %d, no dnslookup/nonlocal router", len(c.Routers))
			}
			for _, args := range [][]string{
				{"-bV"}, {"-bP"}, {"-bP", "routers"}, {"-bP", "transports"}, {"-bP", "authenticators"},
				{"-bP", "config"}, {"-bP", "macros"}, {"-bP", "+local_domains", "+relay_to_domains"},
				{"-bP", "tls_advertise_hosts", "tls_certificate", "tls_privatekey", "acl_smtp_rcpt", "local_interfaces", "message_size_limit"},
				{"-bP", "transport", "remote_smtp"},
			} {
				cmd := append(append(append([]string{}, debianMacros...), "-C", path), args...)
				want := oracletest.Run(t, exim, "", cmd...)
				got := oracletest.Run(t, exigo, "", cmd...)
				if want.Code != got.Code {
					t.Errorf("%v: exit code exim %d exigo %d\n%s", args, want.Code, got.Code, got.Stderr)
				}
				if args[0] != "-bV" && want.Stdout != got.Stdout {
					t.Errorf("%v: stdout differs\n--- exim\n%s\n--- exigo\n%s", args, want.Stdout, got.Stdout)
				}
			}
		})
	}
}
