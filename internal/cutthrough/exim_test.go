package cutthrough_test

import (
	"bufio"
	"crypto/tls"
	"flag"
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
	"github.com/exigo-mta/exigo/internal/transport/smtptest"
)

// diffCase is one cutthrough scenario: the RCPT ACL's control, the
// client's recipients and body. The destination refuses "rej" local
// parts with 550 and "tmp" ones with 451 at RCPT, and a body holding
// DATA5 or DATA4 with 550 or 451 after the data.
type diffCase struct {
	name    string
	control string
	rcpts   []string
	body    string
	// tls makes the destination offer STARTTLS.
	tls bool
	// mailParams follow MAIL FROM:<...>.
	mailParams string
	// dataACL, when set, is the DATA ACL's statement.
	dataACL string
	// verify is the RCPT ACL's verify condition ("recipient" when
	// empty).
	verify string
}

var diffCases = []diffCase{
	{name: "accept", control: "cutthrough_delivery", rcpts: []string{"b@dest.example"}, body: "hello"},
	{name: "rcpt5xx", control: "cutthrough_delivery", rcpts: []string{"rej@dest.example"}, body: "hello"},
	{name: "rcpt4xx", control: "cutthrough_delivery", rcpts: []string{"tmp@dest.example"}, body: "hello"},
	{name: "data5xx", control: "cutthrough_delivery", rcpts: []string{"b@dest.example"}, body: "DATA5"},
	{name: "data4xx", control: "cutthrough_delivery", rcpts: []string{"b@dest.example"}, body: "DATA4"},
	{name: "two", control: "cutthrough_delivery", rcpts: []string{"b@dest.example", "c@dest.example"}, body: "hello"},
	{name: "twoHosts", control: "cutthrough_delivery", rcpts: []string{"b@dest.example", "c@other.example"}, body: "hello"},
	{name: "twoRej", control: "cutthrough_delivery", rcpts: []string{"b@dest.example", "rej@dest.example"}, body: "hello"},
	{name: "twoTmp", control: "cutthrough_delivery", rcpts: []string{"b@dest.example", "tmp@dest.example"}, body: "hello"},
	{name: "twoData5xx", control: "cutthrough_delivery", rcpts: []string{"b@dest.example", "c@dest.example"}, body: "DATA5"},
	{name: "twoData4xx", control: "cutthrough_delivery", rcpts: []string{"b@dest.example", "c@dest.example"}, body: "DATA4"},
	{name: "passTwoTmp", control: "cutthrough_delivery/defer=pass", rcpts: []string{"b@dest.example", "tmp@dest.example"}, body: "hello"},
	{name: "twoHostsRej", control: "cutthrough_delivery", rcpts: []string{"b@dest.example", "rej@other.example"}, body: "hello"},
	{name: "down", control: "cutthrough_delivery", rcpts: []string{"b@down.example"}, body: "hello"},
	{name: "tls", control: "cutthrough_delivery", rcpts: []string{"b@dest.example"}, body: "hello", tls: true},
	{name: "tlsData5xx", control: "cutthrough_delivery", rcpts: []string{"b@dest.example"}, body: "DATA5", tls: true},
	{name: "body8bit", control: "cutthrough_delivery", rcpts: []string{"b@dest.example"}, body: "hello", mailParams: " BODY=8BITMIME"},
	{name: "dataACLDeny", control: "cutthrough_delivery", rcpts: []string{"b@dest.example"}, body: "hello", dataACL: "deny message = data refused here"},
	{name: "dataACLDefer", control: "cutthrough_delivery", rcpts: []string{"b@dest.example"}, body: "hello", dataACL: "defer message = later please"},
	{name: "calloutAccept", control: "cutthrough_delivery", rcpts: []string{"b@dest.example"}, body: "hello", verify: callout},
	{name: "calloutRej", control: "cutthrough_delivery", rcpts: []string{"rej@dest.example"}, body: "hello", verify: callout},
	{name: "calloutTmp", control: "cutthrough_delivery", rcpts: []string{"tmp@dest.example"}, body: "hello", verify: callout},
	{name: "calloutTwo", control: "cutthrough_delivery", rcpts: []string{"b@dest.example", "c@dest.example"}, body: "hello", verify: callout},
	{name: "calloutTwoRej", control: "cutthrough_delivery", rcpts: []string{"b@dest.example", "rej@dest.example"}, body: "hello", verify: callout},
	{name: "calloutTwoHosts", control: "cutthrough_delivery", rcpts: []string{"b@dest.example", "c@other.example"}, body: "hello", verify: callout},
	{name: "calloutData5xx", control: "cutthrough_delivery", rcpts: []string{"b@dest.example"}, body: "DATA5", verify: callout},
	{name: "passRcpt4xx", control: "cutthrough_delivery/defer=pass", rcpts: []string{"tmp@dest.example"}, body: "hello"},
	{name: "passData4xx", control: "cutthrough_delivery/defer=pass", rcpts: []string{"b@dest.example"}, body: "DATA4"},
	{name: "passData5xx", control: "cutthrough_delivery/defer=pass", rcpts: []string{"b@dest.example"}, body: "DATA5"},
}

