package router_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// selfConf has one router per value of the self option, all routing to
// 127.0.0.1 (spec chapter "Generic options for routers", self), and
// ipliteral and queryprogram routers that find the local host too; a
// manualroute router with a local transport looks nothing up.
const selfConf = `primary_hostname = test.example
qualify_domain = test.example
allow_domain_literals
keep_environment =
MAIN
begin routers
lit:
  driver = ipliteral
  transport = t
freeze:
  driver = manualroute
  domains = freeze.example
  route_list = * 127.0.0.1::2525
  transport = t
defer:
  driver = manualroute
  domains = defer.example
  route_list = * 127.0.0.1
  self = defer
  transport = t
fail:
  driver = manualroute
  domains = fail.example
  route_list = * 127.0.0.1
  self = fail
  transport = t
pass:
  driver = manualroute
  domains = pass.example : passlast.example
  route_list = * 127.0.0.1
  self = pass
  transport = t
send:
  driver = manualroute
  domains = send.example
  route_list = * 127.0.0.1:127.0.0.2
  self = send
  transport = t
reroute:
  driver = manualroute
  domains = reroute.example
  route_list = * 127.0.0.1
  self = reroute:send.example
  transport = t
second:
  driver = manualroute
  domains = second.example
  route_list = * 127.0.0.2:127.0.0.1:127.0.0.3
  transport = t
named:
  driver = manualroute
  domains = named.example
  route_list = * 10.1.2.3
  transport = t
other:
  driver = manualroute
  domains = other.example
  route_list = * 127.0.0.2
  transport = t
local_t:
  driver = manualroute
  domains = localt.example
  route_list = * 127.0.0.1
  self = fail
  transport = lt
local_list:
  driver = manualroute
  domains = locallist.example
  route_list = * a.invalid:127.0.0.1::2525:b.invalid byname
  transport = lt
qp:
  driver = queryprogram
  domains = qp.example
  command = /bin/echo ACCEPT hosts=127.0.0.1
  command_user = nobody
  transport = t
after_pass:
  driver = accept
  domains = pass.example
  transport = t
begin transports
t:
  driver = smtp
lt:
  driver = appendfile
  file = /dev/null
`

// TestSelfOracle compares -bt and -bv (standard output, standard error
// with times masked, exit code) with real Exim for addresses whose
// first host is, or is not, the local host.
func TestSelfOracle(t *testing.T) {
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	addrs := []string{"a@freeze.example", "a@defer.example", "a@fail.example", "a@pass.example", "a@passlast.example",
		"a@send.example", "a@reroute.example", "a@second.example", "a@named.example", "a@other.example",
		"a@[127.0.0.1]", "a@[127.0.0.2]", "a@qp.example", "a@localt.example", "a@locallist.example"}
	mains := []struct{ name, main string }{
		{"default", ""},
		{"listen_elsewhere", "local_interfaces = 10.9.9.9"},
		{"listen_port", "local_interfaces = <; 127.0.0.1.2525 ; 10.9.9.9"},
		{"extra", "local_interfaces = 10.9.9.9\nextra_local_interfaces = 127.0.0.1"},
		{"extra_all", "local_interfaces = 10.9.9.9\nextra_local_interfaces = <; ::0 ; 0.0.0.0"},
		{"treat_as_local", "hosts_treat_as_local = 10.1.2.3 : 127.0.0.2"},
		{"treat_by_pattern", "hosts_treat_as_local = *.example : 10.*"},
	}
	for _, m := range mains {
		conf := oracletest.WriteConfig(t, strings.Replace(selfConf, "MAIN", m.main, 1))
		dir := filepath.Dir(conf)
		os.Chmod(dir, 0o755)
		for _, mode := range []string{"-bt", "-bv"} {
			t.Run(m.name+mode, func(t *testing.T) {
				for _, a := range addrs {
					compareAddress(t, exim, exigo, conf, mode, a)
				}
			})
		}
	}
}

// TestTaintedTransportOracle compares -bt and -bv with real Exim for
// transport names expanded from tainted, and de-tainted, values.
func TestTaintedTransportOracle(t *testing.T) {
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	conf := oracletest.WriteConfig(t, `primary_hostname = test.example
keep_environment =
begin routers
tainted:
  driver = accept
  domains = tainted.example
  transport = ${lc:$local_part}
data:
  driver = accept
  domains = data.example
  local_parts = t1
  transport = $local_part_data
cond:
  driver = accept
  domains = cond.example
  transport = ${if eq{$local_part}{t1}{t1}{t2}}
begin transports
t1:
  driver = appendfile
  file = /nonexistent/t1
t2:
  driver = appendfile
  file = /nonexistent/t2
`)
	for _, mode := range []string{"-bt", "-bv"} {
		for _, a := range []string{"T1@tainted.example", "t1@data.example", "t1@cond.example", "x@cond.example"} {
			compareAddress(t, exim, exigo, conf, mode, a)
		}
	}
}

// TestRouteOptionsOracle compares -bt with real Exim for route_list
// items whose options are not all known.
func TestRouteOptionsOracle(t *testing.T) {
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	conf := oracletest.WriteConfig(t, `primary_hostname = test.example
keep_environment =
begin routers
r:
  driver = manualroute
  route_list = a.example 127.0.0.1 byname foo ; b.example 127.0.0.1 foo byname ; \
               c.example 127.0.0.1 t byname ; d.example 127.0.0.1 : 127.0.0.2 ; \
               e.example 127.0.0.1 byname t randomize
  self = send
begin transports
t:
  driver = smtp
`)
	for _, a := range []string{"x@a.example", "x@b.example", "x@c.example", "x@d.example", "x@e.example"} {
		want := oracletest.Run(t, exim, "", "-C", conf, "-bt", a)
		got := oracletest.Run(t, exigo, "", "-C", conf, "-bt", a)
		if want != got {
			t.Errorf("-bt %s:\n--- exim (rc=%d):\n%s%s--- exigo (rc=%d):\n%s%s", a, want.Code, want.Stdout, want.Stderr, got.Code, got.Stdout, got.Stderr)
		}
	}
}

// stamp is the date and time at the start of a log line on standard
// error.
var stamp = regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d `)

// compareAddress runs Exim and exigo with -C conf, mode (-bt or -bv) and
// addr, and reports any difference in their output (times masked) or
// exit code.
func compareAddress(t *testing.T, exim, exigo, conf, mode, addr string) {
	t.Helper()
	want := oracletest.Run(t, exim, "", "-C", conf, mode, addr)
	got := oracletest.Run(t, exigo, "", "-C", conf, mode, addr)
	want.Stderr = stamp.ReplaceAllString(want.Stderr, "TIME ")
	got.Stderr = stamp.ReplaceAllString(got.Stderr, "TIME ")
	if want != got {
		t.Errorf("%s %s:\n--- exim (rc=%d):\n%s%s--- exigo (rc=%d):\n%s%s", mode, addr, want.Code, want.Stdout, want.Stderr, got.Code, got.Stdout, got.Stderr)
	}
}
