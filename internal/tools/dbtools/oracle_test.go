package dbtools

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/hintsdb"
	"github.com/exigo-mta/exigo/internal/oracletest"
)

// eximRetryDump has Exim 4.96 fail a delivery to a closed loopback port
// and returns what its exim_dumpdb prints of the retry database (TZ=UTC).
// The delivery runs in a private mount namespace with its own /dev/null,
// as user Debian-exim (deliver_drop_privilege).
func eximRetryDump(t *testing.T) string {
	exim := oracletest.Exim(t)
	dumpdb := filepath.Join(filepath.Dir(exim), "exim_dumpdb")
	u, err := user.Lookup("Debian-exim")
	if os.Getuid() != 0 || err != nil {
		oracletest.Missing(t, "root and the Debian-exim user")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		oracletest.Missing(t, "unshare")
	}
	// t.TempDir's parent is private; Debian-exim must reach the spool.
	dir, err := os.MkdirTemp("", "exigo-dumpdb-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	spool := filepath.Join(dir, "spool")
	os.Mkdir(spool, 0o755)
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	os.Chown(spool, uid, gid)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	conf := fmt.Sprintf(`spool_directory = %s
primary_hostname = test.example
exim_user = Debian-exim
exim_group = Debian-exim
deliver_drop_privilege = true
keep_environment =
begin routers
r1:
  driver = manualroute
  route_list = * 127.0.0.1
  self = send
  transport = t1
begin transports
t1:
  driver = smtp
  allow_localhost
  port = %d
begin retry
* * F,2h,15m; G,16h,1h,1.5; F,4d,6h
`, spool, port)
	cf := filepath.Join(dir, "exim.conf")
	os.WriteFile(cf, []byte(conf), 0o644)
	null := filepath.Join(dir, "null")
	script := fmt.Sprintf(`mknod %s c 1 3 && chmod 666 %s && mount --bind %s /dev/null && %s -C %s -odi -f a@b.example u@example.com x@example.org`, null, null, null, exim, cf)
	cmd := exec.Command("unshare", "-m", "sh", "-c", script)
	cmd.Stdin = strings.NewReader("Subject: test\n\nbody\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("exim delivery: %v\n%s", err, out)
	}
	r := oracletest.Run(t, dumpdb, "", "-z", spool, "retry")
	if r.Code != 0 || r.Stdout == "" {
		t.Fatalf("exim_dumpdb: %d %s %s", r.Code, r.Stdout, r.Stderr)
	}
	return r.Stdout
}

// parseDump reads exim_dumpdb's retry text back into records.
func parseDump(t *testing.T, s string) map[string]any {
	recs := map[string]any{}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	for i := 0; i+1 < len(lines); i += 2 {
		f := strings.SplitN(strings.TrimPrefix(lines[i], "  "), " ", 4)
		if len(f) < 4 {
			t.Fatalf("bad line %q", lines[i])
		}
		errno, _ := strconv.Atoi(f[1])
		more, _ := strconv.Atoi(f[2])
		tl := lines[i+1]
		p := func(s string) time.Time {
			v, err := time.Parse(dateLayout, s)
			if err != nil {
				t.Fatalf("bad time %q", s)
			}
			return v
		}
		recs[f[0]] = &hintsdb.RetryRecord{
			TimeStamp: p(tl[22:42]), FirstFailed: p(tl[0:20]), LastTry: p(tl[22:42]), NextTry: p(tl[44:64]),
			BasicErrno: errno, MoreErrno: more, Text: f[3], Expired: strings.HasSuffix(tl, "*"),
		}
	}
	return recs
}

// TestDumpOracle: the records a real failed delivery leaves in Exim's
// retry database, stored in exigo's, print the same with exigo's
// exim_dumpdb (keys compared in sorted order).
func TestDumpOracle(t *testing.T) {
	want := eximRetryDump(t)
	if !strings.Contains(want, " 111 65 Connection refused\n") {
		t.Fatalf("unexpected Exim dump:\n%s", want)
	}
	spool := t.TempDir()
	fill(t, spool, "retry", parseDump(t, want))
	got, _, code := run(DumpDB, "", "-z", spool, "retry")
	if code != 0 || sortRecords(got) != sortRecords(want) {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// sortRecords sorts a retry dump by record (two lines each).
func sortRecords(s string) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	var recs []string
	for i := 0; i+1 < len(lines); i += 2 {
		recs = append(recs, lines[i]+"\n"+lines[i+1]+"\n")
	}
	for i := range recs {
		for j := i + 1; j < len(recs); j++ {
			if recs[j] < recs[i] {
				recs[i], recs[j] = recs[j], recs[i]
			}
		}
	}
	return strings.Join(recs, "")
}
