package daemon_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// The RFC 1413 differential test runs real Exim's daemon and exigo's on
// the same configuration while a tiny identd written here answers on
// 127.0.0.1:113, case by case, and compares what each client sees, the
// main log and the spooled -H file (its -ident line and Received:).
// Port 113 needs root and must be free: the test re-runs itself in a
// private network namespace (unshare -n), where it brings lo up.

const (
	identNetnsEnv = "EXIGO_IDENT_NETNS"
	identBinEnv   = "EXIGO_IDENT_BIN"
)

// identCase is one answer of the test identd. In reply, CP and SP stand
// for the ports of the query; "~~" splits it into two writes 200ms
// apart. hold keeps the connection open that long after the reply.
type identCase struct {
	name  string
	reply string
	hold  time.Duration
}

var identCases = []identCase{
	{name: "user", reply: "CP , SP : USERID : UNIX : alice\r\n"},
	{name: "error", reply: "CP , SP : ERROR : NO-USER\r\n"},
	{name: "garbage", reply: "garbage\r\n"},
	{name: "long", reply: "CP , SP : USERID : UNIX : " + strings.Repeat("x", 1200) + "\r\n"},
	{name: "overlong", reply: "CP , SP : USERID : UNIX : " + strings.Repeat("w", 2100) + "\r\n"},
	{name: "noreply", hold: 2 * time.Second},
	{name: "no-newline", reply: "CP , SP : USERID : UNIX : bob", hold: 2 * time.Second},
	{name: "odd", reply: "CP,SP:USERID:UNIX,US-ASCII:\t  b o\x01\x7f\xe9\b\r\t:x  \r\n"},
	{name: "wrong-ports", reply: "1 , 2 : USERID : UNIX : bob\r\n"},
	{name: "split", reply: "CP , SP : USER~~ID : UNIX : split\r\n"},
	{name: "two-lines", reply: "CP , SP : USERID : OTHER : a:b:c\r\nCP , SP : USERID : UNIX : second\r\n"},
	{name: "quoting", reply: "CP , SP : USERID : UNIX : a\"b'c<d>@\\e\r\n"},
	{name: "empty-user", reply: "CP , SP : USERID : UNIX :   \r\n"},
	{name: "nul", reply: "CP , SP : USERID : UNIX : a\x00b\r\n"},
}

// identd is the test's ident server: it answers with the current case
// and counts the queries.
type identd struct {
	ln      net.Listener
	mu      sync.Mutex
	c       identCase
	queries int
	wg      sync.WaitGroup
}

func startIdentd(t *testing.T) *identd {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:113")
	if err != nil {
		t.Fatal(err)
	}
	d := &identd{ln: ln}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			d.wg.Add(1)
			go func() { defer d.wg.Done(); d.serve(c) }()
		}
	}()
	t.Cleanup(d.stop)
	return d
}

func (d *identd) stop() {
	d.ln.Close()
	d.wg.Wait()
}

func (d *identd) set(c identCase) {
	d.mu.Lock()
	d.c, d.queries = c, 0
	d.mu.Unlock()
}

func (d *identd) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.queries
}

func (d *identd) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	q, err := bufio.NewReaderSize(io1k{c}, 1024).ReadString('\n')
	if err != nil {
		return
	}
	cp, sp, _ := strings.Cut(strings.TrimSpace(q), ",")
	d.mu.Lock()
	ic := d.c
	d.queries++
	d.mu.Unlock()
	r := strings.ReplaceAll(ic.reply, "CP", strings.TrimSpace(cp))
	r = strings.ReplaceAll(r, "SP", strings.TrimSpace(sp))
	for i, part := range strings.Split(r, "~~") {
		if i > 0 {
			time.Sleep(200 * time.Millisecond)
		}
		c.Write([]byte(part))
	}
	time.Sleep(ic.hold)
}

// io1k reads at most 1024 bytes in all.
type io1k struct{ c net.Conn }

func (r io1k) Read(b []byte) (int, error) {
	if len(b) > 1024 {
		b = b[:1024]
	}
	return r.c.Read(b)
}

// identSession runs one SMTP conversation: each command and the reply
// to it, "<" for the server, ">" for the client.
func identSession(addr string, cmds []string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(c)
	var b strings.Builder
	read := func() error {
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return err
			}
			b.WriteString("< " + l)
			if len(l) < 4 || l[3] != '-' {
				return nil
			}
		}
	}
	if err := read(); err != nil {
		return b.String(), err
	}
	for _, cmd := range cmds {
		b.WriteString("> " + cmd + "\n")
		if _, err := c.Write([]byte(cmd + "\r\n")); err != nil {
			return b.String(), err
		}
		if err := read(); err != nil {
			return b.String(), err
		}
	}
	return b.String(), nil
}

