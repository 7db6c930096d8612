package daemon_test

import (
	"bufio"
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
	"syscall"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// privsepConfig delivers to local users (check_local_user): a maildir
// in the home directory, for "pipe-" local parts a pipe that writes the
// uid it runs as into the home directory, and for "slow-" ones a pipe
// that takes a minute.
func privsepConfig(dir string) string {
	return fmt.Sprintf(`primary_hostname = test.example
spool_directory = %[1]s/spool
log_file_path = %[1]s/log/%%slog
acl_smtp_rcpt = acl_r
host_lookup =
begin acl
acl_r:
  accept
begin routers
pipeuser:
  driver = accept
  local_part_prefix = pipe-
  check_local_user
  transport = idpipe
slowuser:
  driver = accept
  local_part_prefix = slow-
  check_local_user
  transport = slowpipe
local:
  driver = accept
  check_local_user
  transport = maildir
begin transports
maildir:
  driver = appendfile
  directory = $home/Maildir
  maildir_format
idpipe:
  driver = pipe
  command = /bin/sh -c "id -u > $home/id.out"
slowpipe:
  driver = pipe
  command = /bin/sleep 60
`, dir)
}

// needRoot skips a test that needs root (fails it under CI, which runs
// as root).
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		oracletest.Missing(t, "root (to test privilege separation)")
	}
}

// throwawayUser creates a user with home directory home (mode 0700, its
// own) for the test and removes it afterwards; it returns the login and
// uid.
func throwawayUser(t *testing.T, home string) (string, int) {
	t.Helper()
	name := fmt.Sprintf("exigopv%d", os.Getpid()%100000)
	if out, err := exec.Command("useradd", "-M", "-d", home, "-s", "/usr/sbin/nologin", name).CombinedOutput(); err != nil {
		oracletest.Missing(t, fmt.Sprintf("useradd (%v: %s)", err, out))
	}
	t.Cleanup(func() { exec.Command("userdel", name).Run() })
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	os.Chown(home, uid, gid)
	return name, uid
}

// privsepDir makes a 0755 directory with spool/ and log/ owned by
// Debian-exim and the configuration file.
func privsepDir(t *testing.T, top, name string) (dir, conf string) {
	t.Helper()
	return privsepDirWith(t, top, name, privsepConfig)
}

