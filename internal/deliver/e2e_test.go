package deliver_test

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/oracletest"
	"github.com/exigo-mta/exigo/internal/transport/smtptest"
)

// The end-to-end cases run real Exim and exigo on the same configuration
// (each in its own directory) and compare the main log, the delivered
// mailbox files and the messages left in the spool (bounces), with times,
// ids, pids, sizes and MIME boundaries masked.

const e2eConf = `exim_user = Debian-exim
exim_group = Debian-exim
deliver_drop_privilege = true
spool_directory = DIR/spool
log_file_path = DIR/spool/log/%slog
primary_hostname = test.example
qualify_domain = test.example
domainlist local_domains = test.example
never_users =
keep_environment =
RETRY_MAIN
begin routers
aliases:
  driver = redirect
  domains = +local_domains
  local_parts = team : gone : later : pipe
  data = ${if eq{$local_part}{team}{alice, bob}{${if eq{$local_part}{gone}{:fail: no longer here}{${if eq{$local_part}{pipe}{|/bin/sh -c "cat >>DIR/mail/pipe-out"}{:defer: not now}}}}}}
  allow_fail
  allow_defer
  pipe_transport = pipe_t
local:
  driver = accept
  domains = +local_domains
  local_parts = alice : bob
  transport = mdir
batch:
  driver = accept
  domains = +local_domains
  local_parts = b1 : b2 : b3
  transport = batch_t
mbox:
  driver = accept
  domains = +local_domains
  local_parts = carol
  transport = mbox_t
errto:
  driver = manualroute
  domains = errto.example
  route_list = * 127.0.0.1
  self = send
  errors_to = bob@test.example
  transport = remote_smtp
down:
  driver = manualroute
  domains = down.example
  route_list = * 127.0.0.1
  self = send
  transport = down_smtp
relay:
  driver = manualroute
  domains = remote.example
  route_list = * 127.0.0.1
  self = send
  transport = remote_smtp
begin transports
mdir:
  driver = appendfile
  directory = DIR/mail/$local_part_data
  maildir_format
  user = Debian-exim
mbox_t:
  driver = appendfile
  file = DIR/mail/carol.mbox
  user = Debian-exim
batch_t:
  driver = appendfile
  file = DIR/mail/batch.mbox
  batch_max = 2
  user = Debian-exim
pipe_t:
  driver = pipe
  user = Debian-exim
down_smtp:
  driver = smtp
  port = DOWNPORT
  allow_localhost
` + e2eRemoteTail

// e2eRemoteTail ends the end-to-end configurations: the smtp transport
// to the test server (PORT) and the retry section (RETRY_RULES).
const e2eRemoteTail = `remote_smtp:
  driver = smtp
  port = PORT
  allow_localhost
begin retry
RETRY_RULES
`

// e2eMain is the main section the end-to-end configurations share:
// deliveries as Debian's Exim user, in the case's directory (DIR), with
// room for each case's own main options (RETRY_MAIN).
const e2eMain = `exim_user = Debian-exim
exim_group = Debian-exim
deliver_drop_privilege = true
spool_directory = DIR/spool
log_file_path = DIR/spool/log/%slog
primary_hostname = test.example
qualify_domain = test.example
never_users =
keep_environment =
RETRY_MAIN
`

type e2eCase struct {
	name  string
	rcpts []string
	retry bool              // retry rules instead of none
	main  string            // more main options
	files map[string]string // files written in DIR first
	head  string            // more header lines of the message
	body  string            // the body, when not the default two lines
	// sortLog compares the log lines sorted: Exim delivers the bounce
	// of -Mg and timeout_frozen_after in the background, before or
	// after "Completed".
	sortLog bool
	steps   [][]string // later commands; $ID1.. are message ids in log order
	// conf replaces e2eConf (same placeholders) when set.
	conf string
	// sender is the envelope sender, when not sender@test.example
	// ("<>" for a bounce).
	sender string
}

