package daemon_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// aclControlDaemonConf freezes messages for f@ and queues those for q@
// from the RCPT ACL and delivers the others to /dev/null; SMTPUTF8 in MAIL
// makes the protocol utf8esmtp.
func aclControlDaemonConf(dir string) string {
	return fmt.Sprintf(`primary_hostname = test.example
spool_directory = %[1]s/spool
log_file_path = %[1]s/log/%%slog
keep_environment =
host_lookup =
acl_smtp_rcpt = r
begin acl
r:
  accept local_parts = f
         control = freeze/no_tell
  accept local_parts = q
         control = queue
  accept
begin routers
all:
  driver = accept
  transport = t
begin transports
t:
  driver = appendfile
  file = /dev/null
  user = Debian-exim
`, dir)
}

// TestACLControlDaemonDifferential sends a message frozen by an ACL, one
// queued by an ACL and one sent with SMTPUTF8 to the daemons of Exim and
// exigo and compares their main logs.
func TestACLControlDaemonDifferential(t *testing.T) {
	exim := oracletest.Exim(t)
	bin := oracletest.Exigo(t)
	msg := func(rcpt, mail string) logselSession {
		return logselSession{"127.0.0.1", []string{"EHLO x", "MAIL FROM:<a@b.example>" + mail, "RCPT TO:<" + rcpt + ">", "DATA", "Subject: s\r\n\r\nbody\r\n.", "QUIT"}}
	}
	sessions := []logselSession{msg("f@d.example", ""), msg("q@d.example", ""), msg("u@d.example", " SMTPUTF8")}
	run := func(b string) []string {
		dir, conf := runDir(t, "")
		os.WriteFile(conf, []byte(aclControlDaemonConf(dir)), 0o644)
		port := freePort(t)
		mainlog := filepath.Join(dir, "log", "mainlog")
		cmd := startDaemonQuietly(t, b, conf, port, mainlog)
		for _, s := range sessions {
			runLogselSession(t, fmt.Sprintf("127.0.0.1:%d", port), s, mainlog)
		}
		stop(t, cmd)
		data, _ := os.ReadFile(mainlog)
		var out []string
		for _, l := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
			if strings.Contains(l, "daemon started") || strings.Contains(l, "Warning:") || strings.HasPrefix(l, " ") ||
				strings.Contains(l, "lost privilege for using -C") {
				continue
			}
			out = append(out, logselMask(l))
		}
		return out
	}
	want, got := run(exim), run(bin)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("main logs differ\n%s", lineDiff(want, got))
	}
}
