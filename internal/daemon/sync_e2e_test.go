package daemon_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// rawCase is a client session over a plain socket: each step is sent in
// one write, and the replies that arrive within a short wait are kept.
// wait true reads on until the server closes (timeouts).
type rawCase struct {
	name  string
	steps []string
	wait  bool
}

var syncCases = []rawCase{
	// smtp_enforce_sync: without PIPELINING (HELO), MAIL or RCPT with
	// more input behind it is refused and the connection closed.
	{"helo-mail-rcpt", []string{"HELO a\r\n", "MAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\n"}, false},
	{"helo-mail-rcpt-data", []string{"HELO a\r\n", "MAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\nDATA\r\n"}, false},
	{"helo-rcpt-data", []string{"HELO a\r\n", "MAIL FROM:<a@b>\r\n", "RCPT TO:<x@y>\r\nDATA\r\n"}, false},
	{"helo-noop-noop", []string{"HELO a\r\n", "NOOP\r\nNOOP\r\n"}, false},
	{"helo-vrfy-noop", []string{"HELO a\r\n", "VRFY a@b\r\nNOOP\r\n"}, false},
	{"helo-with-mail", []string{"HELO a\r\nMAIL FROM:<a@b>\r\n"}, false},
	{"ehlo-pipelined", []string{"EHLO a\r\n", "MAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\nDATA\r\n", "Subject: s\r\n\r\nbody\r\n.\r\nQUIT\r\n"}, false},
	// smtp_receive_timeout, while waiting for a command and inside DATA.
	{"timeout-mail", []string{"EHLO a\r\n", "MAIL FROM:<a@b>\r\n"}, true},
	{"timeout-header", []string{"EHLO a\r\n", "MAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\nDATA\r\n", "Subject: x\r\n"}, true},
	{"timeout-body", []string{"EHLO a\r\n", "MAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\nDATA\r\n", "Subject: x\r\n\r\nbody"}, true},
}

func runRaw(port int, c rawCase) string {
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return err.Error()
	}
	defer conn.Close()
	var out strings.Builder
	buf := make([]byte, 8192)
	closed := false
	// grace is how long to wait for more after a complete reply line;
	// after the last step it is longer, so that a close that follows the
	// last reply is seen even on a loaded machine.
	grace := 150 * time.Millisecond
	read := func(d time.Duration) {
		if closed {
			return
		}
		conn.SetReadDeadline(time.Now().Add(d))
		for {
			n, err := conn.Read(buf)
			out.Write(buf[:n])
			if err != nil {
				if !os.IsTimeout(err) {
					out.WriteString("[closed]")
					closed = true
				}
				return
			}
			if !c.wait && n > 0 && strings.HasSuffix(string(buf[:n]), "\n") {
				// Give pipelined replies a moment to follow.
				conn.SetReadDeadline(time.Now().Add(grace))
			}
		}
	}
	read(time.Second)
	for i, s := range c.steps {
		conn.Write([]byte(s))
		if i == len(c.steps)-1 {
			grace = time.Second
		}
		if !c.wait || i < len(c.steps)-1 {
			read(time.Second)
		}
	}
	if c.wait {
		read(4 * time.Second)
	}
	return out.String()
}

// TestDaemonSyncTimeoutDifferential compares real Exim's daemon and
// exigo's on synchronization errors and smtp_receive_timeout: the
// replies, the main log and the reject log.
func TestDaemonSyncTimeoutDifferential(t *testing.T) {
	if testing.Short() {
		t.Skip("live daemons: slow")
	}
	exim := oracletest.Exim(t)
	bin := oracletest.Exigo(t)
	run := func(b string) (replies []string, mainlog, reject string) {
		dir, conf := runDir(t, "smtp_receive_timeout = 2s")
		port := freePort(t)
		cmd := startDaemon(t, b, conf, port)
		for _, c := range syncCases {
			replies = append(replies, e2eMasked(runRaw(port, c)))
			time.Sleep(100 * time.Millisecond)
		}
		waitArrivals(t, dir, 1)
		stop(t, cmd)
		mb, _ := os.ReadFile(filepath.Join(dir, "log", "mainlog"))
		var keep []string
		for _, l := range strings.Split(string(mb), "\n") {
			if l != "" && !strings.Contains(l, "purging the environment") && !strings.HasPrefix(l, " Suggested action") {
				keep = append(keep, e2eMasked(l))
			}
		}
		rb, _ := os.ReadFile(filepath.Join(dir, "log", "rejectlog"))
		return replies, strings.Join(keep, "\n"), e2eMasked(string(rb))
	}
	wr, wm, wj := run(exim)
	gr, gm, gj := run(bin)
	for i, c := range syncCases {
		if gr[i] != wr[i] {
			t.Errorf("%s: replies differ\nexim:\n%s\nexigo:\n%s", c.name, wr[i], gr[i])
		}
	}
	if gm != wm {
		t.Errorf("main log differs\nexim:\n%s\nexigo:\n%s", wm, gm)
	}
	if gj != wj {
		t.Errorf("reject log differs\nexim:\n%s\nexigo:\n%s", wj, gj)
	}
}
