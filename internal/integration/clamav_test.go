package integration

import (
	"encoding/hex"
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

// eicar is the EICAR anti-virus test string.
const eicar = `X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`

// clamd is a clamd started for a test with only a signature database the
// test writes: the EICAR string named Eicar-Test-Signature (clamd reports
// it with ".UNOFFICIAL", as for any unsigned database).
type clamd struct {
	socket string
	port   int
	cmd    *exec.Cmd
	done   chan struct{}
}

func startClamd(t *testing.T) *clamd {
	t.Helper()
	bin, err := exec.LookPath("clamd")
	if err != nil {
		if _, e := os.Stat("/usr/sbin/clamd"); e == nil {
			bin, err = "/usr/sbin/clamd", nil
		}
	}
	if err != nil {
		oracletest.Missing(t, "clamd (apt-get install clamav-daemon)")
	}
	// The daemons scan as the Exim user: the socket's directory must
	// be open to it.
	dir, err := os.MkdirTemp("", "exigo-integ-clamd-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	db := filepath.Join(dir, "db")
	os.Mkdir(db, 0o755)
	sig := "Eicar-Test-Signature:0:*:" + hex.EncodeToString([]byte(eicar)) + "\n"
	if err := os.WriteFile(filepath.Join(db, "test.ndb"), []byte(sig), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &clamd{socket: filepath.Join(dir, "clamd.sock"), port: freePort(t), done: make(chan struct{})}
	conf := filepath.Join(dir, "clamd.conf")
	text := fmt.Sprintf("LocalSocket %s\nTCPSocket %d\nTCPAddr 127.0.0.1\nDatabaseDirectory %s\nForeground yes\nLogFile %s\nPidFile %s\nUser root\n",
		c.socket, c.port, db, filepath.Join(dir, "clamd.log"), filepath.Join(dir, "clamd.pid"))
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	c.cmd = exec.Command(bin, "-c", conf)
	out, _ := os.Create(filepath.Join(dir, "clamd.out"))
	c.cmd.Stdout, c.cmd.Stderr = out, out
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("starting clamd: %v", err)
	}
	go func() { c.cmd.Wait(); out.Close(); close(c.done) }()
	t.Cleanup(c.stop)
	for i := 0; i < 300; i++ {
		if conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", c.port)); err == nil {
			conn.Close()
			if _, err := os.Stat(c.socket); err == nil {
				return c
			}
		}
		select {
		case <-c.done:
			i = 300
		default:
			time.Sleep(100 * time.Millisecond)
		}
	}
	log, _ := os.ReadFile(filepath.Join(dir, "clamd.out"))
	t.Fatalf("clamd did not start:\n%s", log)
	return nil
}

// stop kills clamd and waits for it (idempotent).
func (c *clamd) stop() {
	if c.cmd == nil {
		return
	}
	c.cmd.Process.Kill()
	<-c.done
	c.cmd = nil
}

// mpackMessage writes a message file for swaks --data: From:, To: and
// Subject: and the file data attached as name by mpack.
func mpackMessage(t *testing.T, name string, data []byte) string {
	t.Helper()
	mp, err := exec.LookPath("mpack")
	if err != nil {
		oracletest.Missing(t, "mpack (apt-get install mpack)")
	}
	dir := t.TempDir()
	f := filepath.Join(dir, name)
	os.WriteFile(f, data, 0o644)
	out := filepath.Join(dir, "mpack.eml")
	if b, err := exec.Command(mp, "-s", "adjunto", "-o", out, f).CombinedOutput(); err != nil {
		t.Fatalf("mpack: %v %s", err, b)
	}
	body, _ := os.ReadFile(out)
	// mpack's own Message-ID is made from its pid and the host name.
	body = regexp.MustCompile(`(?m)^Message-ID: .*\n`).ReplaceAll(body, nil)
	msg := filepath.Join(dir, "msg.eml")
	head := "From: sender@client.example\nTo: rcpt@test.example\nDate: Thu, 26 Nov 2026 10:00:00 +0000\nMessage-ID: <" + name + "@client.example>\n"
	if err := os.WriteFile(msg, append([]byte(head), body...), 0o644); err != nil {
		t.Fatal(err)
	}
	return msg
}

// zipped returns a zip archive holding the EICAR file.
func zipped(t *testing.T) []byte {
	t.Helper()
	z, err := exec.LookPath("zip")
	if err != nil {
		oracletest.Missing(t, "zip (apt-get install zip)")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "eicar.com"), []byte(eicar), 0o644)
	cmd := exec.Command(z, "-q", "-X", "eicar.zip", "eicar.com")
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("zip: %v %s", err, b)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "eicar.zip"))
	return data
}