var identSessionCmds = []string{
	"EHLO client.example",
	"MAIL FROM:<bad@example.org>",
	"MAIL FROM:<a@b.example>",
	"RCPT TO:<nobody@y.example>",
	"RCPT TO:<x@y.example>",
	"DATA",
	"Subject: ident\r\n\r\nbody\r\n.",
	"QUIT",
}

const identConfig = `primary_hostname = test.example
spool_directory = @DIR@/spool
log_file_path = @DIR@/log/%slog
queue_only = true
host_lookup =
@EXTRA@
acl_smtp_connect = acl_c
acl_smtp_mail = acl_m
acl_smtp_rcpt = acl_r
begin acl
acl_c:
  warn logwrite = ident=<$sender_ident> rcvhost=<$sender_rcvhost> fullhost=<$sender_fullhost>
  accept
acl_m:
  deny senders = bad@example.org
  accept
acl_r:
  deny local_parts = nobody
  accept
`

var identMasks = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d `), ""},
	{regexp.MustCompile(`\b[0-9A-Za-z]{6}-[0-9A-Za-z]{6}-[0-9A-Za-z]{2}\b`), "ID"},
	{regexp.MustCompile(`\]:\d+`), "]:PORT"},
	{regexp.MustCompile(`port=\d+`), "port=PORT"},
	{regexp.MustCompile(`\w{3}, \d\d? \w{3} \d{4} \d\d:\d\d:\d\d [-+]\d{4}`), "DATE"},
	{regexp.MustCompile(`S=\d+`), "S=N"},
}

func identMask(s string) string {
	for _, m := range identMasks {
		s = m.re.ReplaceAllString(s, m.with)
	}
	return s
}

// identDaemon is one daemon of the test, with its directory.
type identDaemon struct {
	name, dir, addr string
	cmd             *exec.Cmd
	logOff          int
}

func startIdentDaemon(t *testing.T, name, bin, extra string) *identDaemon {
	t.Helper()
	dir, conf := runDir(t, "")
	if !strings.Contains(extra, "log_selector") {
		extra += "\nlog_selector = +incoming_port"
	}
	if !strings.Contains(extra, "rfc1413_query_timeout") {
		extra += "\nrfc1413_query_timeout = 1s"
	}
	text := strings.ReplaceAll(strings.ReplaceAll(identConfig, "@DIR@", dir), "@EXTRA@", extra)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	d := &identDaemon{name: name, dir: dir, addr: fmt.Sprintf("127.0.0.1:%d", port)}
	d.cmd = startDaemon(t, bin, conf, port)
	// The start-up probe is a connection of its own, with its ident
	// call and its connect ACL's log line; what each case logs is read
	// from after that line.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && !strings.Contains(d.mainlog(), "ident=<"); {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	d.logOff = len(d.mainlog())
	return d
}

func (d *identDaemon) mainlog() string {
	b, _ := os.ReadFile(filepath.Join(d.dir, "log", "mainlog"))
	return string(b)
}

// newLog returns the main log lines written since the last call, less
// the daemon's own start-up lines.
func (d *identDaemon) newLog() string {
	all := d.mainlog()
	text := all[d.logOff:]
	d.logOff = len(all)
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// spooled returns the -ident line and the Received: header of the -H
// file of the message the transcript names ("250 OK id=...").
func (d *identDaemon) spooled(transcript string) string {
	m := regexp.MustCompile(`250 OK id=(\S+)`).FindStringSubmatch(transcript)
	if m == nil {
		return "(no message)"
	}
	b, err := os.ReadFile(filepath.Join(d.dir, "spool", "input", m[1]+"-H"))
	if err != nil {
		return err.Error()
	}
	var out []string
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "-ident ") {
			out = append(out, l)
		}
		if strings.Contains(l, "P Received: ") {
			// The Received: header runs to the next line that does
			// not start with a tab; its size prefix is masked.
			out = append(out, l[strings.Index(l, "P Received: "):])
			for _, c := range lines[i+1:] {
				if !strings.HasPrefix(c, "\t") {
					break
				}
				out = append(out, c)
			}
		}
	}
	return strings.Join(out, "\n")
}

// TestIdentDifferential compares Exim's and exigo's RFC 1413 handling
// with a test identd answering each case in turn.
func TestIdentDifferential(t *testing.T) {
	exim := oracletest.Exim(t)
	if os.Getenv(identNetnsEnv) == "" {
		unshare, err := exec.LookPath("unshare")
		if err != nil || os.Geteuid() != 0 {
			oracletest.Missing(t, "root and unshare(1) (to serve ident on port 113 in a private network)")
		}
		bin := oracletest.Exigo(t)
		cmd := exec.Command(unshare, "-n", os.Args[0], "-test.run=^TestIdentDifferential$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), identNetnsEnv+"=1", identBinEnv+"="+bin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("in a network namespace: %v\n%s", err, out)
		}
		if bytes.Contains(out, []byte("--- SKIP")) {
			t.Skipf("child skipped:\n%s", out)
		}
		t.Logf("%s", out)
		return
	}
	bin := os.Getenv(identBinEnv)
	if bin == "" {
		bin = oracletest.Exigo(t)
	}
	if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("ip link: %v %s", err, out)
	}
	id := startIdentd(t)
	configs := []struct {
		name, extra string
		cases       []identCase
		queries     bool
	}{
		// rfc1413_hosts left at its default, @[] (any local interface).
		{name: "default-hosts", cases: identCases, queries: true},
		{name: "star", extra: "rfc1413_hosts = *", cases: identCases[:1], queries: true},
		{name: "other-hosts", extra: "rfc1413_hosts = 192.0.2.1", cases: identCases[:1]},
		{name: "timeout-0", extra: "rfc1413_hosts = *\nrfc1413_query_timeout = 0s", cases: identCases[:1]},
	}
	compared := 0
	for _, cf := range configs {
		ds := [2]*identDaemon{startIdentDaemon(t, "exim", exim, cf.extra), startIdentDaemon(t, "exigo", bin, cf.extra)}
		for _, c := range cf.cases {
			var res [2][3]string
			var queries [2]int
			for i, d := range ds {
				id.set(c)
				tr, err := identSession(d.addr, identSessionCmds)
				if err != nil {
					t.Errorf("%s/%s: %s: %v\n%s", cf.name, c.name, d.name, err, tr)
				}
				queries[i] = id.count()
				res[i] = [3]string{identMask(tr), identMask(d.newLog()), identMask(d.spooled(tr))}
			}
			for k, what := range []string{"transcripts", "main logs", "spooled -ident and Received:"} {
				if res[0][k] != res[1][k] {
					t.Errorf("%s/%s: %s differ\n--- exim\n%s\n--- exigo\n%s", cf.name, c.name, what, res[0][k], res[1][k])
				}
			}
			if queries[0] != queries[1] || (queries[0] > 0) != cf.queries {
				t.Errorf("%s/%s: ident queries exim %d exigo %d", cf.name, c.name, queries[0], queries[1])
			}
			compared++
		}
		for _, d := range ds {
			stop(t, d.cmd)
		}
	}
	// No identd at all: the call is refused. Then one that never
	// accepts: the connection times out, which +ident_timeout logs.
	id.stop()
	for _, c := range []struct{ name, extra string }{
		{"refused", ""},
		{"connect-timeout", "log_selector = +incoming_port +ident_timeout"},
	} {
		if c.name == "connect-timeout" {
			fullBacklog(t)
		}
		ds := [2]*identDaemon{startIdentDaemon(t, "exim", exim, c.extra), startIdentDaemon(t, "exigo", bin, c.extra)}
		var res [2]string
		for i, d := range ds {
			tr, err := identSession(d.addr, identSessionCmds)
			if err != nil {
				t.Errorf("%s: %s: %v", c.name, d.name, err)
			}
			res[i] = identMask(tr) + "\n" + identMask(d.newLog()) + "\n" + identMask(d.spooled(tr))
			stop(t, d.cmd)
		}
		if res[0] != res[1] {
			t.Errorf("%s: results differ\n--- exim\n%s\n--- exigo\n%s", c.name, res[0], res[1])
		}
		if c.name == "connect-timeout" && !strings.Contains(res[0], "ident connection to 127.0.0.1 timed out") {
			t.Errorf("connect-timeout: no time-out line logged:\n%s", res[0])
		}
		compared++
	}
	t.Logf("%d ident cases compared (transcript, main log, -H file)", compared)
}

// fullBacklog listens on 127.0.0.1:113 with a backlog of one that a
// connection nobody accepts fills: later connections wait for a SYN-ACK
// that does not come, until they time out.
func fullBacklog(t *testing.T) {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Port: 113, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if c, err := net.DialTimeout("tcp", "127.0.0.1:113", 200*time.Millisecond); err == nil {
			t.Cleanup(func() { c.Close() })
		}
	}
}
