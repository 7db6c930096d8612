package lookup

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// slapdServer is a real OpenLDAP slapd started for a test on
// ldap://127.0.0.1:Port/ with the tree of testdata/ldap/data.ldif.
type slapdServer struct {
	Port int
	cmd  *exec.Cmd
	done chan struct{}
}

// URL is the server's LDAP URL prefix, without a trailing slash.
func (s *slapdServer) URL() string { return fmt.Sprintf("ldap://127.0.0.1:%d", s.Port) }

// Stop stops slapd and waits for it to exit (idempotent).
func (s *slapdServer) Stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

const slapdConf = `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/misc.schema
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
// it skips the test when slapd is not installed (fails under CI=true).
// The server is stopped when the test ends.
func startSlapd(t *testing.T) *slapdServer {
	t.Helper()
	bin := "/usr/sbin/slapd"
	if _, err := os.Stat(bin); err != nil {
		oracletest.Missing(t, "slapd (apt-get install slapd ldap-utils)")
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(slapdConf, dir)), 0o600); err != nil {
		t.Fatal(err)
	}
	ldif, err := filepath.Abs("testdata/ldap/data.ldif")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("/usr/sbin/slapadd", "-f", conf, "-l", ldif).CombinedOutput(); err != nil {
		t.Fatalf("slapadd: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := &slapdServer{Port: port, done: make(chan struct{})}
	s.cmd = exec.Command(bin, "-f", conf, "-h", s.URL()+"/", "-d", "0")
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting slapd: %v", err)
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	t.Cleanup(s.Stop)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return s
		}
		select {
		case <-s.done:
			t.Fatal("slapd exited at start")
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("slapd did not start listening on %s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