// clamavConf scans with the UNIX socket, or over TCP for recipients in
// tcp.example; the recipient's local part picks the rejection text
// (en, es) or defer_ok (ok). @SOCKET@ and @PORT@ are clamd's.
const clamavConf = `av_scanner = ${if eq{$acl_m_scan}{tcp.example}{clamd:127.0.0.1 @PORT@}{clamd:@SOCKET@}}
queue_only = true
acl_smtp_rcpt = rcpt
acl_smtp_data = data
begin acl
rcpt:
  accept set acl_m_scan = $domain
         set acl_m_lang = $local_part
data:
  deny condition = ${if eq{$acl_m_lang}{ok}}
       malware = * / defer_ok
       message = Virus found: $malware_name
  deny condition = ${if eq{$acl_m_lang}{es}}
       malware = *
       message = El mensaje contiene un virus o software malicioso ($malware_name)\n\
                 y ha sido rechazado por la política de seguridad del servidor.\n\
                 Limpie el adjunto «$malware_name» y vuelva a enviarlo.
       log_message = malware: $malware_name
  deny condition = ${if eq{$acl_m_lang}{en}}
       malware = *
       message = Message rejected: it contains malware\n\
                 named $malware_name.\nPlease clean it and send again.
  accept
`

// TestClamAV gives the same messages to Exim's and exigo's daemons, both
// scanning with the same clamd: the EICAR file attached by mpack and
// inside a zip, and a clean message, over the UNIX socket and TCP, with
// English and Spanish (UTF-8) multi-line rejections naming the virus;
// then with clamd stopped (451, and accepted with defer_ok).
func TestClamAV(t *testing.T) {
	if !inNamespace(t, "TestClamAV") {
		return
	}
	c := startClamd(t)
	plain := mpackMessage(t, "eicar.com", []byte(eicar))
	zip := mpackMessage(t, "eicar.zip", zipped(t))
	clean := mpackMessage(t, "nota.txt", []byte("Nada que ver aqu\u00ed.\n"))
	conf := strings.NewReplacer("@SOCKET@", c.socket, "@PORT@", fmt.Sprint(c.port)).Replace(clamavConf)
	p := startPair(t, conf)
	send := func(to, data string) []string {
		return []string{"-f", "sender@client.example", "-t", to, "--ehlo", "client.example", "--data", "@" + data}
	}
	cases := []struct{ name, to, data string }{
		{"plain unix en", "en@test.example", plain},
		{"plain unix es", "es@test.example", plain},
		{"zip unix es", "es@test.example", zip},
		{"clean unix", "en@test.example", clean},
		{"plain tcp en", "en@tcp.example", plain},
		{"zip tcp es", "es@tcp.example", zip},
		{"zip tcp en", "en@tcp.example", zip},
		{"clean tcp", "es@tcp.example", clean},
		{"plain defer_ok up", "ok@test.example", plain},
	}
	n := 0
	for _, cs := range cases {
		n += p.session(t, cs.name, send(cs.to, cs.data)...)
	}
	c.stop()
	for _, cs := range []struct{ name, to, data string }{
		{"down unix", "en@test.example", plain},
		{"down tcp", "es@tcp.example", zip},
		{"down clean", "en@test.example", clean},
		{"down defer_ok", "ok@test.example", plain},
		{"down defer_ok tcp", "ok@tcp.example", clean},
	} {
		n += p.session(t, cs.name, send(cs.to, cs.data)...)
	}
	lines := p.compareLogs(t, nil)
	hs := compareLists(t, "queued messages' headers", p[0].spoolMessages(t, false), p[1].spoolMessages(t, false))
	t.Logf("%d sessions, %d log lines, %d queued messages compared", n, lines, hs)
}
