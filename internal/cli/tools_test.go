package cli

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestToolNames checks that the hints utilities answer to their own
// names and to "exigo --tool NAME".
func TestToolNames(t *testing.T) {
	spool := t.TempDir()
	for _, c := range []struct {
		argv []string
		code int
		out  string
	}{
		{[]string{"/usr/sbin/exim_dumpdb"}, 1, "Usage: exim_dumpdb [-z] [-k]  <spool-directory> <database-name>\n"},
		{[]string{"exigo", "--tool", "exim_dumpdb", spool, "retry"}, 1, "** Failed to open database lock file " + spool + "/db/retry.lockfile: No such file or directory\n"},
		{[]string{"exim_tidydb", spool, "retry"}, 1, "Tidying Exim hints database " + spool + "/db/retry\n** Failed to open database lock file " + spool + "/db/retry.lockfile: No such file or directory\n"},
		{[]string{"exim_fixdb", spool, "retry"}, 0, "Modifying Exim hints database " + spool + "/db/retry\n> \n"},
		{[]string{"exim_tidydb", spool, "retry"}, 0, "Tidying Exim hints database " + spool + "/db/retry\nTidying complete\n"},
		{[]string{"exinext"}, 1, "Usage: exinext <address>|<domain>|<local-part>\n"},
	} {
		var out bytes.Buffer
		code := Main(c.argv, strings.NewReader(""), &out, &out)
		if code != c.code || !strings.HasPrefix(out.String(), c.out) {
			t.Errorf("%v: %d %q, want %d %q", c.argv, code, out.String(), c.code, c.out)
		}
	}
}

// TestLogToolNames checks that the log tools answer to their own names
// and to "exigo --tool NAME".
func TestLogToolNames(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		argv []string
		in   string
		code int
		out  string
	}{
		{[]string{"/usr/sbin/exigrep", "b@c"}, "2024-01-01 10:00:00 1abcDE-000001-AB <= b@c\n", 0, "+++ 1abcDE-000001-AB has not completed +++\n2024-01-01 10:00:00 1abcDE-000001-AB <= b@c\n\n"},
		{[]string{"exigo", "--tool", "exigrep"}, "", 2, "Usage:\n    exigrep [options] pattern [log] ...\n\n"},
		{[]string{"exicyclog", "-x"}, "", 1, "** exicyclog: unknown option -x\n"},
		{[]string{"exigo", "--tool", "exicyclog", "-l", "syslog"}, "", 1, "*** Exim is logging to syslog - no log files to cycle ***\n"},
		{[]string{"exigo", "--tool", "exicyclog", "-l", dir + "/%slog"}, "", 0, ""},
		{[]string{"eximstats", "-emptyok", "-h0", "-nt"}, "", 0, "\nExim statistics from 9999-99-99 99:99:99 to 0000-00-00 00:00:00\n"},
		{[]string{"exiwhat", "--version"}, "", 0, "exiwhat: exiwhat\n"},
	} {
		var out bytes.Buffer
		code := Main(c.argv, strings.NewReader(c.in), &out, &out)
		if code != c.code || !strings.HasPrefix(out.String(), c.out) {
			t.Errorf("%v: %d %q, want %d %q", c.argv, code, out.String(), c.code, c.out)
		}
	}
}

// TestExipickName checks that exipick answers to its name and finds the
// spool from the configuration named by -C, or says why it cannot and
// uses the compiled-in one.
func TestExipickName(t *testing.T) {
	dir := t.TempDir()
	conf := dir + "/exim.conf"
	if err := os.MkdirAll(dir+"/spool/input", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, []byte("spool_directory = "+dir+"/spool\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		argv []string
		code int
		out  string
	}{
		{[]string{"/usr/sbin/exipick", "-C", conf, "-c"}, 0, "0 matches out of 0 messages\n"},
		{[]string{"exigo", "--tool", "exipick", "--spool", dir + "/spool", "-bpc"}, 0, "0\n"},
		{[]string{"exipick", "-C", dir + "/none", "--input-dir", dir + "/spool/input", "-c"}, 0,
			"LOG: MAIN PANIC DIE\n  non-existent configuration file(s): " + dir + "/none\n0 matches out of 0 messages\n"},
		{[]string{"exipick", "--spool", dir + "/none", "-c"}, 2, "Couldn't opendir " + dir + "/none/input: No such file or directory\n"},
		{[]string{"exipick", "--bogus"}, 2, "Unknown option: bogus\nUsage:\n"},
	} {
		var out bytes.Buffer
		code := Main(c.argv, strings.NewReader(""), &out, &out)
		if code != c.code || !strings.HasPrefix(out.String(), c.out) {
			t.Errorf("%v: %d %q, want %d %q", c.argv, code, out.String(), c.code, c.out)
		}
	}
}
