package cli_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/loadavg"
	"github.com/exigo-mta/exigo/internal/oracletest"
)

// The load-average controls compared with Exim 4.96: queue_only_load
// (and its latch), deliver_queue_load_max and smtp_load_reserve with
// smtp_reserve_hosts. A limit of 0 is always below the load while the
// tests run (needLoad makes sure), 9999 always above it; the load
// itself is masked, as the two runs read it at different times.

// loadConf delivers every address to :blackhole:, so that deliveries
// need no privilege; @MAIN@ is the case's main options.
const loadConf = `primary_hostname = test.example
spool_directory = @DIR@/spool
log_file_path = @DIR@/log/%s
qualify_domain = q.example
keep_environment =
acl_smtp_rcpt = ok
queue_run_in_order
@MAIN@
begin acl
ok:
  accept
begin routers
r:
  driver = redirect
  data = :blackhole:
`

// needLoad makes sure the one-minute load average is above 0.00, by
// keeping the CPU busy for a while if need be: a limit of 0 must be
// exceeded for the cases to mean anything.
func needLoad(t *testing.T) {
	t.Helper()
	if n, err := loadavg.Read(); err != nil {
		oracletest.Missing(t, "a load average ("+err.Error()+")")
	} else if n > 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := 0; i < 2; i++ {
		go func() {
			for ctx.Err() == nil {
			}
		}()
	}
	for ctx.Err() == nil {
		if n, _ := loadavg.Read(); n > 0 {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	oracletest.Missing(t, "a load average above 0.00")
}

var loadMasks = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`pid=\d+`), "pid=N"},
	{regexp.MustCompile(`\]:\d+`), "]:PORT"},
	{regexp.MustCompile(`(load average|load average =|\(load) \d+\.\d\d`), "$1 L"},
	{regexp.MustCompile(`(?m)^220 .*`), "220 BANNER"},
}

// loadLog returns the main log of dir without times, start-up notices
// and the lines of Exim's re-execution, message ids numbered in order
// of appearance. With byMessage, each message's lines are kept together
// (in the order of their arrivals): a daemon's deliveries interleave
// as they will.
func loadLog(dir string, byMessage bool) string {
	b, _ := os.ReadFile(filepath.Join(dir, "log", "main"))
	ids := map[string]int{}
	type line struct {
		msg  int
		text string
	}
	var lines []line
	for _, l := range strings.Split(string(b), "\n") {
		if len(l) < 20 || strings.HasPrefix(l, " ") || strings.Contains(l, "daemon started") ||
			strings.Contains(l, "Warning:") || strings.Contains(l, "lost privilege") {
			continue
		}
		l = l[20:]
		msg := 0
		l = liveMask.ReplaceAllStringFunc(l, func(id string) string {
			if _, ok := ids[id]; !ok {
				ids[id] = len(ids) + 1
			}
			msg = ids[id]
			return "ID" + strconv.Itoa(ids[id])
		})
		lines = append(lines, line{msg, l})
	}
	if byMessage {
		sort.SliceStable(lines, func(i, j int) bool { return lines[i].msg < lines[j].msg })
	}
	var out strings.Builder
	for _, l := range lines {
		out.WriteString(l.text + "\n")
	}
	return out.String()
}

func maskLoad(s string) string {
	for _, m := range loadMasks {
		s = m.re.ReplaceAllString(s, m.with)
	}
	return s
}

// loadCase is one configuration and what is done with it.
type loadCase struct {
	name, main string
	run        func(t *testing.T, bin, conf, dir string) string
}

// runLoadCase runs c with bin in a fresh directory and returns what it
// printed and logged, masked.
func runLoadCase(t *testing.T, bin string, c loadCase) string {
	t.Helper()
	dir := oracletest.WorkDir(t, "exigo-load-", "spool", "log")
	conf := filepath.Join(dir, "exim.conf")
	text := strings.NewReplacer("@DIR@", dir, "@MAIN@", c.main).Replace(loadConf)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out := c.run(t, bin, conf, dir)
	return maskLoad(out + "== log\n" + loadLog(dir, strings.HasPrefix(c.name, "daemon")))
}

// run1 runs bin and returns its exit code and output, without the
// notice of Exim's re-execution.
func run1(t *testing.T, bin, stdin string, args ...string) string {
	r := oracletest.Run(t, bin, stdin, args...)
	stderr := regexp.MustCompile(`(?m)^.*lost privilege.*\n?`).ReplaceAllString(r.Stderr, "")
	return fmt.Sprintf("%v rc=%d %s%s\n", args[2:], r.Code, r.Stdout, stderr)
}

const loadSMTP = "EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nSubject: y\r\n\r\nhi\r\n.\r\n" +
	"MAIL FROM:<a@b.example>\r\nRCPT TO:<e@d.example>\r\nDATA\r\nSubject: z\r\n\r\nhi\r\n.\r\nQUIT\r\n"

