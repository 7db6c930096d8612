package cli_test

import (
	"bufio"
	"fmt"
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

// liveConf exercises the MIME ACL, regex, decode and PRDR in a daemon.
const liveConf = `primary_hostname = test.example
spool_directory = @DIR@/spool
log_file_path = @DIR@/log/%s
prdr_enable = true
queue_only = true
tls_advertise_hosts =
acl_smtp_rcpt = ok
acl_smtp_mime = m
acl_smtp_data_prdr = pr
acl_smtp_data = d
begin acl
ok:
  accept
m:
  deny mime_regex = forbidden
       message = part $mime_part_count forbidden
  warn decode = default
       logwrite = part $mime_part_count $mime_content_type size=$mime_content_size an=$mime_anomaly_level
  accept
pr:
  deny local_parts = ^bad
  accept
d:
  warn regex = ^Subject: (.*)
       logwrite = subject $regex1
  accept
`

// liveDialogue is sent line by line; a line "<N" reads N replies.
var liveDialogue = []string{
	"EHLO client", "<1",
	"MAIL FROM:<a@b.example> PRDR", "<1",
	"RCPT TO:<good@d.example>", "<1",
	"RCPT TO:<bad@d.example>", "<1",
	"DATA", "<1",
	"Subject: hello there\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\naGVs bG8K\r\n--zz--\r\n.", "<4",
	"MAIL FROM:<a@b.example>", "<1",
	"RCPT TO:<x@d.example>", "<1",
	"DATA", "<1",
	"Subject: two\r\nContent-Type: text/plain\r\n\r\nthis is forbidden\r\n.", "<1",
	"QUIT", "<1",
}

var liveMask = regexp.MustCompile(`\b[0-9A-Za-z]{6}-[0-9A-Za-z]{6}-[0-9A-Za-z]{2}\b`)

// runLive starts bin as a daemon on a free port, runs the dialogue and
// returns the replies and the main log (ids masked, times cut).
func runLive(t *testing.T, bin string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "exigo-live-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, d := range []string{"", "spool", "log"} {
		os.MkdirAll(filepath.Join(dir, d), 0o777)
		os.Chmod(filepath.Join(dir, d), 0o777)
	}
	conf := filepath.Join(dir, "exim.conf")
	os.WriteFile(conf, []byte(strings.ReplaceAll(liveConf, "@DIR@", dir)), 0o644)
	c, br := dialLiveDaemon(t, bin, conf, dir)
	var out strings.Builder
	readReply := func() { readSMTPReply(br, &out) }
	readReply() // banner
	for _, l := range liveDialogue {
		if strings.HasPrefix(l, "<") {
			var n int
			fmt.Sscan(l[1:], &n)
			for i := 0; i < n; i++ {
				readReply()
			}
			continue
		}
		fmt.Fprintf(c, "%s\r\n", l)
	}
	out.WriteString(liveLog(dir))
	if entries, _ := os.ReadDir(filepath.Join(dir, "spool", "scan")); len(entries) > 0 {
		out.WriteString(fmt.Sprintf("== %d scan directories left\n", len(entries)))
	}
	return liveMask.ReplaceAllString(out.String(), "<ID>")
}

// dialLiveDaemon starts bin as a daemon with the configuration file
// conf (its pid file in dir) on a free loopback port and returns a
// connection to it with a reader and a 20 s deadline. The daemon is
// killed when the test ends.
func dialLiveDaemon(t *testing.T, bin, conf, dir string) (net.Conn, *bufio.Reader) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin, "-C", conf, "-bdf", "-oX", fmt.Sprint(port), "-oP", filepath.Join(dir, "pid"))
	cmd.Env = append(os.Environ(), "TZ=UTC")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var c net.Conn
	for i := 0; i < 100; i++ {
		if c, err = net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if c == nil {
		t.Fatalf("%s did not listen: %v", bin, err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return c, bufio.NewReader(c)
}

// readSMTPReply copies one (possibly multi-line) reply from br to out,
// or "ERR ..." when the connection fails.
func readSMTPReply(br *bufio.Reader, out *strings.Builder) {
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			out.WriteString("ERR " + err.Error() + "\n")
			return
		}
		out.WriteString(line)
		if len(line) < 4 || line[3] != '-' {
			return
		}
	}
}

// liveLog waits for the daemon's last lines and returns its main log
// under "== log", without times, continuation lines and start-up
// notices (a bounce's subject is cut after MAILER-DAEMON).
func liveLog(dir string) string {
	time.Sleep(300 * time.Millisecond)
	logText, _ := os.ReadFile(filepath.Join(dir, "log", "main"))
	var out strings.Builder
	out.WriteString("== log\n")
	for _, l := range strings.Split(string(logText), "\n") {
		if len(l) < 20 || strings.HasPrefix(l, " ") || strings.Contains(l, "purging the environment") || strings.Contains(l, "daemon started") {
			continue
		}
		if strings.Contains(l, "subject From MAILER-DAEMON") {
			l = l[:strings.Index(l, "MAILER-DAEMON")+13]
		}
		out.WriteString(l[20:] + "\n")
	}
	return out.String()
}

// TestLiveInboundOracle compares a daemon session using the MIME ACL,
// regex, mime_regex, decode and PRDR between Exim and exigo.
func TestLiveInboundOracle(t *testing.T) {
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	want := runLive(t, exim)
	got := runLive(t, exigo)
	want = regexp.MustCompile(`(?m)^220 .*\n`).ReplaceAllString(want, "220\n")
	got = regexp.MustCompile(`(?m)^220 .*\n`).ReplaceAllString(got, "220\n")
	if want != got {
		t.Errorf("differs\n--- exim\n%s\n--- exigo\n%s", want, got)
	}
}