var e2eCases = []e2eCase{
	{name: "maildir", rcpts: []string{"alice@test.example"}},
	{name: "maildir_two", rcpts: []string{"alice@test.example", "bob@test.example"}},
	{name: "mbox", rcpts: []string{"carol@test.example"}},
	{name: "mbox_and_maildir", rcpts: []string{"carol@test.example", "alice@test.example"}},
	{name: "alias_team", rcpts: []string{"team@test.example"}},
	{name: "alias_fail", rcpts: []string{"gone@test.example"}},
	{name: "unrouteable", rcpts: []string{"nobody@test.example"}},
	{name: "unrouteable_two", rcpts: []string{"nobody@test.example", "nobody2@test.example"}},
	{name: "pipe", rcpts: []string{"pipe@test.example"}},
	{name: "relay_ok", rcpts: []string{"ok1@remote.example"}},
	{name: "relay_two", rcpts: []string{"ok1@remote.example", "ok2@remote.example"}},
	{name: "relay_reject", rcpts: []string{"rej@remote.example"}},
	{name: "relay_mixed", rcpts: []string{"ok1@remote.example", "rej@remote.example", "alice@test.example"}},
	{name: "relay_defer_noretry", rcpts: []string{"def@remote.example"}},
	{name: "relay_all", rcpts: []string{"ok1@remote.example", "ok2@remote.example", "rej@remote.example", "def@remote.example", "alice@test.example"}},
	{name: "fail_order", rcpts: []string{"nobody@test.example", "rej@remote.example", "rej2@remote.example", "nobody2@test.example"}},
	{name: "relay_defer_retry", rcpts: []string{"def@remote.example"}, retry: true},
	{name: "retry_not_reached", rcpts: []string{"def@remote.example"}, retry: true, steps: [][]string{{"-q"}}},
	{name: "retry_forced", rcpts: []string{"def@remote.example"}, retry: true, steps: [][]string{{"-qf"}}},
	// -odqs: local deliveries at once, remote ones left to a queue run,
	// which sends both messages down one connection.
	{name: "odqs_then_queue_run", main: "queue_run_in_order", rcpts: []string{"alice@test.example", "ok1@remote.example"},
		steps: [][]string{{"-odqs"}, {"@wait"}, {"@submit", "ok2@remote.example"}, {"@wait"}, {"@bp"}, {"-q"}}},
	// queue_smtp_domains does the same for the domains in it.
	{name: "queue_smtp_domains", main: "queue_run_in_order\nqueue_smtp_domains = remote.example", rcpts: []string{"alice@test.example", "ok1@remote.example"},
		steps: [][]string{{"-odi"}, {"@submit", "ok2@remote.example"}, {"@bp"}, {"-q"}}},
	// control = queue/first_pass_route in the non-SMTP ACL queues the
	// message as control = queue does (observed with Exim 4.96: no
	// first-pass routing).
	{name: "first_pass_route", conf: strings.Replace(e2eConf, "begin routers", "acl_not_smtp = first_pass\nbegin acl\nfirst_pass:\n  accept control = queue/first_pass_route\nbegin routers", 1),
		main: "queue_run_in_order", rcpts: []string{"alice@test.example", "ok1@remote.example"},
		steps: [][]string{{"-odi"}, {"@submit", "ok2@remote.example"}, {"@bp"}, {"-q"}}},
	// Above queue_only_load the message waits, and says so under
	// delay_delivery in the main log and in its message log.
	{name: "queue_only_load", main: "queue_only_load = 0\nlog_selector = +delay_delivery", rcpts: []string{"alice@test.example"},
		steps: [][]string{{"-odi"}, {"@mvl"}}},
	{name: "queue_smtp_domains_odb", main: "queue_smtp_domains = remote.example", rcpts: []string{"alice@test.example", "ok1@remote.example"},
		steps: [][]string{{"-odb"}, {"@wait"}, {"@bp"}, {"-q"}}},
	{name: "retry_defer_local", rcpts: []string{"later@test.example"}, retry: true},
	{name: "retry_mixed", rcpts: []string{"def@remote.example", "alice@test.example"}, retry: true, steps: [][]string{{"-q"}}},
	{name: "queue_only_q", rcpts: []string{"alice@test.example", "ok1@remote.example"}, steps: [][]string{{"-odq"}, {"-q"}}},
	{name: "queue_only_ql", rcpts: []string{"alice@test.example", "ok1@remote.example"}, steps: [][]string{{"-odq"}, {"-ql"}}},
	{name: "queue_only_ql_then_q", rcpts: []string{"alice@test.example", "ok1@remote.example"}, steps: [][]string{{"-odq"}, {"-ql"}, {"-q"}}},
	{name: "frozen_bounce_q", rcpts: []string{"nobody@test.example"}, steps: [][]string{{"-q"}}},
	{name: "frozen_bounce_M", rcpts: []string{"nobody@test.example"}, steps: [][]string{{"-M", "$ID2"}}},
	{name: "frozen_bounce_qff", rcpts: []string{"nobody@test.example"}, steps: [][]string{{"-qff"}}},
	{name: "times", rcpts: timesRcpts, main: timesSel},
	{name: "times_millisec", rcpts: timesRcpts, main: timesSel + " +millisec"},
	{name: "times_N", rcpts: timesRcpts, main: timesSel, steps: [][]string{{"-odi", "-N"}}},
	{name: "times_q", rcpts: timesRcpts, main: timesSel, steps: [][]string{{"-odq"}, {"-q"}}, sortLog: true},
	{name: "warn_default", rcpts: warnRcpts, retry: true, main: "delay_warning = 1m", steps: [][]string{{"@age", "150"}, {"-qf"}}},
	{name: "warn_one", rcpts: []string{"def@remote.example"}, retry: true, main: "delay_warning = 1m:5m", steps: [][]string{{"@age", "400"}, {"-qf"}}},
	{name: "warn_hours", rcpts: []string{"def@remote.example"}, retry: true, main: "delay_warning = 2h:3h", steps: [][]string{{"@age", "30000"}, {"-qf"}}, sortLog: true},
	{name: "warn_not_due", rcpts: []string{"def@remote.example"}, retry: true, main: "delay_warning = 1h", steps: [][]string{{"@age", "150"}, {"-qf"}}},
	{name: "warn_repeat", rcpts: []string{"def@remote.example"}, retry: true, main: "delay_warning = 1m\nqueue_run_in_order", steps: [][]string{{"@age", "150"}, {"-qf"}, {"-qf"}, {"@age", "60"}, {"-qf"}}},
	{name: "warn_off", rcpts: []string{"def@remote.example"}, retry: true, main: "delay_warning = 0s", steps: [][]string{{"@age", "150"}, {"-qf"}}},
	{name: "warn_bulk", rcpts: []string{"def@remote.example"}, retry: true, main: "delay_warning = 1m", head: "Precedence: bulk\n", steps: [][]string{{"@age", "150"}, {"-qf"}}},
	{name: "warn_condition", rcpts: warnRcpts, retry: true, main: "delay_warning = 1m\ndelay_warning_condition = ${if eq{$domain}{remote.example}{no}{yes}}", steps: [][]string{{"@age", "150"}, {"-qf"}}},
	{name: "warn_condition_domain", rcpts: []string{"def@remote.example", "def2@remote.example"}, retry: true, main: "delay_warning = 1m\ndelay_warning_condition = ${if eq{$domain}{remote.example}{no}{yes}}", steps: [][]string{{"@age", "150"}, {"-qf"}}},
	{name: "warn_file", rcpts: warnRcpts, retry: true, main: "delay_warning = 1m\nwarn_message_file = DIR/warnfile", files: map[string]string{"warnfile": warnFile}, steps: [][]string{{"@age", "150"}, {"-qf"}}},
	{name: "bounce_file", rcpts: []string{"nobody@test.example", "rej@remote.example"}, main: "bounce_message_file = DIR/bouncefile", files: map[string]string{"bouncefile": bounceFile}},
	{name: "bounce_text", rcpts: []string{"nobody@test.example"}, main: "bounce_message_text = Hello from the postmaster."},
	{name: "bounce_errors_to", rcpts: []string{"rej@errto.example", "nobody@test.example", "rej2@errto.example", "rej@remote.example"}, main: "remote_max_parallel = 1"},
	{name: "bounce_size_limit", rcpts: []string{"nobody@test.example"}, main: "bounce_return_size_limit = 100", body: strings.Repeat("a line of the body, twenty-seven\n", 300)},
	{name: "bounce_size_small", rcpts: []string{"nobody@test.example"}, main: "bounce_return_size_limit = 100", body: strings.Repeat("a line of the body\n", 100)},
	{name: "bounce_size_large_limit", rcpts: []string{"nobody@test.example"}, main: "bounce_return_size_limit = 20K", body: strings.Repeat("a line of the body, twenty-seven\n", 1000)},
	{name: "Mg", rcpts: []string{"def@remote.example", "alice@test.example", "def2@remote.example"}, retry: true, steps: [][]string{{"-Mg", "$ID1"}, {"@wait"}}, sortLog: true},
	{name: "Mg_queued", rcpts: []string{"alice@test.example", "bob@test.example"}, steps: [][]string{{"-odq"}, {"-Mg", "$ID1"}, {"@wait"}}, sortLog: true},
	{name: "Mg_bounce", rcpts: []string{"nobody@test.example"}, steps: [][]string{{"-Mg", "$ID2"}}},
	{name: "Mg_then_q", rcpts: []string{"def@remote.example"}, retry: true, steps: [][]string{{"-Mg", "$ID1"}, {"@wait"}, {"-q"}}, sortLog: true},
	{name: "timeout_frozen", rcpts: []string{"alice@test.example", "def@remote.example"}, main: "timeout_frozen_after = 1m", steps: [][]string{{"-odq"}, {"-Mf", "$ID1"}, {"@age", "120"}, {"-q"}, {"@wait"}}, sortLog: true},
	{name: "timeout_frozen_young", rcpts: []string{"alice@test.example"}, main: "timeout_frozen_after = 1h", steps: [][]string{{"-odq"}, {"-Mf", "$ID1"}, {"@age", "120"}, {"-q"}}},
	{name: "timeout_frozen_bounce", rcpts: []string{"nobody@test.example"}, main: "timeout_frozen_after = 1m", steps: [][]string{{"@age", "120", "2"}, {"-q"}}},
	{name: "batch_local", rcpts: []string{"b1@test.example", "b2@test.example", "b3@test.example", "alice@test.example"}},
	{name: "batch_local_q", rcpts: []string{"b3@test.example", "b1@test.example", "b2@test.example"}, steps: [][]string{{"-odq"}, {"-q"}}},
	{name: "conn_refused", rcpts: []string{"a@down.example", "b@down.example"}},
	{name: "conn_refused_retry", rcpts: []string{"a@down.example", "alice@test.example"}, retry: true, steps: [][]string{{"-qf"}}},
	{name: "continued", rcpts: []string{"def@remote.example", "ok1@remote.example"}, retry: true, main: "queue_run_in_order", steps: [][]string{{"@submit", "def2@remote.example", "ok2@remote.example"}, {"-qf"}}},
	{name: "continued_first_time", rcpts: []string{"ok1@remote.example"}, main: "queue_run_in_order", steps: [][]string{{"-odq"}, {"@submit", "ok2@remote.example"}, {"-q"}}},
	{name: "M_queued", rcpts: []string{"alice@test.example"}, steps: [][]string{{"-odq"}, {"-M", "$ID1"}}},
	// log_selector items on delivery lines (spec chapter "Log files").
	// +arguments is left out: Exim logs the command line of the child
	// process that makes a bounce, which exigo does not start.
	{name: "sel_all", rcpts: selRcpts, main: "log_selector = +all -pid -millisec -arguments", sortLog: true},
	{name: "sel_none", rcpts: selRcpts, main: "log_selector = -all", sortLog: true},
	{name: "sel_delivery", rcpts: selRcpts, main: "log_selector = +delivery_size +sender_on_delivery +return_path_on_delivery +outgoing_port +received_recipients +received_sender", sortLog: true},
	{name: "sel_no_confirmation", rcpts: selRcpts, main: "log_selector = -smtp_confirmation -retry_defer -skip_delivery", sortLog: true},
}

