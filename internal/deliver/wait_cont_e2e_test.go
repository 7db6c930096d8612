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
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/oracletest"
	"github.com/exigo-mta/exigo/internal/transport/smtptest"
)

// waitContMessages is how many messages wait for the host: more than a
// wait record holds (50), so that a continuation record is made.
const waitContMessages = 60

// TestWaitContinuationDifferential lets 60 messages wait for a host
// that is down, then delivers the first with -oB 15 -M: the
// wait-remote_smtp records (the host's and its continuation record
// "host:0") before and after, and the messages delivered down the
// connection, must be Exim's; a bare -oB then allows one message per
// connection. Spec chapters "The Exim command line" (-oB) and "Exim
// utilities" (exim_dumpdb).
func TestWaitContinuationDifferential(t *testing.T) {
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
	want := runWaitContinuation(t, exim, []string{dumpdb}, uid, gid)
	got := runWaitContinuation(t, exigo, []string{exigo, "--tool", "exim_dumpdb"}, uid, gid)
	t.Logf("exim:\n%s", want)
	if want != got {
		t.Errorf("exim and exigo differ\n--- exim:\n%s\n--- exigo:\n%s", want, got)
	}
}

// runWaitContinuation runs the scenario with bin and returns what it
// observed, message ids replaced by M1, M2 ... in id order.
func runWaitContinuation(t *testing.T, bin string, dump []string, uid, gid int) string {
	dir, err := os.MkdirTemp("", "exigo-waitc-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	spoolDir := filepath.Join(dir, "spool")
	os.Mkdir(spoolDir, 0o750)
	os.Chown(spoolDir, uid, gid)
	port := closedPort(t)
	conf := strings.ReplaceAll(waitConf, "DIR", dir)
	conf = strings.ReplaceAll(conf, "PORT", strconv.Itoa(port))
	conf = strings.Replace(conf, "MAXMSG", "", 1)
	cf := filepath.Join(dir, "conf")
	os.WriteFile(cf, []byte(conf), 0o644)

	// Queued, then deferred in arrival order by one queue run: the
	// first finds the host down, the others its retry time not come.
	for i := 1; i <= waitContMessages; i++ {
		msg := fmt.Sprintf("Subject: wait %d\n\nbody\n", i)
		oracletest.Run(t, bin, msg, "-C", cf, "-odq", "-f", "sender@test.example", fmt.Sprintf("u%d@remote.example", i))
	}
	oracletest.Run(t, bin, "", "-C", cf, "-q")
	dumpIt := func() string {
		out, _ := exec.Command(dump[0], append(dump[1:], spoolDir, "wait-remote_smtp")...).CombinedOutput()
		lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
		sort.Strings(lines)
		return strings.Join(lines, "\n") + "\n"
	}
	// Numbered in id order, the order of queue_run_in_order: with the
	// pids of the submitting processes wrapping, arrival order may
	// differ.
	ids := logIDs(dir)
	sort.Strings(ids)
	var b strings.Builder
	fmt.Fprintf(&b, "after the deferrals:\n%s", dumpIt())

	srv := &smtptest.Server{Pipelining: true, Rcpt: func(string) string { return "250 Accepted" }}
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	srv.Serve(ln)
	defer srv.Close()
	logPath := filepath.Join(spoolDir, "log", "mainlog")
	// Exim's continued deliveries may outlive the command.
	waitDelivered := func(n int) string {
		deadline := time.Now().Add(20 * time.Second)
		for {
			b, _ := os.ReadFile(logPath)
			if strings.Count(string(b), " => ") >= n || time.Now().After(deadline) {
				time.Sleep(200 * time.Millisecond)
				b, _ = os.ReadFile(logPath)
				return string(b)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	step := func(name string, n int, args ...string) {
		oracletest.Run(t, bin, "", append([]string{"-C", cf}, args...)...)
		log := waitDelivered(n)
		fmt.Fprintf(&b, "after %s:\n%s", name, dumpIt())
		for _, l := range strings.Split(log, "\n") {
			if strings.Contains(l, " => ") {
				b.WriteString(l[strings.Index(l, " ")+1:][9:] + "\n")
			}
		}
	}
	step("-oB 15 -M M1", 15, "-oB", "15", "-M", ids[0])
	step("-oB -M M2", 16, "-oB", "-M", ids[1])
	out := b.String()
	for i := len(ids) - 1; i >= 0; i-- {
		out = strings.ReplaceAll(out, ids[i], fmt.Sprintf("M%d", i+1))
	}
	return strings.ReplaceAll(out, dir, "DIR")
}
