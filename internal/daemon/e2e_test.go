package daemon_test

import (
	"bufio"
	"fmt"
	"net"
	"net/smtp"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// testConfig accepts every recipient and queues every message, with
// spool and logs under dir.
func testConfig(dir, extra string) string {
	return fmt.Sprintf(`primary_hostname = test.example
spool_directory = %[1]s/spool
log_file_path = %[1]s/log/%%slog
acl_smtp_rcpt = acl_r
queue_only = true
host_lookup =
%[2]s
begin acl
acl_r:
  accept
`, dir, extra)
}

// runDir makes a world-readable temporary directory with spool/ and log/
// owned by the Exim user when running as root (both daemons drop to it).
func runDir(t *testing.T, extra string) (dir, conf string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "exigo-daemon-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	for _, sub := range []string{"spool", "log"} {
		p := filepath.Join(dir, sub)
		os.Mkdir(p, 0o750)
		if os.Getuid() == 0 {
			if u, err := user.Lookup("Debian-exim"); err == nil {
				var uid, gid int
				fmt.Sscan(u.Uid, &uid)
				fmt.Sscan(u.Gid, &gid)
				os.Chown(p, uid, gid)
			}
		}
	}
	conf = filepath.Join(dir, "conf")
	os.WriteFile(conf, []byte(testConfig(dir, extra)), 0o644)
	return dir, conf
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startDaemon starts bin -bdf on port and waits until it accepts; the
// test stops it.
func startDaemon(t *testing.T, bin, conf string, port int) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "-C", conf, "-bdf", "-oX", fmt.Sprint(port))
	cmd.Env = append(os.Environ(), "TZ=UTC")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			return cmd
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s did not start listening on %d", bin, port)
	return nil
}

// stop sends SIGTERM and waits.
func stop(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Errorf("daemon did not stop on SIGTERM")
	}
}

// arrivals returns the "<=" lines of a main log.
func arrivals(t *testing.T, dir string) []string {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(dir, "log", "mainlog"))
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, " <= ") {
			out = append(out, l)
		}
	}
	return out
}