// privsepDirWith is privsepDir with the configuration that mkConfig
// makes for the directory.
func privsepDirWith(t *testing.T, top, name string, mkConfig func(dir string) string) (dir, conf string) {
	t.Helper()
	dir = filepath.Join(top, name)
	for _, sub := range []string{"", "spool", "log"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	u, err := user.Lookup("Debian-exim")
	if err != nil {
		oracletest.Missing(t, "the Debian-exim user")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	for _, sub := range []string{"spool", "log"} {
		os.Chown(filepath.Join(dir, sub), uid, gid)
	}
	conf = filepath.Join(dir, "conf")
	if err := os.WriteFile(conf, []byte(mkConfig(dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, conf
}

// startPrivsep starts bin -bdf on port with a pid file, waiting until it
// has logged its start.
func startPrivsep(t *testing.T, bin, conf, pidFile string, port int) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "-C", conf, "-bdf", "-oX", strconv.Itoa(port), "-oP", pidFile)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	// exigo's sockets accept as soon as the supervisor has bound them:
	// wait for the daemon's own line.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(filepath.Join(filepath.Dir(conf), "log", "mainlog"))
		if strings.Contains(string(b), "daemon started") {
			return cmd
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s did not start", bin)
	return nil
}

// waitLog waits until the main log in dir has n lines containing s.
func waitLog(t *testing.T, dir, s string, n int) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join(dir, "log", "mainlog"))
		if strings.Count(string(b), s) >= n {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %d %q lines; main log:\n%s", n, s, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var (
	logStamp = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d `)
	logID    = regexp.MustCompile(`\b[0-9A-Za-z]{6}-[0-9A-Za-z]{6}-[0-9A-Za-z]{2}\b`)
)

// deliveryLines returns the "=>" and "**" and "==" lines of a main log,
// masked and sorted.
func deliveryLines(log string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, " => ") || strings.Contains(l, " ** ") || strings.Contains(l, " == ") {
			out = append(out, logID.ReplaceAllString(logStamp.ReplaceAllString(l, ""), "ID"))
		}
	}
	sort.Strings(out)
	return out
}

// childOf returns the pid of the one child of pid.
func childOf(t *testing.T, pid int) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			n, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
			if err != nil {
				continue
			}
			// pid (comm) state ppid ...
			s := string(b)
			f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
			if len(f) > 1 && f[1] == strconv.Itoa(pid) {
				return n
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no child of %d", pid)
	return 0
}

// workersOf returns the pids of the local-delivery workers running as
// uid.
func workersOf(uid int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cl, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		st, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		if !strings.Contains(string(cl), "--local-delivery") {
			continue
		}
		for _, l := range strings.Split(string(st), "\n") {
			if f := strings.Fields(l); len(f) > 1 && f[0] == "Uid:" && f[1] == strconv.Itoa(uid) {
				out = append(out, pid)
			}
		}
	}
	return out
}

// procUID returns the real and effective uid of pid.
func procUID(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "Uid:") {
			return strings.Join(strings.Fields(l)[1:], " ")
		}
	}
	return ""
}

// TestPrivsepDifferential starts exigo and real Exim as root with the
// same configuration and sends each a message for a maildir and one for
// a pipe of a throwaway local user: both must deliver as that user, and
// their delivery lines must agree. Exim keeps root for its deliveries
// only with its configuration listed in /etc/exim4/trusted_configs, so
// the test runs again in a mount namespace where it bind-mounts one.
func TestPrivsepDifferential(t *testing.T) {
	needRoot(t)
	exim := oracletest.Exim(t)
	if os.Getenv("EXIGO_PRIVSEP_NS") == "" {
		unshare, err := exec.LookPath("unshare")
		if err != nil {
			oracletest.Missing(t, "unshare(1)")
		}
		cmd := exec.Command(unshare, "-m", os.Args[0], "-test.run=^TestPrivsepDifferential$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "EXIGO_PRIVSEP_NS=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("in a mount namespace: %v\n%s", err, out)
		}
		if strings.Contains(string(out), "--- SKIP") {
			t.Skipf("child skipped:\n%s", out)
		}
		t.Logf("%s", out)
		return
	}
	bin := oracletest.Exigo(t)
	top, err := os.MkdirTemp("", "exigo-privsep-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(top) })
	os.Chmod(top, 0o755)
	home := filepath.Join(top, "home")
	login, uid := throwawayUser(t, home)
	etc := filepath.Join(top, "etc-exim4")
	os.Mkdir(etc, 0o755)
	if err := os.WriteFile(filepath.Join(etc, "trusted_configs"), []byte(filepath.Join(top, "exim", "conf")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "--bind", etc, "/etc/exim4").CombinedOutput(); err != nil {
		t.Fatalf("mount: %v %s", err, out)
	}
	run := func(name, b string) []string {
		dir, conf := privsepDir(t, top, name)
		port := freePort(t)
		cmd := startPrivsep(t, b, conf, filepath.Join(dir, "pid"), port)
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		if b == bin {
			// The SMTP-serving process runs as exim_user.
			eu, _ := user.Lookup("Debian-exim")
			if got, want := procUID(t, childOf(t, cmd.Process.Pid)), strings.Repeat(eu.Uid+" ", 4); got+" " != want {
				t.Errorf("daemon child runs as uids %q, want %q", got, want)
			}
		}
		for _, rcpt := range []string{login, "pipe-" + login} {
			msg := "Subject: privsep\r\nMessage-ID: <" + rcpt + "@x>\r\n\r\nbody\r\n"
			if err := sendGo(addr, "a@client.example", rcpt+"@test.example", msg); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		log := waitLog(t, dir, "Completed", 2)
		stop(t, cmd)
		// The maildir file and the pipe's output belong to the user.
		news, _ := filepath.Glob(filepath.Join(home, "Maildir", "new", "*"))
		if len(news) != 1 {
			t.Errorf("%s: %d files in Maildir/new, want 1", name, len(news))
		}
		for _, p := range append(news, filepath.Join(home, "id.out")) {
			st, err := os.Stat(p)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			if got := int(st.Sys().(*syscall.Stat_t).Uid); got != uid {
				t.Errorf("%s: %s is owned by %d, want %d", name, p, got, uid)
			}
		}
		if b, _ := os.ReadFile(filepath.Join(home, "id.out")); strings.TrimSpace(string(b)) != strconv.Itoa(uid) {
			t.Errorf("%s: pipe ran as uid %q, want %d", name, strings.TrimSpace(string(b)), uid)
		}
		os.RemoveAll(filepath.Join(home, "Maildir"))
		os.Remove(filepath.Join(home, "id.out"))
		return deliveryLines(log)
	}
	want := run("exim", exim)
	got := run("exigo", bin)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("delivery lines differ\nexim:\n%s\nexigo:\n%s", strings.Join(want, "\n"), strings.Join(got, "\n"))
	}
	if len(want) != 2 {
		t.Errorf("exim logged %d delivery lines, want 2:\n%s", len(want), strings.Join(want, "\n"))
	}
}

// TestPrivsepSignals checks the supervisor's process handling: the pid
// file holds its pid; deliveries as one user share a worker, and one
// that died is replaced; SIGHUP reaches the daemon (which still delivers
// as other users afterwards) and retires the workers; SIGTERM lets a
// session in progress finish and stops every process; and a daemon
// that dies takes the supervisor with it.
func TestPrivsepSignals(t *testing.T) {
	needRoot(t)
	bin := oracletest.Exigo(t)
	top, err := os.MkdirTemp("", "exigo-privsig-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(top) })
	os.Chmod(top, 0o755)
	home := filepath.Join(top, "home")
	login, uid := throwawayUser(t, home)
	dir, conf := privsepDir(t, top, "exigo")
	pidFile := filepath.Join(dir, "pid")
	port := freePort(t)
	cmd := startPrivsep(t, bin, conf, pidFile, port)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if b, _ := os.ReadFile(pidFile); strings.TrimSpace(string(b)) != strconv.Itoa(cmd.Process.Pid) {
		t.Errorf("pid file holds %q, want the supervisor's %d", b, cmd.Process.Pid)
	}
	child := childOf(t, cmd.Process.Pid)

	// Two deliveries as the user share one worker, which stays.
	for i := 1; i <= 2; i++ {
		if err := sendGo(addr, "a@client.example", "pipe-"+login+"@test.example", "Subject: reuse\r\n\r\nbody\r\n"); err != nil {
			t.Fatal(err)
		}
		waitLog(t, dir, "Completed", i)
		if ws := workersOf(uid); len(ws) != 1 {
			t.Errorf("after delivery %d: workers %v, want one", i, ws)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(home, "id.out")); strings.TrimSpace(string(b)) != strconv.Itoa(uid) {
		t.Errorf("pipe ran as uid %q, want %d", strings.TrimSpace(string(b)), uid)
	}
	// A worker that dies while idle is replaced.
	for _, pid := range workersOf(uid) {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	if err := sendGo(addr, "a@client.example", login+"@test.example", "Subject: after kill\r\n\r\nbody\r\n"); err != nil {
		t.Fatal(err)
	}
	log := waitLog(t, dir, "Completed", 3)
	if n := strings.Count(log, "=> "+login+" <"+login+"@test.example> R=local T=maildir"); n != 1 {
		t.Errorf("delivery after a worker was killed: %d lines, want 1:\n%s", n, log)
	}

	// SIGHUP: the daemon re-reads its configuration, old workers go,
	// and deliveries as other users go on.
	cmd.Process.Signal(syscall.SIGHUP)
	waitLog(t, dir, fmt.Sprintf("pid=%d: SIGHUP received: re-exec daemon", cmd.Process.Pid), 1)
	deadline := time.Now().Add(3 * time.Second)
	for len(workersOf(uid)) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if ws := workersOf(uid); len(ws) > 0 {
		t.Errorf("workers %v still running after SIGHUP", ws)
	}
	os.Remove(filepath.Join(home, "id.out"))
	if err := sendGo(addr, "a@client.example", "pipe-"+login+"@test.example", "Subject: hup\r\n\r\nbody\r\n"); err != nil {
		t.Fatal(err)
	}
	log = waitLog(t, dir, "Completed", 4)
	if n := strings.Count(log, "=> "+login+" <pipe-"+login+"@test.example> R=pipeuser T=idpipe"); n != 3 {
		t.Errorf("%d pipe deliveries, want 3:\n%s", n, log)
	}
	if b, _ := os.ReadFile(filepath.Join(home, "id.out")); strings.TrimSpace(string(b)) != strconv.Itoa(uid) {
		t.Errorf("after SIGHUP, pipe ran as uid %q, want %d", strings.TrimSpace(string(b)), uid)
	}

	// SIGTERM in the middle of a transaction: the session finishes.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(line string) string {
		if line != "" {
			fmt.Fprintf(c, "%s\r\n", line)
		}
		var all string
		for {
			l, err := r.ReadString('\n')
			all += l
			if err != nil || len(l) < 4 || l[3] != '-' {
				return all
			}
		}
	}
	say("")
	say("EHLO client.example")
	say("MAIL FROM:<a@client.example>")
	say("RCPT TO:<" + login + "@test.example>")
	say("DATA")
	cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(200 * time.Millisecond)
	if got := say("Subject: drain\r\n\r\nbody\r\n."); !strings.HasPrefix(got, "250 ") {
		t.Errorf("after SIGTERM, end of data got %q, want 250", got)
	}
	say("QUIT")
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatalf("supervisor did not stop after SIGTERM")
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", child)); err == nil {
		t.Errorf("daemon %d still running after SIGTERM", child)
	}
	if _, err := os.Stat(pidFile); err == nil {
		t.Errorf("pid file left behind")
	}
	if ws := workersOf(uid); len(ws) > 0 {
		t.Errorf("workers %v still running after SIGTERM", ws)
	}
	// The message accepted while draining is logged and on the queue
	// (or already delivered).
	log = waitLog(t, dir, " <= ", 5)
	if in, _ := filepath.Glob(filepath.Join(dir, "spool", "input", "*-H")); len(in) == 0 && !strings.Contains(log, "=> "+login+" <"+login+"@test.example> R=local T=maildir") {
		t.Errorf("message accepted while draining is neither queued nor delivered:\n%s", log)
	}

	// A daemon killed takes its supervisor with it.
	cmd = startPrivsep(t, bin, conf, pidFile, port)
	child = childOf(t, cmd.Process.Pid)
	syscall.Kill(child, syscall.SIGKILL)
	done = make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("supervisor still running after its daemon was killed")
	}
}

// procsOf returns the pids of the processes running as uid.
func procsOf(uid int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		for _, l := range strings.Split(string(st), "\n") {
			if f := strings.Fields(l); len(f) > 1 && f[0] == "Uid:" && f[1] == strconv.Itoa(uid) {
				out = append(out, pid)
			}
		}
	}
	return out
}

// TestPrivsepStopBusy stops the daemon while a worker runs a slow pipe
// as another user: the supervisor tells the worker to stop, the pipe is
// killed, and nothing of the user's is left running.
func TestPrivsepStopBusy(t *testing.T) {
	needRoot(t)
	bin := oracletest.Exigo(t)
	top, err := os.MkdirTemp("", "exigo-privbusy-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(top) })
	os.Chmod(top, 0o755)
	login, uid := throwawayUser(t, filepath.Join(top, "home"))
	dir, conf := privsepDir(t, top, "exigo")
	port := freePort(t)
	cmd := startPrivsep(t, bin, conf, filepath.Join(dir, "pid"), port)
	if err := sendGo(fmt.Sprintf("127.0.0.1:%d", port), "a@client.example", "slow-"+login+"@test.example", "Subject: slow\r\n\r\nbody\r\n"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(procsOf(uid)) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if ps := procsOf(uid); len(ps) < 2 {
		t.Fatalf("worker and pipe not running: %v", ps)
	}
	start := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("supervisor did not stop")
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("stopping took %v", d)
	}
	deadline = time.Now().Add(3 * time.Second)
	for len(procsOf(uid)) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if ps := procsOf(uid); len(ps) > 0 {
		t.Errorf("processes of the user still running: %v", ps)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "log", "mainlog"))
	if strings.Contains(string(b), " => ") {
		t.Errorf("the slow pipe counts as delivered:\n%s", b)
	}
}
