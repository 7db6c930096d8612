package daemon_test

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// logselConfig refuses 127.0.0.2 at connect and accepts everything else;
// messages are only queued.
func logselConfig(dir, selector string) string {
	return fmt.Sprintf(`primary_hostname = test.example
spool_directory = %[1]s/spool
log_file_path = %[1]s/log/%%slog
keep_environment =
log_selector = %[2]s
acl_smtp_connect = acl_c
acl_smtp_rcpt = acl_r
queue_only = true
host_lookup =
begin acl
acl_c:
  deny hosts = 127.0.0.2
  accept
acl_r:
  accept
`, dir, selector)
}

// A logselSession is one client: the address it connects from, the
// lines it sends (each answered before the next, except message
// lines), and whether it drops the connection without QUIT.
type logselSession struct {
	from  string
	lines []string
}

// logselSessions are the sessions of the comparison: a normal QUIT, a
// message, a connection dropped in the middle of DATA, bad commands, no
// MAIL, an incomplete transaction ended by QUIT and one ended by a lost
// connection, a connection lost before MAIL, one refused at connect, and
// one that starts TLS and sends no MAIL.
var logselSessions = []logselSession{
	{"127.0.0.1", []string{"EHLO x", "QUIT"}},
	{"127.0.0.1", []string{"EHLO x", "MAIL FROM:<a@b.example>", "RCPT TO:<c@d.example>", "DATA", "Subject: s\r\n\r\nbody\r\n.", "QUIT"}},
	{"127.0.0.1", []string{"EHLO x", "MAIL FROM:<a@b.example>", "RCPT TO:<c@d.example>", "DATA", "Subject: s\r\n\r\npart of a body"}},
	{"127.0.0.1", []string{"EHLO x", "FOO", "MAIL FROM:<a@b.example> BAR=1", "RCPT TO:<c@d.example>", "QUIT"}},
	{"127.0.0.1", []string{"EHLO x", "NOOP", "VRFY a", "QUIT"}},
	{"127.0.0.1", []string{"EHLO x", "MAIL FROM:<a@b.example>", "RCPT TO:<c@d.example>", "RSET", "MAIL FROM:<>", "RCPT TO:<e@d.example>", "QUIT"}},
	{"127.0.0.1", []string{"EHLO x", "MAIL FROM:<a@b.example>", "RCPT TO:<c@d.example>"}},
	{"127.0.0.1", []string{"HELO y"}},
	{"127.0.0.2", []string{"EHLO x", "QUIT"}},
	{"127.0.0.1", []string{"EHLO x", "STARTTLS", "EHLO y", "QUIT"}},
}

// runLogselSession plays one session against addr, then waits for the
// server to close the connection and for the main log to stop growing.
func runLogselSession(t *testing.T, addr string, s logselSession, mainlog string) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(s.from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("connect from %s: %v", s.from, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	readReply := func() bool {
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return false
			}
			if len(l) < 4 || l[3] != '-' {
				return true
			}
		}
	}
	if !readReply() {
		return
	}
	quit := false
	for _, l := range s.lines {
		if l == "STARTTLS" {
			io.WriteString(c, l+"\r\n")
			if !readReply() {
				break
			}
			tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true})
			if err := tc.Handshake(); err != nil {
				t.Fatalf("TLS: %v", err)
			}
			c, r = tc, bufio.NewReader(tc)
			continue
		}
		io.WriteString(c, l+"\r\n")
		if strings.HasPrefix(l, "Subject:") && !strings.HasSuffix(l, ".") {
			break // dropped in the middle of the message
		}
		if !readReply() {
			break
		}
		quit = l == "QUIT"
	}
	if quit {
		io.Copy(io.Discard, r)
	}
	c.Close()
	// Exim writes some lines after the connection has closed.
	waitLogSettle(mainlog)
}

// waitLogSettle waits until the file at path has not grown for 100 ms.
func waitLogSettle(mainlog string) {
	last, still := int64(-1), 0
	for still < 4 {
		time.Sleep(25 * time.Millisecond)
		fi, err := os.Stat(mainlog)
		size := int64(0)
		if err == nil {
			size = fi.Size()
		}
		if size == last {
			still++
		} else {
			last, still = size, 0
		}
	}
}

// startDaemonQuietly starts bin -bdf on port and waits for its "daemon
// started" log line (startDaemon's probe connection would be logged).
func startDaemonQuietly(t *testing.T, bin, conf string, port int, mainlog string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "-C", conf, "-bdf", "-oX", fmt.Sprint(port))
	cmd.Env = append(os.Environ(), "TZ=UTC")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if b, _ := os.ReadFile(mainlog); strings.Contains(string(b), "daemon started") {
			return cmd
		}
	}
	t.Fatalf("%s did not start on %d", bin, port)
	return nil
}