// submitLocally sends messages with -bm, -t, -bs and -bS, in the
// delivery modes given.
func submitLocally(t *testing.T, bin, conf, dir string) string {
	var out strings.Builder
	for _, mode := range []string{"-odi", "-odq"} {
		out.WriteString(run1(t, bin, "Subject: x\n\nbody\n", "-C", conf, mode, "a@b.example"))
	}
	out.WriteString(run1(t, bin, "To: t@b.example\nSubject: x\n\nbody\n", "-C", conf, "-odi", "-t"))
	r := oracletest.Run(t, bin, loadSMTP, "-C", conf, "-odi", "-bs")
	out.WriteString(fmt.Sprintf("-bs rc=%d %d replies\n", r.Code, strings.Count(r.Stdout, "\r\n")))
	out.WriteString(run1(t, bin, "MAIL FROM:<a@b.example>\nRCPT TO:<c@d.example>\nDATA\nSubject: y\n\nhi\n.\n", "-C", conf, "-odi", "-bS"))
	out.WriteString(run1(t, bin, "", "-C", conf, "-bpc"))
	return out.String()
}

// queueRuns runs the queue in each of its ways, a message queued before
// each run.
func queueRuns(t *testing.T, bin, conf, dir string) string {
	var out strings.Builder
	for _, flags := range [][]string{{"-q"}, {"-qq"}, {"-ql"}, {"-qi"}, {"-R", "d.example"}, {"-S", "a@"}, {"-Rf", "d.example"}, {"-qff"}} {
		oracletest.Run(t, bin, "Subject: x\n\nbody\n", "-C", conf, "-f", "a@b.example", "c@d.example")
		out.WriteString(run1(t, bin, "", append([]string{"-C", conf}, flags...)...))
		out.WriteString(run1(t, bin, "", "-C", conf, "-bpc"))
	}
	return out.String()
}

// daemonSession sends two messages to bin as a daemon.
func daemonSession(t *testing.T, bin, conf, dir string) string {
	c, br := dialLiveDaemon(t, bin, conf, dir)
	var out strings.Builder
	readSMTPReply(br, &out)
	if strings.HasPrefix(out.String(), "421") {
		readSMTPReply(br, &out) // the end of the connection
	} else {
		for _, l := range strings.SplitAfter(loadSMTP, "\r\n") {
			if l == "" {
				continue
			}
			fmt.Fprint(c, l)
			if strings.HasPrefix(l, "EHLO") || strings.HasPrefix(l, "MAIL") || strings.HasPrefix(l, "RCPT") ||
				strings.HasPrefix(l, "DATA") || l == ".\r\n" || strings.HasPrefix(l, "QUIT") {
				readSMTPReply(br, &out)
			}
		}
	}
	// Background deliveries end before the log is read.
	time.Sleep(700 * time.Millisecond)
	return liveMask.ReplaceAllString(out.String(), "ID")
}

// TestLoadControlsOracle compares the load-average controls of Exim and
// exigo, below and above each limit.
func TestLoadControlsOracle(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (spool owned by the Exim user)")
	}
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	needLoad(t)
	cases := []loadCase{
		{"submit above", "queue_only_load = 0", submitLocally},
		{"submit below", "queue_only_load = 9999", submitLocally},
		{"submit no latch", "queue_only_load = 0\nno_queue_only_load_latch", submitLocally},
		{"submit not logged", "queue_only_load = 0\nlog_selector = -delay_delivery", submitLocally},
		{"submit queue_only", "queue_only_load = 0\nqueue_only", submitLocally},
		{"submit queue_only no override", "queue_only_load = 0\nqueue_only\nno_queue_only_override", submitLocally},
		{"submit queue_only below", "queue_only_load = 9999\nqueue_only", submitLocally},
		{"submit and per connection", "queue_only_load = 0\nsmtp_accept_queue_per_connection = 1", submitLocally},
		{"queue runs above", "queue_only\ndeliver_queue_load_max = 0", queueRuns},
		{"queue runs below", "queue_only\ndeliver_queue_load_max = 9999", queueRuns},
		{"queue runs not logged", "queue_only\ndeliver_queue_load_max = 0\nlog_selector = -queue_run", queueRuns},
		{"daemon queue_only_load above", "queue_only_load = 0", daemonSession},
		{"daemon queue_only_load below", "queue_only_load = 9999", daemonSession},
		{"daemon reserve refused", "smtp_load_reserve = 0\nsmtp_reserve_hosts = 10.0.0.1\nsmtp_active_hostname = act.example", daemonSession},
		{"daemon reserve no list", "smtp_load_reserve = 0\nlog_selector = -connection_reject", daemonSession},
		{"daemon reserve no list logged", "smtp_load_reserve = 0\nlog_selector = +smtp_connection +incoming_port", daemonSession},
		{"daemon reserve empty list logged", "smtp_load_reserve = 0\nsmtp_reserve_hosts =\nlog_selector = +smtp_connection +incoming_port", daemonSession},
		{"daemon reserve host", "smtp_load_reserve = 0\nsmtp_reserve_hosts = 127.0.0.1", daemonSession},
		{"daemon reserve below", "smtp_load_reserve = 9999", daemonSession},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			want := runLoadCase(t, exim, c)
			got := runLoadCase(t, exigo, c)
			if want != got {
				t.Errorf("differs\n--- exim\n%s\n--- exigo\n%s", want, got)
			}
		})
	}
}
