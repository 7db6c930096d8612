package deliver_test

import "testing"

// localConf routes each domain with a manualroute router whose self
// option differs, to the test SMTP server on 127.0.0.1 (the local host
// unless local_interfaces says otherwise), and has smtp transports that
// take their hosts from their own options.
const localConf = e2eMain + `begin routers
freeze:
  driver = manualroute
  domains = freeze.example
  route_list = * 127.0.0.1::PORT
  transport = plain
defer:
  driver = manualroute
  domains = defer.example
  route_list = * 127.0.0.1::PORT
  self = defer
  transport = plain
fail:
  driver = manualroute
  domains = fail.example
  route_list = * 127.0.0.1::PORT
  self = fail
  transport = plain
pass:
  driver = manualroute
  domains = pass.example
  route_list = * 127.0.0.1::PORT
  self = pass
  transport = plain
send:
  driver = manualroute
  domains = send.example
  route_list = * 127.0.0.1
  self = send
  transport = plain_port
reroute:
  driver = manualroute
  domains = reroute.example
  route_list = * 127.0.0.1::PORT
  self = reroute:send.example
  transport = plain
named:
  driver = manualroute
  domains = named.example
  route_list = * 10.1.2.3::PORT
  transport = plain
own:
  driver = accept
  domains = own.example
  transport = own_hosts
own_allow:
  driver = accept
  domains = allow.example
  transport = own_allow
own_second:
  driver = accept
  domains = second.example
  transport = own_second
own_fallback:
  driver = accept
  domains = fallback.example
  transport = own_fallback
own_override:
  driver = manualroute
  domains = override.example
  route_list = * 127.0.0.1
  self = send
  transport = own_override
qpfail:
  driver = queryprogram
  domains = qpfail.example
  command = /bin/echo ACCEPT hosts=127.0.0.1
  command_user = Debian-exim
  self = fail
  transport = plain
qpfreeze:
  driver = queryprogram
  domains = qpfreeze.example
  command = /bin/echo ACCEPT hosts=127.0.0.1
  command_user = Debian-exim
  transport = plain
other:
  driver = accept
  domains = other.example
  transport = other_loopback
nohosts:
  driver = accept
  domains = nohosts.example
  transport = plain
local:
  driver = accept
  domains = test.example
  transport = mbox
begin transports
mbox:
  driver = appendfile
  file = DIR/mail/mbox
  user = Debian-exim
plain:
  driver = smtp
plain_port:
  driver = smtp
  port = PORT
own_hosts:
  driver = smtp
  hosts = 127.0.0.1
  port = PORT
own_allow:
  driver = smtp
  hosts = 127.0.0.1
  port = PORT
  allow_localhost
own_second:
  driver = smtp
  hosts = 127.0.0.2 : 127.0.0.1
  port = PORT
own_fallback:
  driver = smtp
  hosts = 127.0.0.2
  fallback_hosts = 127.0.0.1
  port = PORT
own_override:
  driver = smtp
  hosts = 127.0.0.1
  hosts_override
  port = PORT
other_loopback:
  driver = smtp
  hosts = 127.0.0.2
  port = PORT
begin retry
RETRY_RULES
`

// localCases compare how Exim 4.96 and exigo recognize the local host
// (spec chapter "Starting the daemon and the use of network
// interfaces", section "Recognizing the local host"): the routers' self
// option and the smtp transport's allow_localhost. 127.0.0.2 is on the
// loopback network but is no interface's address, so it is not local.
var localCases = []e2eCase{
	{name: "self_freeze", rcpts: []string{"a@freeze.example"}, retry: true, steps: [][]string{{"@bp"}}},
	{name: "self_freeze_noretry", rcpts: []string{"a@freeze.example"}},
	{name: "self_defer", rcpts: []string{"a@defer.example"}, retry: true, steps: [][]string{{"@bp"}}},
	{name: "self_fail", rcpts: []string{"a@fail.example"}, retry: true},
	{name: "self_pass", rcpts: []string{"a@pass.example"}, retry: true},
	{name: "self_send", rcpts: []string{"a@send.example"}, retry: true},
	{name: "self_reroute", rcpts: []string{"a@reroute.example"}, retry: true},
	{name: "queryprogram_fail", rcpts: []string{"a@qpfail.example"}, retry: true},
	{name: "queryprogram_freeze", rcpts: []string{"a@qpfreeze.example"}, retry: true, steps: [][]string{{"@bp"}}},
	{name: "self_freeze_and_other", rcpts: []string{"a@freeze.example", "b@send.example"}, retry: true, steps: [][]string{{"@bp"}}},
	{name: "not_listening", rcpts: []string{"a@freeze.example"}, main: "local_interfaces = 10.9.9.9", retry: true},
	{name: "listening_port_ignored", rcpts: []string{"a@freeze.example"}, main: "local_interfaces = <; 127.0.0.1.2525", retry: true, steps: [][]string{{"@bp"}}},
	{name: "extra_local", rcpts: []string{"a@freeze.example"}, main: "local_interfaces = 10.9.9.9\nextra_local_interfaces = 127.0.0.1", retry: true, steps: [][]string{{"@bp"}}},
	{name: "extra_wildcard", rcpts: []string{"a@freeze.example"}, main: "local_interfaces = 10.9.9.9\nextra_local_interfaces = 0.0.0.0", retry: true},
	{name: "treat_as_local", rcpts: []string{"a@named.example"}, main: "hosts_treat_as_local = 10.1.2.3", retry: true, steps: [][]string{{"@bp"}}},
	{name: "transport_hosts", rcpts: []string{"a@own.example", "b@own.example"}, retry: true},
	{name: "transport_hosts_not_listening", rcpts: []string{"a@own.example"}, main: "local_interfaces = 10.9.9.9", retry: true},
	{name: "transport_allow", rcpts: []string{"a@allow.example"}, retry: true},
	{name: "transport_second", rcpts: []string{"a@second.example"}, retry: true},
	{name: "transport_fallback", rcpts: []string{"a@fallback.example"}, retry: true},
	{name: "transport_override", rcpts: []string{"a@override.example"}, retry: true},
	{name: "transport_treat_as_local", rcpts: []string{"a@other.example"}, main: "hosts_treat_as_local = 127.0.0.2", retry: true},
	{name: "transport_other_loopback", rcpts: []string{"a@other.example"}, retry: true},
	{name: "transport_no_hosts", rcpts: []string{"a@nohosts.example"}, retry: true},
	// An internal error: no retry rule times it out.
	{name: "transport_no_hosts_noretry", rcpts: []string{"a@nohosts.example"}, steps: [][]string{{"@bp"}}},
}

func TestLocalHost(t *testing.T) {
	for i := range localCases {
		localCases[i].conf = localConf
	}
	runE2ECases(t, localCases)
}
