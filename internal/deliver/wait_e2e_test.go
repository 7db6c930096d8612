package deliver_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/exigo-mta/exigo/internal/oracletest"
	"github.com/exigo-mta/exigo/internal/transport/smtptest"
)

// waitConf relays everything to a test server on 127.0.0.1:PORT with
// the remote_smtp transport; queue runs go in arrival order so that the
// two MTAs deliver in the same order.
const waitConf = `exim_user = Debian-exim
exim_group = Debian-exim
spool_directory = DIR/spool
log_file_path = DIR/spool/log/%slog
primary_hostname = test.example
never_users =
keep_environment =
queue_run_in_order
begin routers
relay:
  driver = manualroute
  route_list = * 127.0.0.1
  self = send
  transport = remote_smtp
begin transports
remote_smtp:
  driver = smtp
  port = PORT
  allow_localhost
  hosts_try_fastopen = :
MAXMSG
begin retry
* * F,1h,10m
`

// waitCase is one scenario of the wait-<transport> comparison.
type waitCase struct {
	name string
	// down: the server is down while the messages are submitted; else
	// it defers every RCPT until the queue run.
	down bool
	// maxMessages sets connection_max_messages when not 0.
	maxMessages int
	// anyOrder drops queue_run_in_order: the order of the deliveries
	// is then not compared, only how many were continued.
	anyOrder bool
}

// TestWaitHintsDifferential submits three messages that the relay
// defers, dumps the wait-remote_smtp hints, then lets the server accept
// and runs the queue: the hints before and after, the delivery lines
// (with "*" for a continued connection) and the number of connections
// the server saw must be Exim's.
func TestWaitHintsDifferential(t *testing.T) {
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	if os.Getuid() != 0 {
		oracletest.Missing(t, "root (deliveries as Debian-exim)")
	}
	dumpdb, err := exec.LookPath("exim_dumpdb")
	if err != nil {
		oracletest.Missing(t, "exim_dumpdb")
	}
	eu, err := user.Lookup("Debian-exim")
	if err != nil {
		oracletest.Missing(t, "the Debian-exim user")
	}
	uid, _ := strconv.Atoi(eu.Uid)
	gid, _ := strconv.Atoi(eu.Gid)
	cases := []waitCase{
		{name: "host down", down: true},
		{name: "host down, connection_max_messages 2", down: true, maxMessages: 2},
		{name: "rcpt 4xx"},
		{name: "host down, any order", down: true, anyOrder: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := runWaitCase(t, c, exim, []string{dumpdb}, uid, gid)
			got := runWaitCase(t, c, exigo, []string{exigo, "--tool", "exim_dumpdb"}, uid, gid)
			t.Logf("exim:\n%s", want)
			if want != got {
				t.Errorf("exim and exigo differ\n--- exim:\n%s\n--- exigo:\n%s", want, got)
			}
		})
	}
}

// runWaitCase runs c with bin and returns what it observed, message ids
// replaced by M1, M2 ... in id order.
func runWaitCase(t *testing.T, c waitCase, bin string, dump []string, uid, gid int) string {
	dir, err := os.MkdirTemp("", "exigo-wait-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	os.Mkdir(filepath.Join(dir, "spool"), 0o750)
	os.Chown(filepath.Join(dir, "spool"), uid, gid)
	port := closedPort(t)
	conf := strings.ReplaceAll(waitConf, "DIR", dir)
	conf = strings.ReplaceAll(conf, "PORT", strconv.Itoa(port))
	maxMsg := ""
	if c.maxMessages != 0 {
		maxMsg = fmt.Sprintf("  connection_max_messages = %d", c.maxMessages)
	}
	conf = strings.Replace(conf, "MAXMSG", maxMsg, 1)
	if c.anyOrder {
		conf = strings.Replace(conf, "queue_run_in_order\n", "", 1)
	}
	cf := filepath.Join(dir, "conf")
	os.WriteFile(cf, []byte(conf), 0o644)

	var accept atomic.Bool
	srv := &smtptest.Server{
		Pipelining: true,
		Rcpt: func(string) string {
			if accept.Load() {
				return "250 Accepted"
			}
			return "451 try later"
		},
	}
	start := func() {
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			t.Fatal(err)
		}
		srv.Serve(ln)
	}
	if !c.down {
		start()
	}
	for i := 1; i <= 3; i++ {
		msg := fmt.Sprintf("Subject: wait %d\n\nbody\n", i)
		oracletest.Run(t, bin, msg, "-C", cf, "-odi", "-f", "sender@test.example", fmt.Sprintf("u%d@remote.example", i))
	}
	spoolDir := filepath.Join(dir, "spool")
	dumpIt := func() string {
		out, _ := exec.Command(dump[0], append(dump[1:], spoolDir, "wait-remote_smtp")...).CombinedOutput()
		return string(out)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "after the deferrals:\n%s", dumpIt())
	if c.down {
		start()
	}
	accept.Store(true)
	before := strings.Count(strings.Join(srv.Log(), "\n"), "EHLO")
	// -qf: the host's retry time has not come.
	oracletest.Run(t, bin, "", "-C", cf, "-qf")
	srv.Close()
	conns := strings.Count(strings.Join(srv.Log(), "\n"), "EHLO") - before
	fmt.Fprintf(&b, "connections in the queue run: %d\n", conns)
	fmt.Fprintf(&b, "after the queue run:\n%s", dumpIt())
	log, _ := os.ReadFile(filepath.Join(spoolDir, "log", "mainlog"))
	fmt.Fprintf(&b, "continued deliveries: %d\n", strings.Count(string(log), "]* "))
	for _, l := range strings.Split(string(log), "\n") {
		if c.anyOrder {
			break
		}
		if strings.Contains(l, " => ") || strings.Contains(l, " == ") {
			b.WriteString(l[strings.Index(l, " ")+1:][9:] + "\n")
		}
	}
	out := b.String()
	// Numbered in id order, the order of queue_run_in_order: with the
	// pids of the submitting processes wrapping, arrival order may
	// differ.
	ids := logIDs(dir)
	sort.Strings(ids)
	for i, id := range ids {
		out = strings.ReplaceAll(out, id, fmt.Sprintf("M%d", i+1))
	}
	return strings.ReplaceAll(out, dir, "DIR")
}
