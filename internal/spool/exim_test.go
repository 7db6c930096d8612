package spool

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// eximSpool is a spool directory with a configuration for real Exim that
// queues everything it receives.
type eximSpool struct {
	t    *testing.T
	exim string
	dir  string // spool_directory
	conf string
}

const eximConf = `spool_directory = SPOOL
log_file_path = SPOOL/log/%slog
queue_only = true
exim_user = root
exim_group = root
primary_hostname = test.example
qualify_domain = test.example
trusted_users = root
dsn_advertise_hosts = *
auth_advertise_hosts = *
smtp_active_hostname = active.example
SPLIT
acl_not_smtp = acl_ns
acl_smtp_rcpt = acl_r
acl_smtp_data = acl_d
begin acl
acl_ns:
  warn set acl_m_foo = bar
       set acl_c_x = multi\nline
  accept
acl_r:
  warn set acl_c_conn = c-value
  accept
acl_d:
  warn set acl_m_spam = 12
  accept
begin authenticators
plain:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = yes
  server_set_id = $auth2
`

func newEximSpool(t *testing.T, split bool) *eximSpool {
	exim := oracletest.Exim(t)
	if os.Geteuid() != 0 {
		oracletest.Missing(t, "root (to run Exim with -C)")
	}
	base := t.TempDir()
	os.Chmod(base, 0o755)
	dir := filepath.Join(base, "spool")
	conf := strings.ReplaceAll(eximConf, "SPOOL", dir)
	if split {
		conf = strings.Replace(conf, "SPLIT", "split_spool_directory = true", 1)
	} else {
		conf = strings.Replace(conf, "SPLIT", "", 1)
	}
	cp := filepath.Join(base, "exim.conf")
	if err := os.WriteFile(cp, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return &eximSpool{t: t, exim: exim, dir: dir, conf: cp}
}

func (e *eximSpool) run(stdin string, args ...string) string {
	e.t.Helper()
	cmd := exec.Command(e.exim, append([]string{"-C", e.conf}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	out, err := cmd.CombinedOutput()
	if err != nil {
		e.t.Fatalf("exim %v: %v\n%s", args, err, out)
	}
	return string(out)
}

var idRE = regexp.MustCompile(`\b[0-9A-Za-z]{6}-[0-9A-Za-z]{6}-[0-9A-Za-z]{2}\b`)

// queueAll makes Exim queue a set of messages that use most -H features
// and returns the ids.
func (e *eximSpool) queueAll() []string {
	var ids []string
	seen := map[string]bool{}
	submit := func(stdin string, args ...string) {
		e.run(stdin, args...)
		for _, id := range idRE.FindAllString(e.run("", "-bpr"), -1) {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
		if len(ids) != len(seen) || len(ids) == 0 {
			e.t.Fatalf("no new message after exim %v", args)
		}
	}
	submit("Subject: hi\nTo: a@b.example, c@d.example\nFrom: Me <me@x.example>\nCc: z@z.example\nBcc: h@h.example\nReply-To: r@r.example\nSender: s@s.example\nMessage-ID: <abc@x>\n\nbody line 1\nbody line 2 is longer\n",
		"-odq", "-f", "sender@x.example", "rcpt@y.example", "other@z.example")
	submit("EHLO client.example\r\nAUTH PLAIN AHVzZXIAcGFzcw==\r\nMAIL FROM:<s@x.example> RET=HDRS ENVID=abc+2Bdef AUTH=<auth@x.example>\r\n"+
		"RCPT TO:<a@y.example> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;A@Y.example\r\nRCPT TO:<b@y.example> NOTIFY=NEVER\r\n"+
		"RCPT TO:<c@y.example> NOTIFY=FAILURE\r\nRCPT TO:<d@y.example>\r\nDATA\r\nSubject: x\r\n\r\nhel\x00lo\r\n.\r\nQUIT\r\n",
		"-bs", "-oMa", "192.0.2.10.1234", "-oMi", "192.0.2.1.25", "-oMr", "esmtp", "-oMs", "host.name.example")
	submit("EHLO client.example\r\nMAIL FROM:<s\xc3\xbc@x.example> SMTPUTF8 RET=FULL\r\nRCPT TO:<\xc3\xbc@y.example>\r\nDATA\r\nSubject: u\r\n\r\nhello\r\n.\r\nQUIT\r\n",
		"-bs", "-oMa", "192.0.2.10.1234")
	submit("From: nobody\n\nbounce body\n", "-odq", "-f", "<>", "postmaster@y.example")
	e.run("", "-Mf", ids[0])
	e.run("", "-Mf", ids[1])
	e.run("", "-Mt", ids[1])
	return ids
}

// TestEximRoundTrip reads -H files written by real Exim 4.96 and writes
// them back byte for byte.
func TestEximRoundTrip(t *testing.T) {
	for _, split := range []bool{false, true} {
		e := newEximSpool(t, split)
		ids := e.queueAll()
		s, err := Open(Options{Dir: e.dir, Split: split})
		if err != nil {
			t.Fatal(err)
		}
		list, err := s.List()
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != len(ids) {
			t.Fatalf("List found %d messages, Exim %d", len(list), len(ids))
		}
		for _, id := range ids {
			dir, err := s.Locate(ID(id))
			if err != nil {
				t.Fatal(err)
			}
			if split && filepath.Base(dir) != ID(id).SplitChar() {
				t.Errorf("%s in %s", id, dir)
			}
			data, err := os.ReadFile(filepath.Join(dir, id+"-H"))
			if err != nil {
				t.Fatal(err)
			}
			h, err := s.ReadHeader(ID(id))
			if err != nil {
				t.Fatalf("%s: %v\n%s", id, err, data)
			}
			out, err := h.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, data) {
				t.Errorf("%s: round trip differs:\n%s\n--- wrote ---\n%s", id, data, out)
			}
			if len(h.Extra) != 0 {
				t.Errorf("%s: unknown option lines %q", id, h.Extra)
			}
		}
		// Spot checks of the decoded fields.
		h0, _ := s.ReadHeader(ID(ids[0]))
		if h0.Frozen.IsZero() || len(h0.ACLVars) != 2 || h0.ACLVars[0].Value != "multi\nline" || h0.Sender != "sender@x.example" {
			t.Errorf("first message decoded as %+v", h0)
		}
		h1, _ := s.ReadHeader(ID(ids[1]))
		r := h1.Recipients
		if !h1.ManualThaw || h1.DSNRet != DSNRetHdrs || h1.DSNEnvID != "abc+2Bdef" || h1.AuthID != "user" ||
			!h1.Tainted["helo_name"] || h1.BodyZerocount != 1 || len(r) != 4 ||
			r[0].ORcpt != "rfc822;A@Y.example" || r[0].DSNFlags != DSNNotifySuccess|DSNNotifyDelay ||
			r[1].DSNFlags != DSNNotifyNever || r[2].DSNFlags != DSNNotifyFailure || r[3].Flags != 0 {
			t.Errorf("SMTP message decoded as %+v", h1)
		}
		h2, _ := s.ReadHeader(ID(ids[2]))
		if !h2.SMTPUTF8 || h2.DSNRet != DSNRetFull {
			t.Errorf("utf8 message decoded as %+v", h2)
		}
		h3, _ := s.ReadHeader(ID(ids[3]))
		if h3.Sender != "" {
			t.Errorf("bounce sender %q", h3.Sender)
		}
	}
}