// selRcpts make the log_selector cases: local, remote, failing and
// deferred deliveries.
var selRcpts = []string{"alice@test.example", "ok1@remote.example", "rej@remote.example", "def@remote.example", "nobody@test.example"}

// timesSel and timesRcpts make the QT= and DT= cases.
const timesSel = "log_selector = +deliver_time +queue_time +queue_time_overall"

var timesRcpts = []string{"alice@test.example", "later@test.example", "nobody@test.example", "ok1@remote.example", "ok2@remote.example", "rej@remote.example", "def@remote.example"}

// warnRcpts and warnFile make the delay warning cases.
var warnRcpts = []string{"def@remote.example", "def2@remote.example", "later@test.example", "alice@test.example"}

const warnFile = "Subject: WARN about $message_exim_id after $warn_message_delay to $warn_message_recipients\nX-Extra: yes\n****\nHello $warn_message_recipients.\nDelay $warn_message_delay.\n****\nBye.\n"

const bounceFile = "Subject: BOUNCE for $bounce_recipient limit $bounce_return_size_limit\nX-B: 1\n****\nIntro for $bounce_recipient.\n****\nPipe text follows:\n****\nCOPY of message:\n****\nTRUNC $message_size limit $bounce_return_size_limit\n****\n"

func TestEndToEnd(t *testing.T) {
	runE2ECases(t, e2eCases)
}

