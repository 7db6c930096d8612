package integration

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// slapd is a real OpenLDAP slapd started for a test on 127.0.0.1:port
// with the tree of testdata/people.ldif.
type slapd struct {
	port int
	cmd  *exec.Cmd
	done chan struct{}
}

const slapdConf = `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile %[1]s/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
suffix "dc=example,dc=net"
rootdn "cn=admin,dc=example,dc=net"
rootpw secret
directory %[1]s/db
maxsize 10485760
`

// startSlapd starts slapd from Debian's package in a temporary directory;
// the test stops it.
func startSlapd(t *testing.T) *slapd {
	t.Helper()
	bin := "/usr/sbin/slapd"
	if _, err := os.Stat(bin); err != nil {
		oracletest.Missing(t, "slapd (apt-get install slapd)")
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(slapdConf, dir)), 0o600); err != nil {
		t.Fatal(err)
	}
	ldif, err := filepath.Abs("testdata/people.ldif")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("/usr/sbin/slapadd", "-f", conf, "-l", ldif).CombinedOutput(); err != nil {
		t.Fatalf("slapadd: %v\n%s", err, out)
	}
	s := &slapd{port: freePort(t), done: make(chan struct{})}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
	s.cmd = exec.Command(bin, "-f", conf, "-h", "ldap://"+addr+"/", "-d", "0")
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting slapd: %v", err)
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	t.Cleanup(s.stop)
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return s
		}
		select {
		case <-s.done:
			t.Fatal("slapd exited at start")
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("slapd did not listen on %s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop kills slapd and waits for it (idempotent).
func (s *slapd) stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// ldapConf authenticates PLAIN (binding as the DN made from the user
// name with quote_ldap_dn) and LOGIN (binding as the DN found by an
// ldapdn lookup with quote_ldap) against slapd, and routes example.net
// by the users' mail attributes to their uids at mail.example.net,
// delivered to maildirs when an ldap lookup of the uid finds them.
// Recipients are verified, except for senders at noverify.example.
const ldapConf = `qualify_domain = example.net
acl_smtp_rcpt = rcpt
begin acl
rcpt:
  accept condition = ${if eq{$sender_address_domain}{noverify.example}}
  require verify = recipient
  accept
begin routers
ldap_alias:
  driver = redirect
  domains = example.net
  data = ${lookup ldap{LDAP/PEOPLE?uid?sub?(mail=${quote_ldap:$local_part}@example.net)}{$value@mail.example.net}}
ldap_user:
  driver = accept
  domains = mail.example.net
  local_parts = ${lookup ldap{LDAP/PEOPLE?uid?sub?(uid=${quote_ldap:$local_part})}}
  transport = mdir
begin transports
mdir:
  driver = appendfile
  directory = @DIR@/mail/${local_part_data}
  maildir_format
  user = Debian-exim
  delivery_date_add
  envelope_to_add
  return_path_add
begin authenticators
plain:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = ${if ldapauth{user="uid=${quote_ldap_dn:$auth2},PEOPLE" pass=${quote:$auth3} LDAP/}}
  server_set_id = $auth2
login:
  driver = plaintext
  public_name = LOGIN
  server_prompts = Username:: : Password::
  server_condition = ${if ldapauth{user="${lookup ldapdn{LDAP/PEOPLE?uid?sub?(uid=${quote_ldap:$auth1})}}" pass=${quote:$auth2} LDAP/}}
  server_set_id = $auth1
`

// TestLDAP gives Exim's and exigo's daemons AUTH PLAIN and LOGIN
// sessions checked against slapd (good and bad passwords, user names
// with the characters LDAP filters and DNs treat specially) and
// messages routed by LDAP lookups to maildirs; then the same with slapd
// stopped. It compares the replies, the logs and the delivered files.
func TestLDAP(t *testing.T) {
	if !inNamespace(t, "TestLDAP") {
		return
	}
	s := startSlapd(t)
	conf := strings.NewReplacer("LDAP", fmt.Sprintf("ldap://127.0.0.1:%d", s.port),
		"PEOPLE", "ou=People,dc=example,dc=net").Replace(ldapConf)
	p := startPair(t, conf)
	n := 0
	auth := func(mech, user, pass string) {
		n += p.session(t, fmt.Sprintf("AUTH %s %q %q", mech, user, pass), "--ehlo", "client.example",
			"--auth", mech, "--auth-user", user, "--auth-password", pass, "--quit-after", "AUTH")
	}
	users := [][2]string{
		{"alice", "alicepw"}, {"alice", "wrong"}, {"bob", "bobpw"}, {"nobody", "alicepw"},
		{"a*b", "starpw"}, {"*", "alicepw"}, {"*", "starpw"}, {"a*", "starpw"},
		{"alice)(uid=*", "alicepw"}, {"x)(|(uid=*", "alicepw"}, {"paren)(x", "parenpw"},
		{"comma,user", "commapw"}, {"comma", "commapw"}, {"back\\slash", "backpw"}, {"back\\", "backpw"},
		{"alice,ou=People", "alicepw"}, {"uid=alice,ou=People,dc=example,dc=net", "alicepw"},
	}
	for _, mech := range []string{"PLAIN", "LOGIN"} {
		for _, u := range users {
			auth(mech, u[0], u[1])
		}
	}
	mail := func(name, from, to string, more ...string) {
		args := append([]string{"-f", from, "-t", to, "--ehlo", "client.example", "--header", "Subject: " + name}, fixedHeaders...)
		n += p.session(t, name, append(args, more...)...)
		p.settle()
	}
	mail("to alice", "sender@client.example", "alice@example.net")
	mail("to an alias", "sender@client.example", "a.smith@example.net,ventas@example.net")
	mail("to two users", "sender@client.example", "bob@example.net,star@example.net")
	mail("to nobody", "sender@client.example", "nobody@example.net")
	mail("filter injection", "sender@client.example", "*@example.net")
	mail("filter injection 2", "sender@client.example", "alice)(mail=*@example.net")
	mail("uid directly", "sender@client.example", "alice@mail.example.net")
	mail("uid injection", "sender@client.example", "*@mail.example.net")
	// Authenticated senders: A= on the arrival line, esmtpa in Received:.
	mail("authenticated PLAIN", "sender@client.example", "bob@example.net", "--auth", "PLAIN", "--auth-user", "a*b", "--auth-password", "starpw")
	mail("authenticated LOGIN", "sender@client.example", "star@example.net", "--auth", "LOGIN", "--auth-user", "alice", "--auth-password", "alicepw")

	s.stop()
	auth("PLAIN", "alice", "alicepw")
	auth("LOGIN", "alice", "alicepw")
	mail("down verify", "sender@client.example", "alice@example.net")
	mail("down delivery", "sender@noverify.example", "alice@example.net")
	mail("down local_parts verify", "sender@client.example", "alice@mail.example.net")
	mail("down local_parts delivery", "sender@noverify.example", "bob@mail.example.net")

	// The bounce is delivered (and frozen) while its message is being
	// finished: the last lines come in either order.
	lines := p.compareLogs(t, regexp.MustCompile(`retry timeout exceeded`))
	files := compareLists(t, "delivered files", p[0].mailFiles(t), p[1].mailFiles(t))
	// The message whose delivery deferred is bounced at once (no retry
	// rules), and the bounce, undeliverable, stays frozen in the queue.
	queued := compareLists(t, "queued messages", p[0].spoolMessages(t, true), p[1].spoolMessages(t, true))
	t.Logf("%d sessions, %d log lines, %d delivered files, %d queued messages compared", n, lines, files, queued)
}
