package cli_test

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// nsConfHead is the start of every non-SMTP ACL configuration: messages
// (error messages too) stay queued, logs and spool under the case's
// directory (@DIR@).
const nsConfHead = `primary_hostname = test.example
spool_directory = @DIR@/spool
log_file_path = @DIR@/log/%s
qualify_domain = q.example
keep_environment =
queue_only = true
`

const nsConfTail = `
begin routers
r:
  driver = accept
  transport = t
begin transports
t:
  driver = appendfile
  file = /dev/null
`

// nsConfs are the ACL parts of the configurations the cases use.
var nsConfs = map[string]string{
	// all: the three ACLs, each writing what it sees; the verdict is
	// chosen by the Subject:.
	"all": `bounce_return_size_limit = 100
acl_not_smtp_start = nsstart
acl_not_smtp = nsacl
acl_not_smtp_mime = nsmime
begin acl
nsstart:
  warn logwrite = start: s=$sender_address r=$recipients c=$recipients_count sz=$message_size subj=$h_subject: id=$message_exim_id
       set acl_m_x = fromstart
       add_header = X-Start: yes
       remove_header = X-Gone
nsmime:
  warn logwrite = mime: $mime_content_type $mime_filename $mime_part_count $mime_is_multipart
  deny condition = ${if eq{$mime_filename}{bad.exe}}
       message = bad attachment $mime_filename
  accept
nsacl:
  warn logwrite = data: s=$sender_address r=$recipients c=$recipients_count sz=$message_size subj=$h_subject: body=${length_30:$message_body} m=$acl_m_x lc=$message_linecount bl=$body_linecount xs=$h_x-start: gone=$h_x-gone:
       add_header = X-Data: $recipients_count
       remove_header = X-Remove
  discard condition = ${if match{$h_subject:}{disc}}
          log_message = discarded it
  defer condition = ${if match{$h_subject:}{defer}}
        message = deferred msg
  drop condition = ${if match{$h_subject:}{drop}}
        message = dropped msg
  deny condition = ${if match{$h_subject:}{nomsg}}
  deny condition = ${if match{$h_subject:}{multi}}
       message = line one\nline two
  deny condition = ${if match{$h_subject:}{logm}}
       message = user text
       log_message = log text
  accept condition = ${if match{$h_subject:}{freeze}}
         control = freeze
  accept condition = ${if match{$h_subject:}{queue}}
         control = queue
  deny message = rejected by acl: $h_subject:
       condition = ${if match{$h_subject:}{bad}}
  accept
`,
	// rejectall: the error message is rejected as well.
	"rejectall": `acl_not_smtp = nsacl
begin acl
nsacl:
  deny message = rejected by acl: $h_subject:
`,
	// smtpauth: -bs sessions that are accepted, their ACLs showing the
	// authentication variables.
	"smtpauth": `acl_smtp_rcpt = rcpt
acl_smtp_data = data
begin acl
rcpt:
  accept logwrite = rcpt: a=$sender_host_authenticated i=$authenticated_id s=$authenticated_sender
data:
  accept logwrite = data: a=$sender_host_authenticated i=$authenticated_id s=$authenticated_sender p=$received_protocol
`,
	// smtpauthdrv: smtpauth with an authenticator of the -oMaa name.
	"smtpauthdrv": `acl_smtp_rcpt = accept
auth_advertise_hosts = *
begin authenticators
plainauth:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = yes
  server_set_id = $auth2
`,
	// fixups: suppress_local_fixups from acl_not_smtp_start.
	"fixups": `acl_not_smtp_start = nsstart
acl_not_smtp = nsacl
begin acl
nsstart:
  warn control = suppress_local_fixups
       logwrite = start c=$recipients_count
nsacl:
  warn logwrite = data r=$recipients c=$recipients_count
  deny condition = ${if match{$h_subject:}{bad}}
       message = no: $h_subject:
  accept
`,
}

const nsMIME = `Subject: mime test
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="XX"

preamble
--XX
Content-Type: text/plain

hi
--XX
Content-Type: application/octet-stream; name="@NAME@"
Content-Disposition: attachment; filename="@NAME@"

MZ
--XX--
`

func nsBig() string {
	var b strings.Builder
	b.WriteString("Subject: bad big\n\n")
	for i := 1; i <= 30; i++ {
		b.WriteString("line " + strconv.Itoa(i) + " of the big message body\n")
	}
	return b.String()
}

