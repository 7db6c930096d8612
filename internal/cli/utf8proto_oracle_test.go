package cli

import (
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// utf8ProtoConf accepts and queues every message.
const utf8ProtoConf = `primary_hostname = test.example
spool_directory = DIR/spool
log_file_path = DIR/log/%slog
keep_environment =
acl_smtp_rcpt = accept
queue_only = true
begin acl
`

// TestUTF8ProtocolDifferential compares the protocol logged (P=) after
// MAIL with SMTPUTF8: "utf8" is prefixed, and stays until the next EHLO
// or HELO, through RSET and later messages.
func TestUTF8ProtocolDifferential(t *testing.T) {
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	msg := "RCPT TO:<c@d.example>\r\nDATA\r\nSubject: s\r\n\r\nbody\r\n.\r\n"
	remote := []string{"-oMa", "10.0.0.1"}
	sessions := []bsSession{
		{"EHLO x\r\nMAIL FROM:<a@b.example> SMTPUTF8\r\n" + msg + "MAIL FROM:<a@b.example>\r\n" + msg + "QUIT\r\n", remote},
		{"EHLO x\r\nMAIL FROM:<a@b.example> SMTPUTF8\r\nRSET\r\nMAIL FROM:<a@b.example>\r\n" + msg + "QUIT\r\n", remote},
		{"EHLO x\r\nMAIL FROM:<a@b.example> SMTPUTF8\r\n" + msg + "EHLO y\r\nMAIL FROM:<a@b.example>\r\n" + msg + "QUIT\r\n", remote},
		{"EHLO x\r\nMAIL FROM:<a@b.example> SMTPUTF8\r\n" + msg + "HELO y\r\nMAIL FROM:<a@b.example>\r\n" + msg + "QUIT\r\n", remote},
		{"EHLO x\r\nMAIL FROM:<a@b.example> SMTPUTF8\r\n" + msg + "QUIT\r\n", nil},
	}
	want, got := runBSLogs(t, exim, utf8ProtoConf, sessions), runBSLogs(t, exigo, utf8ProtoConf, sessions)
	if strings.Join(want, "\n") != strings.Join(got, "\n") {
		t.Errorf("logs differ\n--- exim\n%s\n--- exigo\n%s", strings.Join(want, "\n"), strings.Join(got, "\n"))
	}
}