// callout is the verify condition of the callout cases.
const callout = "recipient/callout=use_sender"

// diffConfig relays everything to the destination on port dport:
// other.example through a second smtp transport (a different
// cutthrough destination).
func diffConfig(dir string, c diffCase, dport int) string {
	verify := c.verify
	if verify == "" {
		verify = "recipient"
	}
	dataACL := ""
	if c.dataACL != "" {
		dataACL = "acl_smtp_data = acl_d\n"
	}
	return fmt.Sprintf(`%[4]sprimary_hostname = test.example
spool_directory = %[1]s/spool
log_file_path = %[1]s/log/%%slog
acl_smtp_rcpt = acl_r
host_lookup =
keep_environment =
tls_advertise_hosts =
begin acl
acl_r:
  accept control = %[2]s
         verify = %[6]s
acl_d:
  %[5]s
begin routers
down:
  driver = manualroute
  domains = down.example
  route_list = * 127.0.0.1::1
  self = send
  transport = remote
other:
  driver = manualroute
  domains = other.example
  route_list = * 127.0.0.1::%[3]d
  self = send
  transport = remote2
out:
  driver = manualroute
  route_list = * 127.0.0.1::%[3]d
  self = send
  transport = remote
begin transports
remote:
  driver = smtp
  allow_localhost
  hosts_try_fastopen = :
remote2:
  driver = smtp
  allow_localhost
  hosts_try_fastopen = :
`, dir, c.control, dport, dataACL, c.dataACL, verify)
}