// runE2ECases runs each case with real Exim and with exigo and compares
// what they leave behind.
func runE2ECases(t *testing.T, cases []e2eCase) {
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	oracletest.EximUser(t)
	srv := &smtptest.Server{
		Pipelining: true,
		Rcpt:       rcptByName,
		// A recipient with "echo" in it makes the reply to the data
		// show the MAIL command's address, which the log's C= field
		// then records.
		Envelope: func(from string, rcpts []string, _ []byte) string {
			for _, r := range rcpts {
				if strings.Contains(r, "echo") {
					return "250 OK id=X from=<" + from + ">"
				}
			}
			return "250 OK id=X"
		},
		Mail: func(from string) string {
			if strings.Contains(from, "mailfail") {
				return "451 not now"
			}
			return "250 OK"
		},
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := runE2E(t, exim, c, srv.Port())
			got := runE2E(t, exigo, c, srv.Port())
			if want != got {
				t.Errorf("exim and exigo differ\n--- exim:\n%s\n--- exigo:\n%s", want, got)
			}
		})
	}
}

// rcptByName answers RCPT for the test servers: an address with "rej"
// in it (in any case) is rejected, one with "def" deferred, the others
// accepted.
func rcptByName(to string) string {
	switch to = strings.ToLower(to); {
	case strings.Contains(to, "rej"):
		return "550 no such user"
	case strings.Contains(to, "def"):
		return "451 try later"
	}
	return "250 Accepted"
}