// logselMasks hide what differs between two daemons and two runs.
var logselMasks = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{3})?`), "DATE"},
	{regexp.MustCompile(`^DATE \[\d+\]`), "DATE [PID]"},
	{regexp.MustCompile(`\b[0-9A-Za-z]{6}-[0-9A-Za-z]{6}-[0-9A-Za-z]{2}\b`), "ID"},
	{regexp.MustCompile(`pid=\d+`), "pid=N"},
	{regexp.MustCompile(`port \d+`), "port N"},
	{regexp.MustCompile(`\]:\d+`), "]:PORT"},
	{regexp.MustCompile(`\b(D|RT)=[0-9.hms]+`), "$1=T"},
	{regexp.MustCompile(`cwd=\S+ (\d+) args: \S+ .*`), "cwd=DIR $1 args: ARGS"},
	// GnuTLS and Go's crypto/tls agree on TLS 1.3 but name and pick
	// ciphers differently.
	{regexp.MustCompile(`X=TLS1\.3:\S+`), "X=TLS1.3:CIPHER"},
}

func logselMask(s string) string {
	for _, m := range logselMasks {
		s = m.re.ReplaceAllString(s, m.with)
	}
	return s
}

// TestLogSelectorDaemonDifferential runs the same sessions against real
// Exim's daemon and exigo's with log_selector = +all, -all and the
// connection items, and compares the main logs line by line after masking times,
// process ids, message ids, ports and durations.
func TestLogSelectorDaemonDifferential(t *testing.T) {
	exim := oracletest.Exim(t)
	bin := oracletest.Exigo(t)
	for _, sel := range []struct{ name, value string }{
		{"all", "+all"},
		{"none", "-all"},
		{"connection", "+smtp_connection +smtp_no_mail +smtp_incomplete_transaction -lost_incoming_connection -connection_reject"},
	} {
		t.Run(sel.name, func(t *testing.T) {
			run := func(b string) []string {
				dir, conf := runDir(t, "")
				os.WriteFile(conf, []byte(logselConfig(dir, sel.value)), 0o644)
				port := freePort(t)
				mainlog := filepath.Join(dir, "log", "mainlog")
				cmd := startDaemonQuietly(t, b, conf, port, mainlog)
				for _, s := range logselSessions {
					runLogselSession(t, fmt.Sprintf("127.0.0.1:%d", port), s, mainlog)
				}
				stop(t, cmd)
				b2, _ := os.ReadFile(mainlog)
				var out []string
				for _, l := range strings.Split(strings.TrimRight(string(b2), "\n"), "\n") {
					if strings.Contains(l, "daemon started") || strings.Contains(l, "Warning:") || strings.HasPrefix(l, " ") {
						continue
					}
					out = append(out, logselMask(l))
				}
				return out
			}
			want := run(exim)
			got := run(bin)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("main logs differ\n%s", lineDiff(want, got))
			}
		})
	}
}

// lineDiff shows two lists of lines side by side where they differ:
// "=" for the same line, "-" for Exim's, "+" for exigo's.
func lineDiff(want, got []string) string {
	var b strings.Builder
	for i := 0; i < len(want) || i < len(got); i++ {
		w, g := "", ""
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w == g {
			fmt.Fprintf(&b, "= %s\n", w)
			continue
		}
		fmt.Fprintf(&b, "- %s\n+ %s\n", w, g)
	}
	return b.String()
}

// TestLogSelectorRefusedDifferential holds one connection open with
// smtp_accept_max = 1, is refused a second, and compares the refusal and
// the main logs of Exim and exigo under +smtp_connection and under
// -connection_reject.
func TestLogSelectorRefusedDifferential(t *testing.T) {
	exim := oracletest.Exim(t)
	bin := oracletest.Exigo(t)
	for _, sel := range []string{"+smtp_connection", "-connection_reject"} {
		t.Run(sel, func(t *testing.T) {
			run := func(b string) []string {
				dir, conf := runDir(t, "")
				os.WriteFile(conf, []byte("smtp_accept_max = 1\n"+logselConfig(dir, sel)), 0o644)
				port := freePort(t)
				mainlog := filepath.Join(dir, "log", "mainlog")
				cmd := startDaemonQuietly(t, b, conf, port, mainlog)
				addr := fmt.Sprintf("127.0.0.1:%d", port)
				c1, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				c1.SetDeadline(time.Now().Add(10 * time.Second))
				r1 := bufio.NewReader(c1)
				r1.ReadString('\n')
				waitLogSettle(mainlog)
				c2, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				c2.SetDeadline(time.Now().Add(10 * time.Second))
				refusal, _ := bufio.NewReader(c2).ReadString('\n')
				c2.Close()
				waitLogSettle(mainlog)
				io.WriteString(c1, "QUIT\r\n")
				io.Copy(io.Discard, r1)
				c1.Close()
				waitLogSettle(mainlog)
				stop(t, cmd)
				out := []string{"reply: " + refusal}
				b2, _ := os.ReadFile(mainlog)
				for _, l := range strings.Split(strings.TrimRight(string(b2), "\n"), "\n") {
					if strings.Contains(l, "daemon started") || strings.Contains(l, "Warning:") || strings.HasPrefix(l, " ") {
						continue
					}
					out = append(out, logselMask(l))
				}
				return out
			}
			want, got := run(exim), run(bin)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("refusals differ\n%s", lineDiff(want, got))
			}
		})
	}
}