// destination starts the scripted destination server.
func destination(t *testing.T, withTLS bool) *smtptest.Server {
	t.Helper()
	s := &smtptest.Server{Pipelining: true, Size: true}
	if withTLS {
		s.TLS = &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}
	}
	s.Rcpt = func(to string) string {
		switch {
		case strings.HasPrefix(to, "rej"):
			return "550 no such user"
		case strings.HasPrefix(to, "tmp"):
			return "451 try later rcpt"
		}
		return "250 Accepted"
	}
	s.Data = func(_ string, msg []byte) string {
		switch {
		case strings.Contains(string(msg), "DATA5"):
			return "550 content rejected"
		case strings.Contains(string(msg), "DATA4"):
			return "451 content deferred"
		}
		return "250 OK id=1abc-000001-AB"
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// selfSigned makes a certificate for the destination.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	c, err := smtptest.SelfSigned("mx.example")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// outcome is what one daemon did with one case, masked.
type outcome struct {
	client, dest, messages, mainlog, rejectlog, queue string
}

// TestEximDifferential runs each case through real Exim 4.96 and exigo
// (daemons on loopback, relaying to a scripted destination) and
// compares the client's transcript, what the destination saw and
// received, the main and reject logs, and what stays queued. Exim keeps
// root for its deliveries only with a trusted configuration, so the test
// runs again in a mount namespace with its own trusted_configs.
func TestEximDifferential(t *testing.T) {
	exim := oracletest.Exim(t)
	if os.Geteuid() != 0 {
		oracletest.Missing(t, "root (to run the Exim daemon)")
	}
	if os.Getenv("EXIGO_CUTTHROUGH_NS") == "" {
		unshare, err := exec.LookPath("unshare")
		if err != nil {
			oracletest.Missing(t, "unshare(1)")
		}
		run := "^TestEximDifferential$"
		if f := flag.Lookup("test.run"); f != nil && strings.HasPrefix(f.Value.String(), "TestEximDifferential/") {
			run = f.Value.String()
		}
		cmd := exec.Command(unshare, "-m", os.Args[0], "-test.run="+run, "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "EXIGO_CUTTHROUGH_NS=1")
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
	u, err := user.Lookup("Debian-exim")
	if err != nil {
		oracletest.Missing(t, "the Debian-exim user")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	top, err := os.MkdirTemp("", "exigo-cutthrough-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(top) })
	os.Chmod(top, 0o755)
	var confs []string
	for _, c := range diffCases {
		confs = append(confs, filepath.Join(top, c.name, "exim", "conf"))
	}
	etc := filepath.Join(top, "etc-exim4")
	os.Mkdir(etc, 0o755)
	if err := os.WriteFile(filepath.Join(etc, "trusted_configs"), []byte(strings.Join(confs, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "--bind", etc, "/etc/exim4").CombinedOutput(); err != nil {
		t.Fatalf("mount: %v %s", err, out)
	}
	for _, c := range diffCases {
		t.Run(c.name, func(t *testing.T) {
			// The two daemons are independent: run them side by side.
			var want, got outcome
			t.Run("run", func(t *testing.T) {
				t.Run("exim", func(t *testing.T) {
					t.Parallel()
					want = runCase(t, exim, filepath.Join(top, c.name, "exim"), c, uid, gid)
				})
				t.Run("exigo", func(t *testing.T) {
					t.Parallel()
					got = runCase(t, bin, filepath.Join(top, c.name, "exigo"), c, uid, gid)
				})
			})
			if t.Failed() {
				return
			}
			for _, f := range []struct{ name, want, got string }{
				{"client transcript", want.client, got.client},
				{"destination commands", want.dest, got.dest},
				{"destination messages", want.messages, got.messages},
				{"main log", want.mainlog, got.mainlog},
				{"reject log", want.rejectlog, got.rejectlog},
				{"queue", want.queue, got.queue},
			} {
				if f.want != f.got {
					t.Errorf("%s differs\nexim:\n%s\nexigo:\n%s", f.name, f.want, f.got)
				}
			}
		})
	}
}

// runCase runs case c through the daemon bin with its files under dir.
func runCase(t *testing.T, bin, dir string, c diffCase, uid, gid int) outcome {
	t.Helper()
	dest := destination(t, c.tls)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Dir(dir), 0o755)
	for _, sub := range []string{"spool", "log"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o750); err != nil {
			t.Fatal(err)
		}
		os.Chown(filepath.Join(dir, sub), uid, gid)
	}
	conf := filepath.Join(dir, "conf")
	if err := os.WriteFile(conf, []byte(diffConfig(dir, c, dest.Port())), 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	cmd := exec.Command(bin, "-C", conf, "-bdf", "-oX", strconv.Itoa(port))
	cmd.Env = append(os.Environ(), "TZ=UTC")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}()
	if !waitListening(port) {
		pl, _ := os.ReadFile(filepath.Join(dir, "log", "paniclog"))
		t.Fatalf("%s did not listen on %d: %s%s", bin, port, stderr.String(), pl)
	}
	var o outcome
	o.client = converse(t, port, c)
	mainlog := settle(filepath.Join(dir, "log", "mainlog"))
	o.mainlog = maskLog(mainlog)
	if strings.Contains("rcpt4xx twoTmp down twoHosts calloutTwoHosts calloutTmp", c.name) {
		// Parallel deliveries, and a bounce's delivery and its
		// original's "Completed", log in either order.
		l := strings.Split(o.mainlog, "\n")
		sort.Strings(l)
		o.mainlog = strings.Join(l, "\n")
	}
	rej, _ := os.ReadFile(filepath.Join(dir, "log", "rejectlog"))
	o.rejectlog = maskLog(string(rej))
	o.dest = maskText(strings.Join(sortedIfParallel(dest.Log(), c), "\n"))
	var msgs []string
	for _, m := range dest.Messages() {
		msgs = append(msgs, maskText(string(m)))
	}
	sort.Strings(msgs)
	o.messages = strings.Join(msgs, "----\n")
	hs, _ := filepath.Glob(filepath.Join(dir, "spool", "input", "*-H"))
	var q []string
	for _, h := range hs {
		b, _ := os.ReadFile(h)
		q = append(q, recipientsOf(string(b)))
	}
	o.queue = fmt.Sprintf("%d queued %v", len(hs), q)
	logs, _ := filepath.Glob(filepath.Join(dir, "spool", "msglog", "*"))
	for _, l := range logs {
		b, _ := os.ReadFile(l)
		o.queue += "\nmsglog:\n" + maskText(string(b))
	}
	return o
}

// sortedIfParallel sorts the destination's command log when the case
// makes deliveries that run in parallel (their lines interleave).
func sortedIfParallel(lines []string, c diffCase) []string {
	if c.name == "twoHosts" || c.name == "calloutTwoHosts" {
		lines = append([]string(nil), lines...)
		sort.Strings(lines)
	}
	return lines
}

// recipientsOf is the recipient list of a -H file (after its count
// line, up to the blank line).
func recipientsOf(h string) string {
	lines := strings.Split(h, "\n")
	for i, l := range lines {
		if n, err := strconv.Atoi(l); err == nil && i > 0 && strings.HasPrefix(lines[i-1], "XX") {
			if i+1+n <= len(lines) {
				return strings.Join(lines[i+1:i+1+n], ",")
			}
		}
	}
	return "?"
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

func waitListening(port int) bool {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// converse sends one message command by command and returns the
// transcript ("C: " and "S: " lines).
func converse(t *testing.T, port int, c diffCase) string {
	t.Helper()
	nc, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(nc)
	var tr strings.Builder
	readReply := func() string {
		var code string
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				tr.WriteString("S: (" + err.Error() + ")\n")
				return ""
			}
			tr.WriteString("S: " + strings.TrimRight(l, "\r\n") + "\n")
			if len(l) < 4 || l[3] != '-' {
				if len(l) >= 3 {
					code = l[:3]
				}
				return code
			}
		}
	}
	send := func(line string) string {
		tr.WriteString("C: " + line + "\n")
		fmt.Fprintf(nc, "%s\r\n", line)
		return readReply()
	}
	readReply()
	send("EHLO client.example")
	send("MAIL FROM:<a@client.example>" + c.mailParams)
	for _, r := range c.rcpts {
		send("RCPT TO:<" + r + ">")
	}
	if send("DATA") == "354" {
		msg := "From: a@client.example\r\nSubject: cutthrough " + c.name + "\r\nMessage-ID: <" + c.name + "@client.example>\r\n\r\n" + c.body + "\r\n.\r\n"
		tr.WriteString("C: (message)\n")
		nc.Write([]byte(msg))
		readReply()
	}
	send("QUIT")
	return maskText(tr.String())
}

// settle waits until the log has not changed for a while (deliveries
// and bounces done) and returns it.
func settle(path string) string {
	var last string
	stable := time.Now()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(path)
		if string(b) != last {
			last, stable = string(b), time.Now()
		} else if time.Since(stable) > 500*time.Millisecond {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return last
}

var (
	reTime  = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d `)
	reID    = regexp.MustCompile(`[0-9A-Za-z]{6}-[0-9A-Za-z]{6}-[0-9A-Za-z]{2}\b`)
	reDate  = regexp.MustCompile(`[A-Z][a-z]{2}, \d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [+-]\d{4}`)
	reSize  = regexp.MustCompile(`(SIZE|S)=\d+`)
	reBound = regexp.MustCompile(`\d+-eximdsn-\d+`)
	rePort  = regexp.MustCompile(`\[127\.0\.0\.1\]:\d+`)
)

// maskText hides times, dates, ids, sizes and MIME boundaries.
func maskText(s string) string {
	s = reTime.ReplaceAllString(s, "TIME ")
	s = reDate.ReplaceAllString(s, "DATE")
	s = reID.ReplaceAllString(s, "ID")
	s = reSize.ReplaceAllString(s, "$1=N")
	s = reBound.ReplaceAllString(s, "BOUNDARY")
	s = rePort.ReplaceAllString(s, "[127.0.0.1]:PORT")
	return s
}

// maskLog masks a log and drops the daemon's own lines.
func maskLog(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l == "" || strings.Contains(l, "daemon started") || strings.Contains(l, "Warning:") ||
			strings.HasPrefix(l, " Suggested action") || strings.Contains(l, "SIGTERM") {
			continue
		}
		if strings.HasSuffix(l, "-D not found") {
			// Now and then a second Exim process starts on a bounce
			// another has delivered already, and says so.
			continue
		}
		out = append(out, maskText(l))
	}
	return strings.Join(out, "\n")
}