func waitArrivals(t *testing.T, dir string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		a := arrivals(t, dir)
		if len(a) >= n || time.Now().After(deadline) {
			return a
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDaemonRealClients(t *testing.T) {
	bin := oracletest.Exigo(t)
	dir, conf := runDir(t, "")
	port := freePort(t)
	cmd := startDaemon(t, bin, conf, port)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	want := 0

	// Go's net/smtp.
	if err := sendGo(addr, "go@client.example", "rcpt@test.example", "Subject: go\r\nMessage-ID: <go@x>\r\n\r\nfrom Go\r\n"); err != nil {
		t.Errorf("net/smtp: %v", err)
	}
	want++

	// Python's smtplib.
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		py := fmt.Sprintf(`import smtplib
s = smtplib.SMTP("127.0.0.1", %d)
s.sendmail("py@client.example", ["a@test.example", "b@test.example"], "Subject: py\r\nMessage-ID: <py@x>\r\n\r\nfrom Python\r\n")
s.quit()
`, port)
		if out, err := exec.Command("/usr/bin/python3", "-c", py).CombinedOutput(); err != nil {
			t.Errorf("smtplib: %v\n%s", err, out)
		}
		want++
	}

	// swaks.
	if _, err := exec.LookPath("swaks"); err == nil {
		out, err := exec.Command("swaks", "--server", addr, "-f", "sw@client.example", "-t", "c@test.example", "--ehlo", "swaks.example", "--header", "Message-ID: <sw@x>").CombinedOutput()
		if err != nil {
			t.Errorf("swaks: %v\n%s", err, out)
		}
		want++
	} else {
		oracletest.Missing(t, "swaks")
	}
	lines := waitArrivals(t, dir, want)
	stop(t, cmd)
	if len(lines) != want {
		t.Fatalf("got %d arrivals, want %d:\n%s", len(lines), want, strings.Join(lines, "\n"))
	}
	for _, l := range lines {
		// Go's net/smtp sends MAIL with SMTPUTF8 when it is offered:
		// Exim logs P=utf8esmtp for it.
		if !regexp.MustCompile(` <= \S+ H=\(\S+\) \[127\.0\.0\.1\] P=(utf8)?esmtp S=\d+ id=\S+$`).MatchString(l) {
			t.Errorf("unexpected arrival line %q", l)
		}
	}
	hs, _ := filepath.Glob(filepath.Join(dir, "spool", "input", "*-H"))
	if len(hs) != want {
		t.Errorf("%d -H files, want %d", len(hs), want)
	}
	mainlog, _ := os.ReadFile(filepath.Join(dir, "log", "mainlog"))
	if !regexp.MustCompile(`daemon started: pid=\d+, no queue runs, listening for SMTP on port \d+ \(IPv6 and IPv4\)`).Match(mainlog) {
		t.Errorf("no daemon started line:\n%s", mainlog)
	}
}

// mask hides what differs between two runs: times, ids, pids, ports and
// the Message-ID swaks makes from the time and its pid.
var maskRE = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d`), "DATE"},
	{regexp.MustCompile(`\b[0-9A-Za-z]{6}-[0-9A-Za-z]{6}-[0-9A-Za-z]{2}\b`), "ID"},
	{regexp.MustCompile(`pid=\d+`), "pid=N"},
	{regexp.MustCompile(`port \d+`), "port N"},
	{regexp.MustCompile(`id=\d+\.\d+@`), "id=SWAKS@"},
}

func mask(s string) string {
	for _, m := range maskRE {
		s = m.re.ReplaceAllString(s, m.with)
	}
	return s
}

// TestDaemonDifferential sends the same messages to real Exim's daemon
// and to exigo's with the same configuration and compares the "<=" and
// "daemon started" lines after masking.
func TestDaemonDifferential(t *testing.T) {
	exim := oracletest.Exim(t)
	if _, err := exec.LookPath("swaks"); err != nil {
		oracletest.Missing(t, "swaks")
	}
	bin := oracletest.Exigo(t)
	run := func(b string) []string {
		dir, conf := runDir(t, "")
		port := freePort(t)
		cmd := startDaemon(t, b, conf, port)
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		scripts := [][]string{
			{"-f", "a@b.example", "-t", "x@y.example,z@y.example", "--header", "Message-ID: <m1@x>"},
			{"-f", "a@b.example", "-t", "x@y.example", "--ehlo", "helo.example", "--add-header", "Subject: s"},
			{"-f", "<>", "-t", "bounce@y.example", "--helo", "old.example", "--suppress-data", "--body", "just a body"},
			{"-f", "big@b.example", "-t", "x@y.example", "--body", strings.Repeat("line of text\n", 500), "--header", "Message-ID: <big@x>"},
		}
		for _, s := range scripts {
			args := append([]string{"--server", addr, "--hide-all"}, s...)
			if out, err := exec.Command("swaks", args...).CombinedOutput(); err != nil {
				t.Errorf("%s: swaks %v: %v\n%s", b, s, err, out)
			}
		}
		waitArrivals(t, dir, len(scripts))
		stop(t, cmd)
		b2, _ := os.ReadFile(filepath.Join(dir, "log", "mainlog"))
		var out []string
		for _, l := range strings.Split(string(b2), "\n") {
			if strings.Contains(l, " <= ") || strings.Contains(l, "daemon started") {
				out = append(out, mask(l))
			}
		}
		return out
	}
	want := run(exim)
	got := run(bin)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("log lines differ\nexim:\n%s\nexigo:\n%s", strings.Join(want, "\n"), strings.Join(got, "\n"))
	}
}

// TestLocalSMTPDifferential compares -bs transcripts and log lines.
func TestLocalSMTPDifferential(t *testing.T) {
	exim := oracletest.Exim(t)
	bin := oracletest.Exigo(t)
	sessions := []string{
		"HELO me\r\nMAIL FROM:<>\r\nRCPT TO:<q@r.example>\r\nDATA\r\nSubject: hi\r\n\r\nbody\r\n.\r\nQUIT\r\n",
		"EHLO me\r\nMAIL FROM:<s@t.example>\r\nRCPT TO:<q@r.example>\r\nDATA\r\nSubject: hi\r\nMessage-ID: <x@y>\r\n\r\nbody\r\n.\r\nQUIT\r\n",
	}
	date := regexp.MustCompile(`\w\w\w, \d\d? \w\w\w \d{4} \d\d:\d\d:\d\d [+-]\d{4}`)
	for i, in := range sessions {
		var outs, logs [2]string
		for j, b := range []string{exim, bin} {
			dir, conf := runDir(t, "")
			r := oracletest.Run(t, b, in, "-C", conf, "-bs")
			outs[j] = mask(date.ReplaceAllString(r.Stdout, "DATE"))
			for _, l := range arrivalsOf(filepath.Join(dir, "log", "mainlog")) {
				logs[j] += mask(l) + "\n"
			}
		}
		if outs[0] != outs[1] {
			t.Errorf("session %d: replies differ\nexim:\n%s\nexigo:\n%s", i, outs[0], outs[1])
		}
		if logs[0] != logs[1] {
			t.Errorf("session %d: log differs\nexim:\n%s\nexigo:\n%s", i, logs[0], logs[1])
		}
	}
}

func arrivalsOf(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.Contains(sc.Text(), " <= ") {
			out = append(out, sc.Text())
		}
	}
	return out
}

// TestAcceptMax checks smtp_accept_max's refusal text.
func TestAcceptMax(t *testing.T) {
	bin := oracletest.Exigo(t)
	_, conf := runDir(t, "smtp_accept_max = 1")
	port := freePort(t)
	cmd := startDaemon(t, bin, conf, port)
	defer stop(t, cmd)
	// startDaemon's probe connection may still be counted: retry.
	var c1 net.Conn
	for i := 0; i < 50; i++ {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatal(err)
		}
		line, _ := bufio.NewReader(c).ReadString('\n')
		if strings.HasPrefix(line, "220 ") {
			c1 = c
			break
		}
		c.Close()
		time.Sleep(20 * time.Millisecond)
	}
	if c1 == nil {
		t.Fatal("no first connection")
	}
	defer c1.Close()
	c2, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	line, _ := bufio.NewReader(c2).ReadString('\n')
	if want := "421 Too many concurrent SMTP connections; please try again later.\r\n"; line != want {
		t.Errorf("got %q, want %q", line, want)
	}
}

// sendGo sends one message with Go's net/smtp, without STARTTLS (which
// exigo advertises but cannot do yet).
func sendGo(addr, from, to, msg string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("go.example"); err != nil {
		return err
	}
	if err := c.Mail(from); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(msg)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}
