package cli

import (
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// aclControlConf freezes messages for f@ and queues those for q@ from
// the RCPT ACL; everything else is accepted.
const aclControlConf = `primary_hostname = test.example
spool_directory = DIR/spool
log_file_path = DIR/log/%slog
keep_environment =
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
  file = DIR/mail/$local_part
  user = root
`

// TestACLFreezeQueueDifferential compares the log lines of messages an
// SMTP ACL froze (control = freeze) or queued (control = queue) in -bs.
func TestACLFreezeQueueDifferential(t *testing.T) {
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	msg := "DATA\r\nSubject: s\r\n\r\nbody\r\n.\r\n"
	sessions := []bsSession{{
		"EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<f@d.example>\r\n" + msg +
			"MAIL FROM:<a@b.example>\r\nRCPT TO:<q@d.example>\r\n" + msg + "QUIT\r\n",
		[]string{"-oMa", "10.0.0.1"},
	}}
	want, got := runBSLogs(t, exim, aclControlConf, sessions), runBSLogs(t, exigo, aclControlConf, sessions)
	if strings.Join(want, "\n") != strings.Join(got, "\n") {
		t.Errorf("logs differ\n--- exim\n%s\n--- exigo\n%s", strings.Join(want, "\n"), strings.Join(got, "\n"))
	}
}
