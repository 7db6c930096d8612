package cli

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// queueSelConf routes everything to a closed port on 127.0.0.1 (PORT),
// so that deliveries defer, with a retry rule that makes the next queue
// run wait.
const queueSelConf = `primary_hostname = test.example
spool_directory = DIR/spool
log_file_path = DIR/log/%%slog
keep_environment =
log_selector = %s
begin routers
r:
  driver = manualroute
  route_list = * 127.0.0.1::PORT
  self = send
  transport = t
begin transports
t:
  driver = smtp
  allow_localhost
begin retry
* * F,1h,10m
`

var queueSelMasks = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{3})?( \[\d+\])?`), "DATE"},
	{regexp.MustCompile(`\bE?[0-9A-Za-z]{6}-[0-9A-Za-z]{6}-[0-9A-Za-z]{2}\b`), "ID"},
	{regexp.MustCompile(`pid=\d+`), "pid=N"},
	{regexp.MustCompile(`(\[[0-9.]+\]):\d+`), "$1:PORT"},
	{regexp.MustCompile(`\b(QT|DT|RT|D)=[0-9.hms]+`), "$1=T"},
	{regexp.MustCompile(`cwd=\S+ (\d+) args: \S+`), "cwd=DIR $1 args: ARGV0"},
}

// TestQueueRunSelectorDifferential submits a message whose delivery
// defers, runs the queue before its retry time, and compares the main
// logs of Exim and exigo under several log_selector settings (queue_run,
// retry_defer and the items of "==" lines).
func TestQueueRunSelectorDifferential(t *testing.T) {
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	uid, gid := oracletest.EximUser(t)
	for _, sel := range []string{"", "-retry_defer -queue_run", "+all"} {
		t.Run(strings.ReplaceAll(sel, " ", "_"), func(t *testing.T) {
			flow := func(bin, conf string) {
				oracletest.Run(t, bin, "Subject: x\n\nbody\n", "-C", conf, "-odi", "-f", "a@b.example", "u@remote.example")
				oracletest.Run(t, bin, "", "-C", conf, "-q")
			}
			want, got := runQueueFlow(t, exim, sel, uid, gid, flow), runQueueFlow(t, exigo, sel, uid, gid, flow)
			if strings.Join(want, "\n") != strings.Join(got, "\n") {
				t.Errorf("main logs differ\n--- exim\n%s\n--- exigo\n%s", strings.Join(want, "\n"), strings.Join(got, "\n"))
			}
		})
	}
}

var msgIDRE = regexp.MustCompile(`\b[0-9A-Za-z]{6}-[0-9A-Za-z]{6}-[0-9A-Za-z]{2}\b`)

// runQueueFlow runs flow (bin and the path of a queueSelConf
// configuration with log_selector sel) in a fresh spool and returns the
// main log, masked.
func runQueueFlow(t *testing.T, bin, sel string, uid, gid int, flow func(bin, conf string)) []string {
	t.Helper()
	dir, err := os.MkdirTemp("", "exigo-qsel-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	for _, sub := range []string{"spool", "log"} {
		os.Mkdir(filepath.Join(dir, sub), 0o750)
		os.Chown(filepath.Join(dir, sub), uid, gid)
	}
	conf := filepath.Join(dir, "conf")
	text := strings.NewReplacer("DIR", dir, "PORT", strconv.Itoa(closedPort(t))).Replace(fmt.Sprintf(queueSelConf, sel))
	os.WriteFile(conf, []byte(text), 0o644)
	flow(bin, conf)
	b, _ := os.ReadFile(filepath.Join(dir, "log", "mainlog"))
	var out []string
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		// Exim runs itself again to deliver (-Mc), which logs its
		// arguments; exigo delivers in the same process.
		if strings.Contains(l, "lost privilege") || strings.Contains(l, "Warning:") || strings.HasPrefix(l, " ") || strings.Contains(l, " -Mc ") {
			continue
		}
		for _, m := range queueSelMasks {
			l = m.re.ReplaceAllString(l, m.with)
		}
		out = append(out, strings.ReplaceAll(l, dir, "DIR"))
	}
	return out
}

// TestSkipDeliveryDifferential freezes a queued message and runs the
// queue: "Message is frozen" is under skip_delivery.
func TestSkipDeliveryDifferential(t *testing.T) {
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	uid, gid := oracletest.EximUser(t)
	flow := func(bin, conf string) {
		oracletest.Run(t, bin, "Subject: x\n\nbody\n", "-C", conf, "-odq", "-f", "a@b.example", "u@remote.example")
		list := oracletest.Run(t, bin, "", "-C", conf, "-bp")
		for _, id := range msgIDRE.FindAllString(list.Stdout, -1) {
			oracletest.Run(t, bin, "", "-C", conf, "-Mf", id)
		}
		oracletest.Run(t, bin, "", "-C", conf, "-q")
	}
	for _, sel := range []string{"", "-skip_delivery"} {
		want, got := runQueueFlow(t, exim, sel, uid, gid, flow), runQueueFlow(t, exigo, sel, uid, gid, flow)
		if strings.Join(want, "\n") != strings.Join(got, "\n") {
			t.Errorf("log_selector %q: main logs differ\n--- exim\n%s\n--- exigo\n%s", sel, strings.Join(want, "\n"), strings.Join(got, "\n"))
		}
	}
}

// closedPort returns a loopback port that nothing listens on (it was
// free a moment ago).
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
