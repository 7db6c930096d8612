package deliver_test

import "testing"

// hostlistConf routes with manualroute to local transports (spec chapter
// "The manualroute router": for a local transport nothing is looked up,
// the self option does not apply, and the host list is passed in $host
// as one text), next to the same host list with a remote transport.
const hostlistConf = e2eMain + `begin routers
local_host:
  driver = manualroute
  domains = hostfile.example
  route_list = * 127.0.0.1
  self = fail
  transport = host_file
local_list:
  driver = manualroute
  domains = hostlist.example
  route_list = * a.invalid:127.0.0.1::2525 byname
  transport = host_file
local_pipe:
  driver = manualroute
  domains = hostpipe.example
  route_list = * b.invalid
  transport = host_pipe
local_bad:
  driver = manualroute
  domains = hostbad.example
  route_list = * c.invalid
  transport = bad_file
remote_self:
  driver = manualroute
  domains = remote.example
  route_list = * 127.0.0.1
  self = fail
  transport = remote_smtp
begin transports
host_file:
  driver = appendfile
  file = DIR/mail/host-${sg{$host}{[^a-z0-9.]}{_}}
  user = Debian-exim
bad_file:
  driver = appendfile
  file = DIR/mail/notadir/box
  create_directory = false
  user = Debian-exim
host_pipe:
  driver = pipe
  command = /bin/sh -c 'echo "host=$host env=\$HOST" >>DIR/mail/pipe-host'
  user = Debian-exim
` + e2eRemoteTail

var hostlistCases = []e2eCase{
	{name: "hostlist_local_self", rcpts: []string{"a@hostfile.example"}},
	{name: "hostlist_local_list", rcpts: []string{"b@hostlist.example"}},
	{name: "hostlist_pipe", rcpts: []string{"c@hostpipe.example"}},
	{name: "hostlist_local_fail", rcpts: []string{"d@hostbad.example"}},
	{name: "hostlist_local_retry", rcpts: []string{"d@hostbad.example"}, retry: true, steps: [][]string{{"-qf"}}},
	{name: "hostlist_mixed", rcpts: []string{"a@hostfile.example", "ok-echo@remote.example", "b@hostlist.example"}},
}

// TestEndToEndLocalHostList compares deliveries, logs and bounces of
// manualroute routing to local transports with real Exim's.
func TestEndToEndLocalHostList(t *testing.T) {
	for i := range hostlistCases {
		hostlistCases[i].conf = hostlistConf
	}
	runE2ECases(t, hostlistCases)
}
