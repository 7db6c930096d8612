package cli_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

const msetConf = `primary_hostname = test.example
spool_directory = @DIR@/spool
log_file_path = @DIR@/log/%s
queue_only = true
keep_environment =
message_body_visible = 12
acl_not_smtp = ns
acl_smtp_rcpt = rcpt
begin acl
ns:
  accept set acl_m_x = mval
         set acl_c_y = cval
rcpt:
  accept set acl_m0 = rcptval
`

// msetExprs are expanded with -be -Mset for every queued message.
var msetExprs = []string{
	"$message_exim_id", "$message_id", "$sender_address", "$sender_address_local_part",
	"$sender_address_domain", "$h_subject:", "$rh_x-multi:", "$h_x-multi:", "$header_to:",
	"$message_body", "$message_body_end", "$message_body_size", "$message_size",
	"$message_linecount", "$body_linecount", "$body_zerocount", "$max_received_linelength",
	"$recipients", "$recipients_count", "$received_protocol", "$sender_ident",
	"$authenticated_id", "$authenticated_sender", "$sender_host_authenticated",
	"$sender_host_address", "$sender_host_port", "$sender_host_name", "$sender_helo_name",
	"$sender_fullhost", "$sender_rcvhost", "$interface_address", "$interface_port",
	"$received_ip_address", "$received_port", "$received_count", "$acl_m_x", "$acl_c_y",
	"$acl_m0", "$reply_address", "$return_path", "$originator_uid", "$originator_gid",
	"${if <{$message_age}{100}{young}{old}}", "${if >{$received_time}{1700000000}{t}{f}}",
	"$message_headers", "${if def:h_to:{y}{n}}",
}

// runMset queues a local message and an SMTP one with bin, then
// expands msetExprs for each and for a message that does not exist.
func runMset(t *testing.T, bin string) string {
	t.Helper()
	dir := oracletest.WorkDir(t, "exigo-mset-", "spool", "log")
	cf := filepath.Join(dir, "exim.conf")
	os.WriteFile(cf, []byte(strings.ReplaceAll(msetConf, "@DIR@", dir)), 0o644)
	oracletest.Run(t, bin, "Subject: hello there\nTo: x@y, z@w\nX-Multi: a\n  b\n\nbody line 1\nline 2 is longer than twelve\n",
		"-C", cf, "-f", "a@b.example", "x@y", "z@w")
	oracletest.Run(t, bin, "EHLO h4.delta.example\r\nMAIL FROM:<s@c.example>\r\nRCPT TO:<r@test.example>\r\nDATA\r\nSubject: smtp\r\nReceived: from elsewhere\r\nReply-To: rt@c.example\r\n\r\nshort\r\n.\r\nQUIT\r\n",
		"-C", cf, "-bs", "-oMa", "192.0.2.7.1234", "-oMi", "192.0.2.1.25", "-oMaa", "plainauth", "-oMai", "someone", "-oMs", "h4.delta.example")
	names, _ := filepath.Glob(filepath.Join(dir, "spool", "input", "*-H"))
	if len(names) != 2 {
		t.Fatalf("%s: %d messages queued", bin, len(names))
	}
	var out []string
	for _, id := range append(names, "1xWwf0-0002wp-99") {
		id = strings.TrimSuffix(filepath.Base(id), "-H")
		res := oracletest.Run(t, bin, "", append([]string{"-C", cf, "-be", "-Mset", id}, msetExprs...)...)
		out = append(out, "== stdout\n"+res.Stdout+"== stderr\n"+nsStamp.ReplaceAllString(res.Stderr, "")+"== rc "+strconv.Itoa(res.Code))
	}
	// The order of the two queued messages is by id.
	if strings.Contains(out[0], "\nsmtp\n") {
		out[0], out[1] = out[1], out[0]
	}
	return nsMask(strings.Join(out, "\n"))
}

// TestMsetOracle compares the message variables -be -Mset gives for a
// queued local message, an SMTP one and a missing one with Exim 4.96's.
func TestMsetOracle(t *testing.T) {
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	want := runMset(t, exim)
	got := runMset(t, exigo)
	if want != got {
		t.Errorf("differs\n--- exim\n%s\n--- exigo\n%s", want, got)
	}
}
