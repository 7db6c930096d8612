package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// TestNewAliasesOracle compares -bi (and exigo called as newaliases)
// with Exim 4.96: without bi_command nothing happens; with it, the
// command runs with -oA's file as its argument and its exit status is
// Exim's; a command that cannot be run, or extra arguments, are errors.
func TestNewAliasesOracle(t *testing.T) {
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	base := "spool_directory = " + t.TempDir() + "\nkeep_environment =\n"
	confs := map[string]string{
		"none":    oracletest.WriteConfig(t, base),
		"echo":    oracletest.WriteConfig(t, base+"bi_command = /bin/echo\n"),
		"false":   oracletest.WriteConfig(t, base+"bi_command = /bin/false\n"),
		"missing": oracletest.WriteConfig(t, base+"bi_command = /nonexistent/rebuild\n"),
		"spaces":  oracletest.WriteConfig(t, base+"bi_command = /bin/echo hello\n"),
	}
	cases := []struct {
		name, conf string
		args       []string
	}{
		{"unset", "none", nil},
		{"unset_oA", "none", []string{"-oA", "/etc/aliases"}},
		{"echo", "echo", nil},
		{"echo_oA", "echo", []string{"-oA", "/etc/aliases"}},
		{"exit_status", "false", nil},
		{"cannot_exec", "missing", nil},
		{"not_split", "spaces", nil},
		{"arguments", "echo", []string{"a", "b"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"-C", confs[c.conf], "-bi"}, c.args...)
			want := oracletest.Run(t, exim, "", args...)
			got := oracletest.Run(t, exigo, "", args...)
			if got != want {
				t.Errorf("exim: %+v\nexigo: %+v", want, got)
			}
		})
	}
	// newaliases is -bi.
	link := filepath.Join(t.TempDir(), "newaliases")
	if err := os.Symlink(exigo, link); err != nil {
		t.Fatal(err)
	}
	want := oracletest.Run(t, exim, "", "-C", confs["echo"], "-bi", "-oA", "/etc/aliases")
	if got := oracletest.Run(t, link, "", "-C", confs["echo"], "-oA", "/etc/aliases"); got != want {
		t.Errorf("newaliases: exim -bi: %+v\nexigo as newaliases: %+v", want, got)
	}
	if want.Stdout != "/etc/aliases\n" {
		t.Errorf("exim -bi with bi_command = /bin/echo printed %q", want.Stdout)
	}
}
