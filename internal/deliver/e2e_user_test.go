package deliver_test

import (
	"testing"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// userConf has local transports that run as nobody: into a directory
// only root may write (DIR/closed, made by the case's files), and into
// the mail directory the Exim user owns.
const userConf = `exim_user = Debian-exim
exim_group = Debian-exim
spool_directory = DIR/spool
log_file_path = DIR/spool/log/%slog
primary_hostname = test.example
qualify_domain = test.example
domainlist local_domains = test.example
keep_environment =
RETRY_MAIN
begin routers
rm:
  driver = accept
  local_parts = m
  transport = m
rd:
  driver = accept
  local_parts = d
  transport = d
rf:
  driver = accept
  local_parts = f
  transport = f
rl:
  driver = accept
  local_parts = l
  transport = l
ok:
  driver = accept
  local_parts = alice
  transport = mdir
begin transports
m:
  driver = appendfile
  directory = DIR/closed/md
  maildir_format
  user = nobody
d:
  driver = appendfile
  directory = DIR/closed/dd
  user = nobody
f:
  driver = appendfile
  file = DIR/closed/f/x
  user = nobody
l:
  driver = appendfile
  file = DIR/closed/mbox
  user = nobody
mdir:
  driver = appendfile
  directory = DIR/mail/alice
  maildir_format
  user = Debian-exim
begin retry
RETRY_RULES
`

// closedDir makes DIR/closed, owned by root with mode 0755.
var closedDir = map[string]string{"closed/README": "root's\n"}

// TestDeliverAsUser runs local transports configured with a user from
// a process that is root (-odi, -q, -M, -Mc): each runs with that
// user's permissions, as Exim's delivery subprocess does, so creating
// files and directories where the user may not fails with Exim's texts.
// It also covers -Mc, which delivers as a queue run would.
func TestDeliverAsUser(t *testing.T) {
	if !oracletest.InTrustedNamespace(t, "TestDeliverAsUser") {
		return
	}
	runE2ECases(t, []e2eCase{
		{name: "denied_odi", conf: userConf, files: closedDir,
			rcpts: []string{"m@test.example", "d@test.example", "f@test.example", "alice@test.example"}},
		{name: "lock_denied", conf: userConf, files: closedDir,
			rcpts: []string{"l@test.example", "alice@test.example"}},
		{name: "denied_q", conf: userConf, files: closedDir, retry: true,
			rcpts: []string{"m@test.example", "alice@test.example"}, steps: [][]string{{"-odq"}, {"-q"}, {"-qf"}}},
		{name: "denied_M", conf: userConf, files: closedDir, retry: true,
			rcpts: []string{"f@test.example"}, steps: [][]string{{"-odq"}, {"-M", "$ID1"}}},
		{name: "Mc_queued", conf: userConf, files: closedDir,
			rcpts: []string{"alice@test.example"}, steps: [][]string{{"-odq"}, {"-Mc", "$ID1"}}},
		{name: "Mc_frozen", conf: userConf, files: closedDir,
			rcpts: []string{"alice@test.example"}, steps: [][]string{{"-odq"}, {"-Mf", "$ID1"}, {"-Mc", "$ID1"}, {"@bp"}, {"-Mt", "$ID1"}, {"-Mc", "$ID1"}}},
		{name: "Mc_retry_not_reached", conf: userConf, files: closedDir, retry: true,
			rcpts: []string{"d@test.example"}, steps: [][]string{{"-Mc", "$ID1"}, {"@bp"}, {"-M", "$ID1"}}},
		// A bounce that times out is not frozen: "error ignored".
		{name: "bounce_timeout_ignored", conf: userConf, files: closedDir, sender: "<>",
			rcpts: []string{"m@test.example", "f@test.example"}, steps: [][]string{{"-odq"}, {"-M", "$ID1"}}},
		{name: "bounce_fail_frozen", sender: "<>", rcpts: []string{"gone@test.example", "alice@test.example"}},
		{name: "bounce_fail_ignored_at_once", sender: "<>", main: "ignore_bounce_errors_after = 0s",
			rcpts: []string{"gone@test.example", "nobody@test.example", "alice@test.example"}},
		{name: "Mc_routing_retry", retry: true,
			rcpts: []string{"later@test.example"}, steps: [][]string{{"-Mc", "$ID1"}, {"-q"}}},
	})
}
