package cli_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/oracletest"
	"github.com/exigo-mta/exigo/internal/transport/smtptest"
)

// calloutConf routes every address to the test server on 127.0.0.1 and
// verifies recipients (or senders) with the case's verify condition.
const calloutConf = `primary_hostname = test.example
spool_directory = @DIR@/spool
acl_smtp_rcpt = r
begin acl
r:
  deny !verify = @VERIFY@
       logwrite = rvf=[$recipient_verify_failure] svf=[$sender_verify_failure] avm=[$acl_verify_message]
  accept logwrite = ok rvf=[$recipient_verify_failure] svf=[$sender_verify_failure]
begin routers
rr:
  driver = manualroute
  route_list = * 127.0.0.1
  transport = t
  self = send
begin transports
t:
  driver = smtp
  port = @PORT@
  allow_localhost
`

// calloutServer answers as the cases expect: local parts starting with
// "bad" are unknown (550), "tmp" are deferred (451), postmaster is
// refused in domains that start with "nopm", and a MAIL address with
// "badsender" is refused.
func calloutServer(t *testing.T) *smtptest.Server {
	s := &smtptest.Server{
		Pipelining: true,
		Mail: func(line string) string {
			if strings.Contains(line, "badsender") {
				return "550 sender rejected"
			}
			return "250 OK"
		},
		Rcpt: func(to string) string {
			lp, dom, _ := strings.Cut(strings.ToLower(to), "@")
			switch {
			case strings.HasPrefix(lp, "bad"):
				return "550 5.1.1 <" + to + "> no such user"
			case strings.HasPrefix(lp, "tmp"):
				return "451 try later"
			case lp == "postmaster" && (strings.HasPrefix(dom, "nopm") || dom == ""):
				return "550 no postmaster"
			}
			return "250 Accepted"
		},
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

var (
	calloutRandom = regexp.MustCompile(`test\.example-\d+-testing`)
	calloutDate   = regexp.MustCompile(`[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [-+]\d{4}`)
)

// runCallout runs bin -bhc with a fresh spool (so a fresh callout
// cache) and a fresh test server, and returns the replies, the
// commentary and log lines, and the commands the server received.
func runCallout(t *testing.T, bin, verify, script string, closed bool) string {
	t.Helper()
	srv := calloutServer(t)
	port := srv.Port()
	if closed {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
	}
	dir, err := os.MkdirTemp("", "exigo-callout-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o777)
	conf := strings.NewReplacer("@DIR@", dir, "@VERIFY@", verify, "@PORT@", fmt.Sprint(port)).Replace(calloutConf)
	path := filepath.Join(dir, "exim.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	res := oracletest.Run(t, bin, script, "-C", path, "-bhc", "10.0.0.1")
	var b strings.Builder
	b.WriteString(res.Stdout + "\n== log\n")
	for _, l := range strings.Split(res.Stderr, "\n") {
		b.WriteString(l + "\n")
	}
	b.WriteString("== server\n" + strings.Join(srv.Log(), "\n"))
	out := strings.ReplaceAll(b.String(), fmt.Sprint(port), "PORT")
	out = strings.ReplaceAll(out, dir, "DIR")
	return calloutDate.ReplaceAllString(calloutRandom.ReplaceAllString(out, "RANDOM"), "<DATE>")
}

// TestCalloutOracle runs each testdata/callout/*.txt case (a "#verify"
// line with the condition, "#closed" to call a closed port, then the
// SMTP commands) through exim -bhc and exigo -bhc.
func TestCalloutOracle(t *testing.T) {
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	files, _ := filepath.Glob("testdata/callout/*.txt")
	if len(files) == 0 {
		t.Fatal("no cases")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".txt")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			verify, closed := "", false
			var script strings.Builder
			script.WriteString("EHLO x\r\n")
			for _, l := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
				switch {
				case strings.HasPrefix(l, "#verify "):
					verify = strings.TrimSpace(l[8:])
				case l == "#closed":
					closed = true
				default:
					script.WriteString(l + "\r\n")
				}
			}
			script.WriteString("QUIT\r\n")
			want := runCallout(t, exim, verify, script.String(), closed)
			got := runCallout(t, exigo, verify, script.String(), closed)
			if want != got {
				t.Errorf("differs\n--- exim\n%s\n--- exigo\n%s", want, got)
			}
		})
	}
}