// nsCases are the differential cases: a configuration, the command
// line after -C, and standard input.
var nsCases = []struct {
	name, conf string
	args       []string
	stdin      string
}{
	{"accept", "all", []string{"-odq", "-f", "a@b.example", "x@test.example", "y@test.example"}, "Subject: good\nX-Remove: yes\nX-Gone: 1\n\nhello\nworld\n"},
	{"deny", "all", []string{"-odq", "-f", "a@b.example", "x@test.example"}, "Subject: bad one\n\nhello\n"},
	{"deny_oep", "all", []string{"-odq", "-oep", "-f", "a@b.example", "x@test.example"}, "Subject: bad one\n\nhello\n"},
	{"deny_oeq", "all", []string{"-odq", "-oeq", "-f", "a@b.example", "x@test.example"}, "Subject: bad one\n\nhello\n"},
	{"deny_oee", "all", []string{"-odq", "-oee", "-f", "a@b.example", "x@test.example"}, "Subject: bad one\n\nhello\n"},
	{"deny_oew", "all", []string{"-odq", "-oew", "-f", "a@b.example", "x@test.example"}, "Subject: bad one\n\nhello\n"},
	{"deny_oem", "all", []string{"-odq", "-oem", "-f", "a@b.example", "x@test.example"}, "Subject: bad one\n\nhello\n"},
	{"deny_removed_copied", "all", []string{"-odq", "-f", "a@b.example", "x@test.example"}, "Return-Path: <zz@x.example>\nSubject: bad\nX-Gone: 1\n\nhello\n"},
	{"defer", "all", []string{"-odq", "-f", "a@b.example", "x@test.example"}, "Subject: defer\n\nhello\n"},
	{"drop", "all", []string{"-odq", "-f", "a@b.example", "x@test.example"}, "Subject: drop\n\nhello\n"},
	{"discard", "all", []string{"-odq", "-f", "a@b.example", "x@test.example"}, "Subject: disc\n\nhello\n"},
	{"nomsg_oep", "all", []string{"-odq", "-oep", "-f", "a@b.example", "x@test.example"}, "Subject: nomsg\n\nhello\n"},
	{"nomsg_mailed", "all", []string{"-odq", "-f", "a@b.example", "x@test.example"}, "Subject: nomsg\n\nhello\n"},
	{"multiline_oep", "all", []string{"-odq", "-oep", "-f", "a@b.example", "x@test.example"}, "Subject: multi\n\nhello\n"},
	{"multiline_mailed", "all", []string{"-odq", "-f", "a@b.example", "x@test.example"}, "Subject: multi\n\nhello\n"},
	{"log_message", "all", []string{"-odq", "-oep", "-f", "a@b.example", "x@test.example"}, "Subject: logm\n\nhello\n"},
	{"null_sender", "all", []string{"-odq", "-f", "<>", "x@test.example"}, "Subject: bad\n\nhello\n"},
	{"big_truncated", "all", []string{"-odq", "-f", "a@b.example", "x@test.example"}, nsBig()},
	{"empty", "all", []string{"-odq", "-f", "a@b.example", "x@test.example"}, ""},
	{"freeze", "all", []string{"-odq", "-f", "a@b.example", "x@test.example"}, "Subject: freeze\n\nhello\n"},
	{"queue", "all", []string{"-odq", "-f", "a@b.example", "x@test.example"}, "Subject: queue\n\nhello\n"},
	{"extract", "all", []string{"-odq", "-f", "a@b.example", "-t"}, "To: p@test.example, q@test.example\nSubject: good\n\nhello\n"},
	{"extract_deny", "all", []string{"-odq", "-f", "a@b.example", "-t"}, "To: p@test.example\nSubject: bad\n\nhello\n"},
	{"dot_ends", "all", []string{"-odq", "-f", "a@b.example", "x@test.example"}, "Subject: bad\n\nhello\n.\nafter\n"},
	{"mime_accept", "all", []string{"-odq", "-f", "a@b.example", "x@test.example"}, strings.ReplaceAll(nsMIME, "@NAME@", "good.exe")},
	{"mime_deny", "all", []string{"-odq", "-f", "a@b.example", "x@test.example"}, strings.ReplaceAll(nsMIME, "@NAME@", "bad.exe")},
	{"error_message_rejected", "rejectall", []string{"-odq", "-f", "a@b.example", "x@test.example"}, "Subject: anything\n\nhello\n"},
	{"suppress_fixups", "fixups", []string{"-odq", "-f", "a@b.example", "x@test.example"}, "Subject: good\n\nhello\n"},
	{"suppress_fixups_deny", "fixups", []string{"-odq", "-f", "a@b.example", "x@test.example"}, "Subject: bad\n\nhello\n"},
	// -bs from a trusted caller with -oMa: the session is as if from
	// that host.
	{"bs_oMa", "all", []string{"-odq", "-bs", "-oMa", "192.0.2.7.1234", "-oMs", "h4.delta.example", "-oMi", "192.0.2.1"}, nsSMTP},
	{"bs_oMa_noname", "all", []string{"-odq", "-bs", "-oMa", "192.0.2.7"}, nsSMTP},
	{"bs_oMa_oMt", "all", []string{"-odq", "-bs", "-oMa", "[192.0.2.8]:25", "-oMt", "someone", "-oMs", "other.example"}, nsSMTP},
	{"bs_local", "all", []string{"-odq", "-bs"}, nsSMTP},
	// -oMaa and -oMai: the session is as if authenticated.
	{"bs_oMa_auth", "smtpauth", []string{"-odq", "-bs", "-oMa", "192.0.2.7", "-oMaa", "plainauth", "-oMai", "someone"}, nsSMTP},
	{"bs_oMa_auth_name_only", "smtpauth", []string{"-odq", "-bs", "-oMa", "192.0.2.7", "-oMaa", "plainauth"}, nsSMTP},
	{"bs_oMa_auth_id_only", "smtpauth", []string{"-odq", "-bs", "-oMa", "192.0.2.7", "-oMai", "someone"}, nsSMTP},
	{"bs_local_auth", "smtpauth", []string{"-odq", "-bs", "-oMaa", "plainauth", "-oMai", "someone"}, nsSMTP},
	{"bs_local_auth_helo", "smtpauth", []string{"-odq", "-bs", "-oMaa", "plainauth", "-oMai", "someone"}, strings.Replace(nsSMTP, "EHLO", "HELO", 1)},
	{"bs_oMa_auth_oMas", "smtpauth", []string{"-odq", "-bs", "-oMa", "192.0.2.7", "-oMaa", "plainauth", "-oMai", "someone", "-oMas", "x@y.example"}, nsSMTP},
	{"bs_oMa_auth_driver", "smtpauthdrv", []string{"-odq", "-bs", "-oMa", "192.0.2.7", "-oMaa", "plainauth", "-oMai", "someone"}, "EHLO h4.delta.example\r\nAUTH PLAIN AHUAcA==\r\nMAIL FROM:<a@b.example> AUTH=<x@y>\r\nRCPT TO:<x@test.example>\r\nDATA\r\nSubject: good\r\n\r\nbody\r\n.\r\nQUIT\r\n"},
	// -t without recipients: an error message to the sender.
	{"extract_none", "all", []string{"-odq", "-f", "a@b.example", "-t"}, "Subject: good\n\nhello\n"},
	{"extract_none_oep", "all", []string{"-odq", "-oep", "-f", "a@b.example", "-t"}, "Subject: good\n\nhello\n"},
	{"extract_none_oeq", "all", []string{"-odq", "-oeq", "-f", "a@b.example", "-t"}, "Subject: good\n\nhello\n"},
	{"extract_none_oew", "all", []string{"-odq", "-oew", "-f", "a@b.example", "-t"}, "Subject: good\n\nhello\n"},
	{"extract_none_oem", "all", []string{"-odq", "-oem", "-f", "a@b.example", "-t"}, "Subject: good\n\nhello\n"},
	{"extract_none_oee", "all", []string{"-odq", "-oee", "-f", "a@b.example", "-t"}, "Subject: good\n\nhello\n"},
	{"extract_none_refused", "rejectall", []string{"-odq", "-f", "a@b.example", "-t"}, "Subject: good\n\nhello\n"},
	{"extract_none_refused_oee", "rejectall", []string{"-odq", "-oee", "-f", "a@b.example", "-t"}, "Subject: good\n\nhello\n"},
	{"extract_none_big", "all", []string{"-odq", "-f", "a@b.example", "-t"}, nsBig()},
	{"extract_none_bm", "all", []string{"-odq", "-bm", "-f", "a@b.example", "-t"}, "Subject: good\n\nhello\n"},
	{"extract_none_nosender", "all", []string{"-odq", "-t"}, "Subject: good\n\nhello\n"},
	{"extract_none_null", "all", []string{"-odq", "-f", "<>", "-t"}, "Subject: good\n\nhello\n"},
	{"extract_none_removed", "all", []string{"-odq", "-f", "a@b.example", "-t", "p@test.example"}, "To: p@test.example\nSubject: good\n\nhello\n"},
	{"batch_accept", "all", []string{"-odq", "-bS"}, "MAIL FROM:<a@b.example>\nRCPT TO:<x@test.example>\nDATA\nSubject: good\nX-Remove: 1\n\nhello\n.\nMAIL FROM:<a@b.example>\nRCPT TO:<y@test.example>\nDATA\nSubject: good2\n\nhi\n.\nQUIT\n"},
}

