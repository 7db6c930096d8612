package cli

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// bsExitConf drops the connection after one syntax or protocol error,
// or two unrecognized commands, and from the RCPT ACL for drop@.
const bsExitConf = `primary_hostname = test.example
spool_directory = DIR/spool
log_file_path = DIR/log/%slog
keep_environment =
smtp_max_synprot_errors = 1
smtp_max_unknown_commands = 1
acl_smtp_rcpt = r
queue_only = true
begin acl
r:
  drop local_parts = drop
  accept
`

// TestBSExitCodeDifferential compares the exit status of -bs, -bS and
// -bh sessions that end with QUIT, at the end of input (also inside a
// message), dropped for too many syntax errors or unrecognized commands,
// and dropped by an ACL.
func TestBSExitCodeDifferential(t *testing.T) {
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	msg := "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nSubject: s\r\n\r\nx\r\n"
	scripts := []string{
		"EHLO x\r\nQUIT\r\n",
		"EHLO x\r\n",
		"",
		"EHLO x\r\n" + msg + ".\r\nQUIT\r\n",
		"EHLO x\r\n" + msg + ".\r\n",
		"EHLO x\r\n" + msg,
		"EHLO x\r\nMAIL FROM:<a@b.example>\r\nMAIL FROM:<a@b.example>\r\nMAIL FROM:<a@b.example>\r\nQUIT\r\n",
		"EHLO x\r\nRCPT TO:<c@d.example>\r\nRCPT TO:<c@d.example>\r\nQUIT\r\n",
		"EHLO x\r\nFOO\r\nBAR\r\nQUIT\r\n",
		"EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<drop@d.example>\r\nQUIT\r\n",
	}
	codes := func(bin string) string {
		dir, err := os.MkdirTemp("", "exigo-bsexit-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		for _, sub := range []string{"", "spool", "log"} {
			os.MkdirAll(filepath.Join(dir, sub), 0o777)
			os.Chmod(filepath.Join(dir, sub), 0o777)
		}
		conf := filepath.Join(dir, "conf")
		os.WriteFile(conf, []byte(strings.ReplaceAll(bsExitConf, "DIR", dir)), 0o644)
		var out []string
		for _, s := range scripts {
			for _, mode := range [][]string{{"-bs"}, {"-bS"}, {"-bh", "10.0.0.1"}} {
				r := oracletest.Run(t, bin, s, append([]string{"-C", conf}, mode...)...)
				out = append(out, strings.Join(mode, " ")+" "+strings.ReplaceAll(s, "\r\n", "|")+": "+strconv.Itoa(r.Code))
			}
		}
		return strings.Join(out, "\n")
	}
	if want, got := codes(exim), codes(exigo); want != got {
		t.Errorf("exit codes differ\n--- exim\n%s\n--- exigo\n%s", want, got)
	}
}