// runE2E runs one case with bin and returns the masked observations.
func runE2E(t *testing.T, bin string, c e2eCase, port int) string {
	downPort := closedPort(t)
	dir := oracletest.WorkDir(t, "exigo-e2e-", "spool", "mail")
	conf := e2eConf
	if c.conf != "" {
		conf = c.conf
	}
	// preserve_message_logs keeps the message logs of completed
	// messages in msglog.OLD, where observe compares them too.
	conf = strings.Replace(conf, "RETRY_MAIN", "preserve_message_logs\n"+c.main, 1)
	conf = strings.ReplaceAll(conf, "DIR", dir)
	conf = strings.ReplaceAll(conf, "DOWNPORT", strconv.Itoa(downPort))
	conf = strings.ReplaceAll(conf, "PORT", strconv.Itoa(port))
	if c.retry {
		conf = strings.Replace(conf, "RETRY_RULES", "* * F,1h,10m", 1)
	} else {
		conf = strings.Replace(conf, "RETRY_RULES", "", 1)
	}
	if c.conf != "" {
		os.Mkdir(filepath.Join(dir, "filters"), 0o755)
		os.Mkdir(filepath.Join(dir, "strict"), 0o755)
	}
	for name, text := range c.files {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		os.WriteFile(filepath.Join(dir, name), []byte(strings.ReplaceAll(text, "DIR", dir)), 0o644)
	}
	cf := filepath.Join(dir, "conf")
	os.WriteFile(cf, []byte(conf), 0o644)
	oracletest.Trust(t, cf)
	submit := []string{"-C", cf, "-odi"}
	steps := c.steps
	if len(steps) > 0 && (strings.HasPrefix(steps[0][0], "-od") || steps[0][0] == "-N") {
		submit = append([]string{"-C", cf}, steps[0]...)
		steps = steps[1:]
	}
	body := "line one\nline two\n"
	if c.body != "" {
		body = c.body
	}
	msg := "From: Sender <sender@test.example>\nSubject: case " + c.name + "\nMessage-Id: <m1@test.example>\n" + c.head + "\n" + body
	sender := "sender@test.example"
	if c.sender != "" {
		sender = c.sender
	}
	// What each command writes on its standard error (the panic log
	// lines of foreground deliveries, say) is kept beside the
	// mailboxes.
	errN := 0
	keepStderr := func(r oracletest.Result) {
		if r.Stderr != "" {
			os.WriteFile(filepath.Join(dir, "mail", "stderr-"+strconv.Itoa(errN)), []byte(r.Stderr), 0o644)
		}
		errN++
	}
	keepStderr(oracletest.Run(t, bin, msg, append(append(submit, "-f", sender), c.rcpts...)...))
	bpN, mvlN := 0, 0
	for _, s := range steps {
		ids := logIDs(dir)
		if s[0] == "@submit" {
			keepStderr(oracletest.Run(t, bin, msg, append(append(append([]string{}, submit...), "-f", sender), s[1:]...)...))
			continue
		}
		if s[0] == "@bp" {
			// The queue listing, kept beside the mailboxes.
			r := oracletest.Run(t, bin, "", "-C", cf, "-bp")
			os.WriteFile(filepath.Join(dir, "mail", "bp-"+strconv.Itoa(bpN)), []byte(r.Stdout), 0o644)
			bpN++
			continue
		}
		if s[0] == "@mvl" {
			// The message log of the first message.
			r := oracletest.Run(t, bin, "", "-C", cf, "-Mvl", ids[0])
			os.WriteFile(filepath.Join(dir, "mail", "mvl-"+strconv.Itoa(mvlN)), []byte(r.Stdout+r.Stderr), 0o644)
			mvlN++
			continue
		}
		if s[0] == "@wait" {
			// Exim delivers the bounce of -Mg in a background process.
			time.Sleep(700 * time.Millisecond)
			continue
		}
		if s[0] == "@age" {
			// Make the first message older: its -H file's arrival time.
			n, _ := strconv.Atoi(s[1])
			k := 0
			if len(s) > 2 {
				k, _ = strconv.Atoi(s[2])
				k--
			}
			ageMessage(t, filepath.Join(dir, "spool/input", ids[k]+"-H"), n)
			continue
		}
		args := []string{"-C", cf}
		for _, a := range s {
			if strings.HasPrefix(a, "$ID") {
				n, _ := strconv.Atoi(a[3:])
				if n-1 < len(ids) {
					a = ids[n-1]
				}
			}
			args = append(args, a)
		}
		keepStderr(oracletest.Run(t, bin, "", args...))
	}
	return observe(dir, c.sortLog)
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return p
}