// nsSMTP is a -bs session.
const nsSMTP = "EHLO h4.delta.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@test.example>\r\nDATA\r\nSubject: good\r\n\r\nbody\r\n.\r\nQUIT\r\n"

var (
	nsMaskID    = regexp.MustCompile(`\b[0-9A-Za-z]{6}-[0-9A-Za-z]{6}-[0-9A-Za-z]{2}\b`)
	nsMaskMsgID = regexp.MustCompile(`<E[^@>]*@`)
	nsMaskDate  = regexp.MustCompile(`[A-Z][a-z]{2}, \d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [-+]\d{4}`)
	nsStamp     = regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d `)
	// nsHLine are -H lines that hold times.
	nsHLine = regexp.MustCompile(`(?m)^(\d+ \d+|-received_time_usec .*|-received_time_complete .*)\n`)
	// The re-exec of Exim with -C loses root; it says so everywhere.
	nsFrozen   = regexp.MustCompile(`(?m)^-frozen \d+$`)
	nsLostPriv = regexp.MustCompile(`(?m)^.*exim user lost privilege for using -C option\n`)
)

// runNotSMTP runs bin with a configuration and arguments in a fresh
// directory, and returns what is compared: standard output and error,
// the exit code, the main, reject and panic logs, and every spooled
// message's -H file (without times) and -D file, ids, dates and
// message-ids masked.
func runNotSMTP(t *testing.T, bin, conf string, args []string, stdin string) string {
	t.Helper()
	dir := oracletest.WorkDir(t, "exigo-notsmtp-", "spool", "log")
	text := strings.ReplaceAll(nsConfHead+nsConfs[conf]+nsConfTail, "@DIR@", dir)
	cf := filepath.Join(dir, "exim.conf")
	if err := os.WriteFile(cf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	res := oracletest.Run(t, bin, stdin, append([]string{"-C", cf}, args...)...)
	var b strings.Builder
	b.WriteString("== stdout\n" + res.Stdout + "\n== stderr\n" + nsStamp.ReplaceAllString(res.Stderr, "") + "\n== rc " + strconv.Itoa(res.Code) + "\n")
	for _, l := range []string{"main", "reject", "panic"} {
		data, _ := os.ReadFile(filepath.Join(dir, "log", l))
		b.WriteString("== " + l + "\n" + nsStamp.ReplaceAllString(string(data), ""))
	}
	var msgs []string
	files, _ := filepath.Glob(filepath.Join(dir, "spool", "input", "*-H"))
	for _, f := range files {
		h, _ := os.ReadFile(f)
		d, _ := os.ReadFile(strings.TrimSuffix(f, "-H") + "-D")
		hf := nsFrozen.ReplaceAllString(nsHLine.ReplaceAllString(string(h), ""), "-frozen <TIME>")
		msgs = append(msgs, hf+"-- D\n"+string(d))
	}
	// Order by content: ids differ between the two runs.
	for i := range msgs {
		msgs[i] = nsMask(msgs[i])
	}
	sort.Strings(msgs)
	b.WriteString("== spool\n" + strings.Join(msgs, "\n--\n"))
	return nsMask(b.String())
}

func nsMask(s string) string {
	s = nsLostPriv.ReplaceAllString(s, "")
	s = nsMaskMsgID.ReplaceAllString(s, "<E@")
	s = nsMaskID.ReplaceAllString(s, "<ID>")
	return nsMaskDate.ReplaceAllString(s, "<DATE>")
}

// TestNotSMTPOracle compares the non-SMTP ACLs of exigo and Exim 4.96:
// -bm, -t and -bS submissions accepted, rejected (with each -oe mode),
// discarded, frozen or queued by acl_not_smtp, the MIME ACL, the start
// ACL's controls and header lines, and the error messages mailed to
// senders.
func TestNotSMTPOracle(t *testing.T) {
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	for _, c := range nsCases {
		t.Run(c.name, func(t *testing.T) {
			want := runNotSMTP(t, exim, c.conf, c.args, c.stdin)
			got := runNotSMTP(t, exigo, c.conf, c.args, c.stdin)
			if want != got {
				t.Errorf("differs\n--- exim\n%s\n--- exigo\n%s", want, got)
			}
		})
	}
}
