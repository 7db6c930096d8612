package deliver_test

import (
	"testing"

	"github.com/exigo-mta/exigo/internal/oracletest"
	"github.com/exigo-mta/exigo/internal/transport/smtptest"
)

// failAddrConf has local transports that fail or defer: a pipe that
// exits 1 and one that exits 75 (a temporary error); "team" redirects
// to them and to a mailbox.
const failAddrConf = e2eMain + `begin routers
al:
  driver = redirect
  local_parts = team
  data = pfail, pdef, ok
p:
  driver = accept
  local_parts = pfail : pdef
  transport = ${if eq{$local_part}{pfail}{pipe_fail}{pipe_def}}
u:
  driver = accept
  local_parts = ok
  transport = af
asroot:
  driver = accept
  local_parts = asroot
  transport = af_root
remote:
  driver = manualroute
  domains = remote.example
  route_list = * 127.0.0.1
  self = send
  transport = remote_smtp
begin transports
af:
  driver = appendfile
  file = DIR/mail/ok
  user = Debian-exim
af_root:
  driver = appendfile
  file = DIR/mail/asroot
  user = root
pipe_fail:
  driver = pipe
  command = /bin/sh -c 'exit 1'
  user = Debian-exim
pipe_def:
  driver = pipe
  command = /bin/sh -c 'exit 75'
  temp_errors = 75
  user = Debian-exim
` + e2eRemoteTail

// TestFailAddressDifferential compares the addresses of "**" and "=="
// lines (and "retry timeout exceeded") of local and remote deliveries
// of original and redirected recipients, in mixed case too, with Exim's,
// and the bounces (a pipe's failure shows as "local delivery failed").
func TestFailAddressDifferential(t *testing.T) {
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	oracletest.EximUser(t)
	srv := &smtptest.Server{Rcpt: rcptByName}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cases := []e2eCase{
		{name: "top", rcpts: []string{"pfail@test.example", "pdef@test.example", "ok@test.example"}},
		{name: "mixed_case", rcpts: []string{"Nobody@Test.example", "PFail@test.example", "PDef@Test.Example", "Def@Remote.Example", "Rej@remote.example", "Ok1@Remote.Example"}},
		{name: "redirected", rcpts: []string{"team@test.example"}},
		// A delivery as root: a line of its own in the main and panic
		// logs, and a bounce that does not give the reason.
		{name: "never_user", rcpts: []string{"asroot@test.example"}, sender: "ok@test.example"},
		// Its panic line goes to the standard error stream too from a
		// delivery made in the foreground (-odi, -odf, -M, -q), its
		// bounce's with -odi and -odf; Exim delivers the bounce of -M
		// and -q in the background, and -odb deliveries, with none.
		{name: "never_user_bounce_odi", rcpts: []string{"asroot@test.example"}, sender: "asroot@test.example"},
		{name: "never_user_bounce_odf", rcpts: []string{"asroot@test.example"}, sender: "asroot@test.example", steps: [][]string{{"-odf"}}},
		{name: "never_user_bounce_M", sortLog: true, rcpts: []string{"asroot@test.example"}, sender: "asroot@test.example", steps: [][]string{{"-odq"}, {"-M", "$ID1"}, {"@wait"}}},
		{name: "never_user_bounce_q", sortLog: true, rcpts: []string{"asroot@test.example"}, sender: "asroot@test.example", steps: [][]string{{"-odq"}, {"-q"}, {"@wait"}}},
		{name: "never_user_odb", sortLog: true, rcpts: []string{"asroot@test.example"}, sender: "ok@test.example", steps: [][]string{{"-odb"}, {"@wait"}}},
		{name: "retry", rcpts: []string{"pdef@test.example", "team@test.example", "Def@Remote.Example"}, retry: true},
	}
	for _, c := range cases {
		c.conf = failAddrConf
		t.Run(c.name, func(t *testing.T) {
			want := runE2E(t, exim, c, srv.Port())
			got := runE2E(t, exigo, c, srv.Port())
			if want != got {
				t.Errorf("exim and exigo differ\n--- exim:\n%s\n--- exigo:\n%s", want, got)
			}
		})
	}
}
