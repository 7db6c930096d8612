// Differential tests: each file under testdata/diff is a configuration
// whose first line "#!args: ..." gives the command line; exigo and real
// Exim must print the same stdout and stderr (dates masked, and the -bV
// lines that differ on purpose dropped) and exit with the same code.
package config_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

var dateRE = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d `)

// bvOwn are the -bV lines whose content is exigo's own on purpose.
var bvOwn = []string{"Exim version ", "Berkeley DB", "exigo:", "Support for:", "Lookups (built-in):", "Authenticators:", "Routers:", "Transports:", "Malware:"}

func mask(s string, bv bool) string {
	s = dateRE.ReplaceAllString(s, "DATE ")
	if !bv {
		return s
	}
	var out []string
	for _, l := range strings.Split(s, "\n") {
		own := false
		for _, p := range bvOwn {
			own = own || strings.HasPrefix(l, p)
		}
		if !own {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestDifferential(t *testing.T) {
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	files, _ := filepath.Glob("testdata/diff/*.conf")
	if len(files) < 70 {
		t.Fatalf("only %d cases", len(files))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".conf")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(string(data), "\n")
			args := strings.Fields(strings.TrimPrefix(first, "#!args:"))
			path := oracletest.WriteConfig(t, string(data))
			var cmd []string
			for _, a := range args {
				if strings.HasPrefix(a, "-D") {
					cmd = append(cmd, a)
				}
			}
			cmd = append(cmd, "-C", path)
			for _, a := range args {
				if !strings.HasPrefix(a, "-D") {
					cmd = append(cmd, a)
				}
			}
			bv := len(args) > 0 && args[0] == "-bV"
			want := oracletest.Run(t, exim, "", cmd...)
			got := oracletest.Run(t, exigo, "", cmd...)
			ws, gs := strings.ReplaceAll(mask(want.Stdout, bv), path, "CONF"), strings.ReplaceAll(mask(got.Stdout, bv), path, "CONF")
			we, ge := strings.ReplaceAll(mask(want.Stderr, false), path, "CONF"), strings.ReplaceAll(mask(got.Stderr, false), path, "CONF")
			if ws != gs {
				t.Errorf("stdout differs\n--- exim\n%s\n--- exigo\n%s", ws, gs)
			}
			if we != ge {
				t.Errorf("stderr differs\n--- exim\n%q\n--- exigo\n%q", we, ge)
			}
			if want.Code != got.Code {
				t.Errorf("exit code: exim %d, exigo %d", want.Code, got.Code)
			}
		})
	}
}
