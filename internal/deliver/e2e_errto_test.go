package deliver_test

import "testing"

// errtoConf is the configuration of the end-to-end cases for a router's
// errors_to and a transport's return_path: the envelope sender of the
// delivery (MAIL FROM, $return_path, Return-path:) and where failures
// go (spec chapters "Generic options for routers", errors_to, and
// "Generic options for transports", return_path).
const errtoConf = e2eMain + `begin routers
errto_remote:
  driver = manualroute
  domains = errto.example
  route_list = * 127.0.0.1
  self = send
  errors_to = bob@test.example
  transport = remote_smtp
null_remote:
  driver = manualroute
  domains = null.example
  route_list = * 127.0.0.1
  self = send
  errors_to =
  transport = remote_smtp
over_remote:
  driver = manualroute
  domains = over.example
  route_list = * 127.0.0.1
  self = send
  errors_to = bob@test.example
  transport = over_smtp
unverified_remote:
  driver = manualroute
  domains = unverified.example
  route_list = * 127.0.0.1
  self = send
  errors_to = someone@nowhere.invalid
  transport = remote_smtp
literal_remote:
  driver = manualroute
  domains = literal.example
  route_list = * 127.0.0.1
  self = send
  errors_to = <>
  transport = remote_smtp
relay:
  driver = manualroute
  domains = remote.example
  route_list = * 127.0.0.1
  self = send
  transport = remote_smtp
errto_local:
  driver = accept
  domains = test.example
  local_parts = et1 : et2
  errors_to = bob@test.example
  transport = rp_file
null_local:
  driver = accept
  domains = test.example
  local_parts = nl1 : nl2
  errors_to =
  transport = rp_file
null_fail:
  driver = accept
  domains = test.example
  local_parts = nf1
  errors_to =
  transport = bad_file
errto_fail:
  driver = accept
  domains = test.example
  local_parts = ef1
  errors_to = bob@test.example
  transport = bad_file
over_local:
  driver = accept
  domains = test.example
  local_parts = ro1
  errors_to = bob@test.example
  transport = over_file
errto_pipe:
  driver = accept
  domains = test.example
  local_parts = ep1 : np1
  errors_to = ${if eq{$local_part}{np1}{}{bob@test.example}}
  transport = rp_pipe
errto_alias:
  driver = redirect
  domains = test.example
  local_parts = list : nlist
  data = ${if eq{$local_part}{list}{carol, nobody, rej@remote.example, ok-echo@remote.example}{carol, nobody, rej@remote.example}}
  errors_to = ${if eq{$local_part}{list}{bob@test.example}{}}
local:
  driver = accept
  domains = test.example
  local_parts = alice : bob : carol
  transport = rp_file
begin transports
rp_file:
  driver = appendfile
  file = DIR/mail/$local_part_data
  return_path_add
  user = Debian-exim
over_file:
  driver = appendfile
  file = DIR/mail/$local_part_data
  return_path = over-$return_path
  return_path_add
  user = Debian-exim
bad_file:
  driver = appendfile
  file = DIR/mail/notadir/$local_part_data
  create_directory = false
  user = Debian-exim
rp_pipe:
  driver = pipe
  command = /bin/sh -c 'echo "$local_part_data env=\$RETURN_PATH exp=$return_path" >>DIR/mail/pipe-rp; cat >>DIR/mail/pipe-rp'
  return_path_add
  user = Debian-exim
remote_smtp:
  driver = smtp
  port = PORT
  allow_localhost
over_smtp:
  driver = smtp
  port = PORT
  allow_localhost
  return_path = over-$return_path
begin retry
RETRY_RULES
`

var errtoCases = []e2eCase{
	{name: "errto_remote", rcpts: []string{"a-echo@errto.example"}},
	{name: "errto_remote_fail", rcpts: []string{"rej@errto.example", "ok-echo@errto.example"}},
	{name: "errto_null_remote", rcpts: []string{"a-echo@null.example"}},
	{name: "errto_null_remote_fail", rcpts: []string{"rej@null.example", "def@null.example", "ok-echo@null.example"}},
	{name: "errto_over_remote", rcpts: []string{"a-echo@over.example"}},
	{name: "errto_unverified", rcpts: []string{"a-echo@unverified.example"}},
	{name: "errto_local", rcpts: []string{"et1@test.example", "et2@test.example", "alice@test.example"}},
	{name: "errto_null_local", rcpts: []string{"nl1@test.example"}},
	{name: "errto_null_fail", rcpts: []string{"nf1@test.example"}},
	{name: "errto_fail", rcpts: []string{"ef1@test.example"}},
	{name: "errto_over_local", rcpts: []string{"ro1@test.example"}},
	{name: "errto_pipe", rcpts: []string{"ep1@test.example", "np1@test.example"}},
	{name: "errto_alias", rcpts: []string{"list@test.example"}},
	{name: "errto_alias_null", rcpts: []string{"nlist@test.example"}},
	{name: "errto_literal_null", rcpts: []string{"a-echo@literal.example"}},
	{name: "errto_bounce_sender", rcpts: []string{"a-echo@errto.example", "b-echo@remote.example", "rej@errto.example"}, sender: "<>", main: "remote_max_parallel = 1"},
	{name: "errto_bounce_mixed", rcpts: []string{"rej@errto.example", "rej@remote.example", "rej@null.example"}, sender: "<>", main: "remote_max_parallel = 1"},
	{name: "errto_mixed_remote", rcpts: []string{"a-echo@errto.example", "b-echo@null.example", "c-echo@remote.example", "d-echo@over.example"}, main: "remote_max_parallel = 1"},
	{name: "errto_selector", rcpts: []string{"et1@test.example", "a-echo@null.example", "ro1@test.example"}, main: "log_selector = +return_path_on_delivery"},
}

func TestEndToEndErrorsTo(t *testing.T) {
	for i := range errtoCases {
		errtoCases[i].conf = errtoConf
	}
	runE2ECases(t, errtoCases)
}
