package deliver_test

import (
	"fmt"
	"net"
	"net/smtp"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// The restart test (issue "Delivery and queue", done-when list):
// messages are queued by a daemon with queue_only, the daemon is
// stopped with SIGTERM, and a new daemon with periodic queue runs (or a
// -q run) delivers them all, each exactly once, to a maildir.

const restartConf = `exim_user = Debian-exim
exim_group = Debian-exim
spool_directory = DIR/spool
log_file_path = DIR/spool/log/%slog
primary_hostname = test.example
qualify_domain = test.example
domainlist local_domains = test.example
never_users =
keep_environment =
tls_advertise_hosts =
queue_only
acl_smtp_rcpt = acl_rcpt
begin acl
acl_rcpt:
  accept
begin routers
local:
  driver = accept
  domains = +local_domains
  local_parts = alice : bob
  transport = mdir
begin transports
mdir:
  driver = appendfile
  directory = DIR/mail/$local_part_data
  maildir_format
  user = Debian-exim
`

// restartMessages is how many messages each run queues.
const restartMessages = 8

func TestRestart(t *testing.T) {
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	oracletest.EximUser(t)
	for _, mode := range []string{"daemon_q1s", "daemon_q30s_then_q"} {
		t.Run(mode, func(t *testing.T) {
			want := runRestart(t, exim, mode)
			got := runRestart(t, exigo, mode)
			if want != got {
				t.Errorf("exim and exigo differ\n--- exim:\n%s\n--- exigo:\n%s", want, got)
			}
		})
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startDaemon starts bin as a foreground daemon and waits until it
// accepts connections.
func startDaemon(t *testing.T, bin, conf string, port int, extra ...string) *exec.Cmd {
	args := append([]string{"-C", conf, "-bdf", "-oX", strconv.Itoa(port)}, extra...)
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", bin, err)
	}
	for i := 0; i < 100; i++ {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			c.Close()
			return cmd
		}
		time.Sleep(50 * time.Millisecond)
	}
	stopDaemon(cmd)
	t.Fatalf("%s: daemon not listening on %d", bin, port)
	return nil
}

func stopDaemon(cmd *exec.Cmd) {
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
}

func spoolCount(dir string) int {
	n := 0
	filepath.Walk(filepath.Join(dir, "spool/input"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && strings.HasSuffix(p, "-H") {
			n++
		}
		return nil
	})
	return n
}

// runRestart queues restartMessages messages through bin's daemon,
// restarts it and returns what became of them, masked and sorted.
func runRestart(t *testing.T, bin, mode string) string {
	dir := oracletest.WorkDir(t, "exigo-e2e-", "spool", "mail")
	conf := filepath.Join(dir, "conf")
	os.WriteFile(conf, []byte(strings.ReplaceAll(restartConf, "DIR", dir)), 0o644)
	port := freePort(t)
	d := startDaemon(t, bin, conf, port)
	for i := 1; i <= restartMessages; i++ {
		to := "alice@test.example"
		if i%2 == 0 {
			to = "bob@test.example"
		}
		msg := fmt.Sprintf("From: s@test.example\r\nTo: %s\r\nSubject: restart %d\r\nMessage-Id: <restart-%d@test.example>\r\n\r\nmessage %d\r\n", to, i, i, i)
		if err := smtp.SendMail("127.0.0.1:"+strconv.Itoa(port), nil, "s@test.example", []string{to}, []byte(msg)); err != nil {
			stopDaemon(d)
			t.Fatalf("%s: message %d: %v", bin, i, err)
		}
	}
	stopDaemon(d)
	var b strings.Builder
	if n := spoolCount(dir); n != restartMessages {
		t.Errorf("%s: %d messages queued, want %d", bin, n, restartMessages)
	}
	switch mode {
	case "daemon_q1s":
		d = startDaemon(t, bin, conf, port, "-q1s")
	default:
		d = startDaemon(t, bin, conf, port, "-q30s")
	}
	deadline := time.Now().Add(10 * time.Second)
	for spoolCount(dir) > 0 && time.Now().Before(deadline) && mode == "daemon_q1s" {
		time.Sleep(100 * time.Millisecond)
	}
	if mode != "daemon_q1s" {
		// The daemon's first run starts at once; a -q run beside it
		// must not deliver anything twice.
		oracletest.Run(t, bin, "", "-C", conf, "-q")
		for spoolCount(dir) > 0 && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
	}
	stopDaemon(d)
	if n := spoolCount(dir); n != 0 {
		t.Errorf("%s: %d messages left in the spool", bin, n)
	}
	ids := map[string]int{}
	files := 0
	for _, who := range []string{"alice", "bob"} {
		ents, _ := os.ReadDir(filepath.Join(dir, "mail", who, "new"))
		for _, e := range ents {
			files++
			data, _ := os.ReadFile(filepath.Join(dir, "mail", who, "new", e.Name()))
			for _, l := range strings.Split(string(data), "\n") {
				if strings.HasPrefix(strings.ToLower(l), "message-id:") {
					ids[who+" "+strings.TrimSpace(l[11:])]++
				}
			}
		}
	}
	if files != restartMessages || len(ids) != restartMessages {
		t.Errorf("%s: %d files, %d distinct Message-IDs, want %d", bin, files, len(ids), restartMessages)
	}
	var keys []string
	for k, n := range ids {
		if n != 1 {
			t.Errorf("%s: %s delivered %d times", bin, k, n)
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b.WriteString(strings.Join(keys, "\n") + "\n")
	// The delivery lines, sorted: the order of a queue run is not
	// fixed (queue_run_in_order is false).
	log, _ := os.ReadFile(filepath.Join(dir, "spool/log/mainlog"))
	var lines []string
	for _, l := range strings.Split(string(log), "\n") {
		if strings.Contains(l, " => ") || strings.HasSuffix(l, " Completed") {
			l = idRE.ReplaceAllString(l, "ID")
			lines = append(lines, l[20:])
		}
	}
	sort.Strings(lines)
	b.WriteString(strings.Join(lines, "\n") + "\n")
	return b.String()
}
