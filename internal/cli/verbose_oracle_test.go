package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// verboseConf delivers u@test.example to a file, defers def@ and fails
// bad@ (the sender is <>, so that no bounce is sent and the message is
// frozen).
const verboseConf = `primary_hostname = test.example
keep_environment =
spool_directory = DIR/spool
log_file_path = DIR/log/%slog
log_selector = SEL
begin routers
deferit:
  driver = redirect
  local_parts = def
  data = :defer: not now
  allow_defer
failit:
  driver = redirect
  local_parts = bad
  data = :fail: no such user
  allow_fail
local:
  driver = accept
  transport = t
begin transports
t:
  driver = appendfile
  file = DIR/mail/box
  user = nobody
begin retry
* * F,1h,10m
`

var verboseMasks = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\b[0-9A-Za-z]{6}-[0-9A-Za-z]{6}-[0-9A-Za-z]{2}\b`), "ID"},
	{regexp.MustCompile(`pid[= ]\d+`), "pid=N"},
	{regexp.MustCompile(`\b(QT|DT|RT|D)=[0-9.hms]+`), "$1=T"},
	{regexp.MustCompile(`cwd=\S+ (\d+) args: \S+ -C \S+`), "cwd=DIR $1 args: ARGV0 -C CONF"},
}

// TestVerboseQueueRunDifferential compares what -v shows on the standard
// error stream for a queue run that delivers, defers and fails, then for
// -M and -Mc on the frozen message left, with the queue_run and
// skip_delivery log_selector items on and off.
func TestVerboseQueueRunDifferential(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (spool owned by the Exim user)")
	}
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	for _, sel := range []string{"", "-queue_run -skip_delivery", "+arguments"} {
		t.Run(sel, func(t *testing.T) {
			var out [2]string
			for i, bin := range []string{exim, exigo} {
				out[i] = verboseFlow(t, bin, sel)
			}
			if out[0] != out[1] {
				t.Errorf("stderr differs\n--- exim\n%s\n--- exigo\n%s", out[0], out[1])
			}
		})
	}
}

// verboseFlow runs the flow of TestVerboseQueueRunDifferential with bin
// and returns the exit codes and stderr, masked.
func verboseFlow(t *testing.T, bin, sel string) string {
	dir := oracletest.WorkDir(t, "exigo-verbose-", "spool", "log", "mail")
	os.Chmod(filepath.Join(dir, "mail"), 0o777)
	conf := filepath.Join(dir, "conf")
	text := strings.NewReplacer("DIR", dir, "SEL", sel).Replace(verboseConf)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	oracletest.Run(t, bin, "Subject: x\n\nbody\n", "-C", conf, "-odq", "-f", "<>", "u@test.example", "def@test.example", "bad@test.example")
	var b strings.Builder
	show := func(r oracletest.Result) {
		b.WriteString(r.Stderr)
		b.WriteString("rc=" + strconv.Itoa(r.Code) + "\n")
	}
	show(oracletest.Run(t, bin, "", "-C", conf, "-v", "-q"))
	ids := msgIDRE.FindAllString(oracletest.Run(t, bin, "", "-C", conf, "-bpr").Stdout, -1)
	if len(ids) != 1 {
		t.Fatalf("%s: want one message on the queue, have %q", bin, ids)
	}
	show(oracletest.Run(t, bin, "", "-C", conf, "-v", "-M", ids[0]))
	show(oracletest.Run(t, bin, "", "-C", conf, "-v", "-Mc", ids[0]))
	show(oracletest.Run(t, bin, "", "-C", conf, "-v", "-q"))
	s := b.String()
	for _, m := range verboseMasks {
		s = m.re.ReplaceAllString(s, m.with)
	}
	return strings.ReplaceAll(s, dir, "DIR")
}

// TestVerboseRetryDeferDifferential compares what -v shows for a queue
// run that finds a deferred remote address before its retry time, with
// retry_defer on and off, and the main logs.
func TestVerboseRetryDeferDifferential(t *testing.T) {
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	uid, gid := oracletest.EximUser(t)
	for _, sel := range []string{"", "-retry_defer", "-retry_defer -queue_run", "+all"} {
		t.Run(sel, func(t *testing.T) {
			var stderr, logs [2]string
			for i, bin := range []string{exim, exigo} {
				flow := func(bin, conf string) {
					oracletest.Run(t, bin, "Subject: x\n\nbody\n", "-C", conf, "-odi", "-f", "a@b.example", "u@remote.example")
					r := oracletest.Run(t, bin, "", "-C", conf, "-v", "-q")
					stderr[i] = r.Stderr + "rc=" + strconv.Itoa(r.Code) + "\n"
					for _, m := range verboseMasks {
						stderr[i] = m.re.ReplaceAllString(stderr[i], m.with)
					}
				}
				logs[i] = strings.Join(runQueueFlow(t, bin, sel, uid, gid, flow), "\n")
			}
			if stderr[0] != stderr[1] {
				t.Errorf("stderr differs\n--- exim\n%s\n--- exigo\n%s", stderr[0], stderr[1])
			}
			if logs[0] != logs[1] {
				t.Errorf("main logs differ\n--- exim\n%s\n--- exigo\n%s", logs[0], logs[1])
			}
		})
	}
}
