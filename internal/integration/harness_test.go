package integration

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// Exim and libspf2 read only /etc/resolv.conf, and libspf2 passes every
// loopback client without asking DNS. So each scenario re-runs itself in
// new mount and network namespaces (unshare -m -n), where it brings lo
// up, gives it the extra address clientIP (swaks connects to the daemons
// there, so the client is not a loopback address) and bind-mounts a
// resolv.conf naming 127.0.0.1, where the SPF scenario serves its zone.

const (
	netnsEnv = "EXIGO_INTEGRATION_NETNS"
	binEnv   = "EXIGO_INTEGRATION_BIN"
	// clientIP is the address the daemons are reached on, and so the
	// address of the client they see.
	clientIP = "192.0.2.10"
)

// inNamespace re-runs the named test in private namespaces and returns
// false, or returns true when already there (having set them up).
func inNamespace(t *testing.T, name string) bool {
	t.Helper()
	oracletest.Exim(t)
	if _, err := exec.LookPath("swaks"); err != nil {
		oracletest.Missing(t, "swaks (apt-get install swaks)")
	}
	if os.Getenv(netnsEnv) != "" {
		for _, c := range [][]string{
			{"ip", "link", "set", "lo", "up"},
			{"ip", "addr", "add", clientIP + "/32", "dev", "lo"},
		} {
			if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
				t.Fatalf("%v: %v %s", c, err, out)
			}
		}
		resolv := filepath.Join(t.TempDir(), "resolv.conf")
		if err := os.WriteFile(resolv, []byte("nameserver 127.0.0.1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("mount", "--bind", resolv, "/etc/resolv.conf").CombinedOutput(); err != nil {
			t.Fatalf("mount: %v %s", err, out)
		}
		return true
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil || os.Geteuid() != 0 {
		oracletest.Missing(t, "root and unshare(1) (to give the daemons a private network and DNS)")
	}
	bin := oracletest.Exigo(t)
	// Each scenario has namespaces of its own: they can run together.
	t.Parallel()
	cmd := exec.Command(unshare, "-m", "-n", os.Args[0], "-test.run=^"+name+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), netnsEnv+"=1", binEnv+"="+bin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("in namespaces: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "--- SKIP") {
		t.Skipf("child skipped:\n%s", out)
	}
	t.Logf("%s", out)
	return false
}

// eximIDs gives the uid and gid of Debian's Exim user, which both
// daemons run as (exim_user in the configurations).
func eximIDs(t *testing.T) (uid, gid int) {
	t.Helper()
	u, err := user.Lookup("Debian-exim")
	if err != nil {
		oracletest.Missing(t, "the Debian-exim user (apt-get install exim4-daemon-heavy)")
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid
}

// daemon is one MTA (Exim or exigo) listening with -bdf on its own port,
// with its own directory holding the configuration, spool/, log/ and
// mail/.
type daemon struct {
	name string // "exim" or "exigo"
	bin  string
	dir  string
	conf string
	port int
	cmd  *exec.Cmd
	done chan struct{}
}

// pair is the same scenario run by Exim ([0]) and exigo ([1]).
type pair [2]*daemon

// commonMain is the start of every scenario's configuration: the
// daemons' user, their directories (@DIR@ is each daemon's own) and no
// DNS lookups of client names. Exim is started as root with -C, and its
// re-execs (deliveries, bounces) lose root: deliver_drop_privilege and
// transports that run as Debian-exim make that harmless, so no
// trusted_configs entry is needed.
const commonMain = `exim_user = Debian-exim
exim_group = Debian-exim
deliver_drop_privilege = true
never_users =
keep_environment =
primary_hostname = mx.test.example
spool_directory = @DIR@/spool
log_file_path = @DIR@/log/%slog
host_lookup =
rfc1413_hosts =
`

// startPair writes conf (commonMain is put first; @DIR@ is replaced by
// each daemon's directory) for Exim and for exigo and starts both.
func startPair(t *testing.T, conf string) pair {
	t.Helper()
	var p pair
	for i, b := range []struct{ name, bin string }{{"exim", oracletest.Exim(t)}, {"exigo", os.Getenv(binEnv)}} {
		if b.bin == "" {
			b.bin = oracletest.Exigo(t)
		}
		p[i] = startDaemon(t, b.name, b.bin, commonMain+conf)
	}
	return p
}

func startDaemon(t *testing.T, name, bin, conf string) *daemon {
	t.Helper()
	uid, gid := eximIDs(t)
	dir, err := os.MkdirTemp("", "exigo-integ-"+name+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	for _, sub := range []string{"spool", "log", "mail"} {
		p := filepath.Join(dir, sub)
		if err := os.Mkdir(p, 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	d := &daemon{name: name, bin: bin, dir: dir, conf: filepath.Join(dir, "exim.conf"), port: freePort(t)}
	if err := os.WriteFile(d.conf, []byte(strings.ReplaceAll(conf, "@DIR@", dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	d.start(t)
	return d
}

// start runs the daemon and waits until it accepts connections; the
// test stops it.
func (d *daemon) start(t *testing.T) {
	t.Helper()
	cmd := exec.Command(d.bin, "-C", d.conf, "-bdf", "-oX", strconv.Itoa(d.port))
	cmd.Env = append(os.Environ(), "TZ=UTC")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// Its own process group, so that stopping it stops its children.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", d.name, err)
	}
	d.cmd, d.done = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(d.done) }()
	t.Cleanup(d.stop)
	addr := net.JoinHostPort(clientIP, strconv.Itoa(d.port))
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		select {
		case <-d.done:
			t.Fatalf("%s -bdf exited at start:\n%s", d.name, out.String())
		default:
		}
		if c, err := net.Dial("tcp", addr); err == nil {
			// Read the banner so the probe is a whole (empty)
			// session rather than a lost connection.
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			c.Read(make([]byte, 512))
			c.Write([]byte("QUIT\r\n"))
			c.Read(make([]byte, 512))
			c.Close()
			return
		}
		time.Sleep(30 * time.Millisecond)
	}
	t.Fatalf("%s did not listen on %s", d.name, addr)
}

// stop ends the daemon (SIGTERM, then SIGKILL to its process group).
func (d *daemon) stop() {
	if d.cmd == nil {
		return
	}
	pgid := d.cmd.Process.Pid
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(5 * time.Second):
	}
	syscall.Kill(-pgid, syscall.SIGKILL)
	<-d.done
	d.cmd = nil
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", clientIP+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// fixedHeaders replace swaks's Date: and Message-Id:, made from the time
// and its pid, so both daemons see the same message.
var fixedHeaders = []string{
	"--header", "Date: Thu, 26 Nov 2026 10:00:00 +0000",
	"--header", "Message-Id: <integration@client.example>",
}

// swaks runs swaks against d with args and returns its transcript (and
// exit code, or the error that kept it from running).
func (d *daemon) swaks(args ...string) string {
	all := append([]string{"--server", clientIP, "--port", strconv.Itoa(d.port), "--timeout", "30"}, args...)
	cmd := exec.Command("swaks", all...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		return fmt.Sprintf("swaks: %v\n", err)
	}
	return fmt.Sprintf("%s[exit %d]\n", out.String(), code)
}

// masks hide what legitimately differs between the two daemons and two
// runs: message ids (also in Message-Id: headers), times and dates,
// pids, ports, the client's ephemeral port and the random part of the
// MIME boundaries of bounces.
var masks = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d`), "TIME"},
	{regexp.MustCompile(`<E[0-9A-Za-z]{6}-[0-9A-Za-z]{6}-[0-9A-Za-z]{2}@`), "<EMSGID@"},
	{regexp.MustCompile(`\b[0-9A-Za-z]{6}-[0-9A-Za-z]{6}-[0-9A-Za-z]{2}\b`), "MSGID"},
	{regexp.MustCompile(`\b\d+-eximdsn-\d+\b`), "BOUNDARY"},
	// The random number's width changes the length of a bounce's
	// Content-Type: line in its -H file and the bounce's size.
	{regexp.MustCompile(`(?m)^\d{3}(.*boundary=BOUNDARY)`), "NNN$1"},
	{regexp.MustCompile(`( <= <> .* S=)\d+`), "${1}N"},
	{regexp.MustCompile(`\b\w{3}, \d\d? \w{3} \d{4} \d\d:\d\d:\d\d [-+]\d{4}`), "DATE"},
	{regexp.MustCompile(`pid=\d+`), "pid=N"},
	{regexp.MustCompile(`port \d+`), "port N"},
	{regexp.MustCompile(`(` + regexp.QuoteMeta(clientIP) + `)[:.]\d+\b`), "$1:PORT"},
}

func mask(s string) string {
	for _, m := range masks {
		s = m.re.ReplaceAllString(s, m.with)
	}
	return s
}

// session runs swaks with args against both daemons (at the same time)
// and compares the masked transcripts; it returns 1 (the number of
// comparisons).
func (p pair) session(t *testing.T, name string, args ...string) int {
	t.Helper()
	var got [2]string
	var wg sync.WaitGroup
	for i, d := range p {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i] = mask(d.swaks(args...))
		}()
	}
	wg.Wait()
	if os.Getenv("EXIGO_INTEGRATION_DUMP") != "" {
		t.Logf("%s:\n%s", name, got[0])
	}
	if got[0] != got[1] {
		t.Errorf("%s: transcripts differ\n--- exim\n%s--- exigo\n%s", name, got[0], got[1])
	}
	return 1
}

// logLines returns the masked lines of log (mainlog or rejectlog) of d,
// less those that match skip.
func (d *daemon) logLines(log string, skip *regexp.Regexp) []string {
	b, _ := os.ReadFile(filepath.Join(d.dir, "log", log))
	var out []string
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if l == "" || skip != nil && skip.MatchString(l) {
			continue
		}
		out = append(out, mask(l))
	}
	return out
}

// daemonLines are log lines about the daemons themselves.
var daemonLines = regexp.MustCompile(`daemon started|exim \S+ daemon|SIGTERM|daemon .*stop`)

// compareLogs waits until both daemons' logs stop growing, then compares
// their main, reject and panic logs line by line, leaving out the lines
// about the daemons themselves. From the first line that matches sortFrom (when not nil)
// on, the lines are compared sorted: there the daemons write from
// processes that run at the same time (a bounce delivered while its
// message is finished). It returns the number of lines compared.
func (p pair) compareLogs(t *testing.T, sortFrom *regexp.Regexp) int {
	t.Helper()
	p.settle()
	n := 0
	for _, log := range []string{"mainlog", "rejectlog", "paniclog"} {
		var got [2][]string
		for i, d := range p {
			got[i] = d.logLines(log, daemonLines)
			if sortFrom != nil {
				for j, l := range got[i] {
					if sortFrom.MatchString(l) {
						sort.Strings(got[i][j:])
						break
					}
				}
			}
		}
		w, g := strings.Join(got[0], "\n"), strings.Join(got[1], "\n")
		if w != g {
			t.Errorf("%s differs\n--- exim\n%s\n--- exigo\n%s", log, w, g)
		}
		if os.Getenv("EXIGO_INTEGRATION_DUMP") != "" {
			t.Logf("%s:\n%s", log, w)
		}
		n += len(got[0])
	}
	return n
}

// settle waits (up to 10 s) until the logs of both daemons have stopped
// growing for a while: the last deliveries and log lines are written.
func (p pair) settle() {
	size := func() int64 {
		var n int64
		for _, d := range p {
			for _, log := range []string{"mainlog", "rejectlog", "paniclog"} {
				if fi, err := os.Stat(filepath.Join(d.dir, "log", log)); err == nil {
					n += fi.Size()
				}
			}
		}
		return n
	}
	last, stable := size(), 0
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && stable < 4; {
		time.Sleep(100 * time.Millisecond)
		if s := size(); s == last {
			stable++
		} else {
			last, stable = s, 0
		}
	}
}

// spoolMessages returns, sorted, the messages in d's queue: the header
// part of each -H file (after its recipients list) and, when withBody,
// the -D file after its first line (the id), masked.
func (d *daemon) spoolMessages(t *testing.T, withBody bool) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(d.dir, "spool", "input", "*-H"))
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if i := strings.Index(s, "\n\n"); i >= 0 {
			s = s[i+2:]
		}
		if withBody {
			b, err := os.ReadFile(strings.TrimSuffix(f, "-H") + "-D")
			if err != nil {
				t.Fatal(err)
			}
			_, body, _ := strings.Cut(string(b), "\n")
			s += "--- body\n" + body
		}
		out = append(out, mask(s))
	}
	sort.Strings(out)
	return out
}

// mailFiles returns the delivered maildir files under d's mail/ as
// "path: masked content", sorted (the file names differ: they are
// replaced by their maildir folder).
func (d *daemon) mailFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	root := filepath.Join(d.dir, "mail")
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, filepath.Dir(p))
		out = append(out, rel+": "+mask(string(b)))
		return nil
	})
	sort.Strings(out)
	return out
}

// compareLists reports the differences between Exim's list and exigo's.
func compareLists(t *testing.T, what string, want, got []string) int {
	t.Helper()
	if os.Getenv("EXIGO_INTEGRATION_DUMP") != "" {
		t.Logf("%s:\n%s", what, strings.Join(want, "\n====\n"))
	}
	if strings.Join(want, "\n====\n") != strings.Join(got, "\n====\n") {
		t.Errorf("%s differ\n--- exim (%d)\n%s\n--- exigo (%d)\n%s", what, len(want),
			strings.Join(want, "\n====\n"), len(got), strings.Join(got, "\n====\n"))
	}
	return len(want)
}