// ageMessage moves the arrival time (line 4) of a -H file back by secs.
func ageMessage(t *testing.T, path string, secs int) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(string(data), "\n", 5)
	f := strings.Fields(lines[3])
	n, _ := strconv.Atoi(f[0])
	f[0] = strconv.Itoa(n - secs)
	lines[3] = strings.Join(f, " ")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o640); err != nil {
		t.Fatal(err)
	}
}

var idRE = regexp.MustCompile(`\b[0-9A-Za-z]{6}-[0-9A-Za-z]{6}-[0-9A-Za-z]{2}\b`)

func logIDs(dir string) []string {
	b, _ := os.ReadFile(filepath.Join(dir, "spool/log/mainlog"))
	var out []string
	seen := map[string]bool{}
	for _, id := range idRE.FindAllString(string(b), -1) {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

var masks = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{3})? `), "TIME "},
	{regexp.MustCompile(`\b(QT|DT)=(\d+\.\d{3}s|[0-9wdhms]+)`), "$1=T"},
	{regexp.MustCompile(`pid=\d+`), "pid=N"},
	{regexp.MustCompile(`/temp\.\d+\.`), "/temp.PID."},
	{regexp.MustCompile(`\.lock\.([\w.-]+)\.[0-9a-f]{8}\.[0-9a-f]{8}`), ".lock.$1.TIME.PID"},
	{regexp.MustCompile(`I=\[([0-9.]+)\]:\d+`), "I=[$1]:PORT"},
	{regexp.MustCompile(`id\*=E[0-9A-Za-z]{6}-[0-9A-Za-z]{6}-[0-9A-Za-z]{2}@`), "id*=EID@"},
	{regexp.MustCompile(`<E[0-9A-Za-z]{6}-[0-9A-Za-z]{6}-[0-9A-Za-z]{2}@`), "<EID@"},
	{regexp.MustCompile(`/tmp/exigo-e2e-\d+`), "DIR"},
	{regexp.MustCompile(`(?m)^From (\S+) \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$`), "From $1 DATE"},
	{regexp.MustCompile(`S=\d+`), "S=N"},
	// The load average moves between the two runs.
	{regexp.MustCompile(`load average \d+\.\d\d`), "load average N"},
	{regexp.MustCompile(`\d+-eximdsn-\d+`), "BOUNDARY"},
	{regexp.MustCompile(`\w{3}, \d+ \w{3} \d{4} \d\d:\d\d:\d\d [-+]\d{4}`), "DATE"},
	{regexp.MustCompile(`\(Exim 4\.96\)|\(Exim [^)]*exigo[^)]*\)|\(exigo[^)]*\)`), "(VERSION)"},
	{regexp.MustCompile(`(?m)^ *\d+\.M\d+P\d+\.test\.example`), "MAILDIRFILE"},
	{regexp.MustCompile(`(?m)^ *\d+[mhd] +\d+ ID`), "AGE SIZE ID"},
}

// observe returns the masked main log, mailbox files and spool -D files.
func observe(dir string, sortLog bool) string {
	var b strings.Builder
	log, _ := os.ReadFile(filepath.Join(dir, "spool/log/mainlog"))
	ids := map[string]string{}
	mask := func(s string) string {
		s = idRE.ReplaceAllStringFunc(s, func(id string) string {
			if _, ok := ids[id]; !ok {
				ids[id] = "ID" + strconv.Itoa(len(ids)+1)
			}
			return ids[id]
		})
		for _, m := range masks {
			s = m.re.ReplaceAllString(s, m.with)
		}
		return s
	}
	b.WriteString("== mainlog\n")
	var lines []string
	for _, l := range strings.Split(string(log), "\n") {
		if strings.Contains(l, "purging the environment") || strings.HasPrefix(l, " Suggested action") {
			continue
		}
		lines = append(lines, mask(l))
	}
	if sortLog {
		sort.Strings(lines)
	}
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	if panic, err := os.ReadFile(filepath.Join(dir, "spool/log/paniclog")); err == nil {
		b.WriteString("== paniclog\n" + mask(string(panic)))
	}
	var files []string
	filepath.Walk(filepath.Join(dir, "mail"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	var parts []string
	for _, f := range files {
		data, _ := os.ReadFile(f)
		name := strings.TrimPrefix(f, dir)
		if strings.Contains(name, "/new/") {
			name = name[:strings.Index(name, "/new/")+5] + "FILE"
		}
		parts = append(parts, "== "+name+"\n"+mask(string(data)))
	}
	sort.Strings(parts)
	b.WriteString(strings.Join(parts, ""))
	var spool []string
	filepath.Walk(filepath.Join(dir, "spool/input"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && strings.HasSuffix(p, "-D") {
			data, _ := os.ReadFile(p)
			spool = append(spool, "== spool "+mask(filepath.Base(p))+"\n"+mask(string(data)))
		}
		return nil
	})
	sort.Strings(spool)
	b.WriteString(strings.Join(spool, ""))
	// The message logs of the messages left on the queue.
	var msglogs []string
	filepath.Walk(filepath.Join(dir, "spool"), func(p string, fi os.FileInfo, err error) error {
		if d := filepath.Base(filepath.Dir(p)); d != "msglog" && d != "msglog.OLD" {
			return nil
		}
		if err == nil && !fi.IsDir() {
			data, _ := os.ReadFile(p)
			name := strings.TrimPrefix(p, filepath.Join(dir, "spool")+"/")
			msglogs = append(msglogs, "== "+mask(name)+"\n"+mask(string(data)))
		}
		return nil
	})
	sort.Strings(msglogs)
	b.WriteString(strings.Join(msglogs, ""))
	return b.String()
}
