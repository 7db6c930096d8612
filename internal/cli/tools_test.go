package cli

import (
	"bytes"
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
		{[]string{"exim_tidydb", spool, "retry"}, 0, "Tidying Exim hints database " + spool + "/db/retry\nTidying complete\n"},
		{[]string{"exim_fixdb", spool, "retry"}, 0, "Modifying Exim hints database " + spool + "/db/retry\n> \n"},
		{[]string{"exinext"}, 1, "Usage: exinext <address>|<domain>|<local-part>\n"},
	} {
		var out bytes.Buffer
		code := Main(c.argv, strings.NewReader(""), &out, &out)
		if code != c.code || !strings.HasPrefix(out.String(), c.out) {
			t.Errorf("%v: %d %q, want %d %q", c.argv, code, out.String(), c.code, c.out)
		}
	}
}
