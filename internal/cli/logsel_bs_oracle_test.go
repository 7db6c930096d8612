package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// bsSelConf accepts every recipient and refuses every message after DATA.
const bsSelConf = `primary_hostname = test.example
spool_directory = DIR/spool
log_file_path = DIR/log/%slog
keep_environment =
log_selector = SEL
acl_smtp_rcpt = accept
acl_smtp_data = d
begin acl
d:
  deny message = no thanks
`

// TestBSLogSelectorDifferential runs -bs sessions (with and without
// -oMa; ended by QUIT or by the end of input; with a message refused
// after DATA) through Exim and exigo under several log_selector
// settings, and compares the main and reject logs.
func TestBSLogSelectorDifferential(t *testing.T) {
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	sessions := []struct {
		script string
		args   []string
	}{
		{"EHLO x\r\nQUIT\r\n", nil},
		{"EHLO x\r\n", nil},
		{"EHLO x\r\nMAIL FROM:<a@b.example>\r\n", nil},
		{"EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n", []string{"-oMa", "10.0.0.1"}},
		{"EHLO x\r\n", []string{"-oMa", "10.0.0.1"}},
		// The message has the headers a local message would get added
		// (exigo adds them only after the DATA ACL).
		{"EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nSubject: s\r\nX-Foo: bar\r\nMessage-Id: <m@x>\r\nFrom: a@b.example\r\nDate: Fri, 27 Nov 2026 10:00:00 +0000\r\n\r\nbody\r\n.\r\nQUIT\r\n", nil},
	}
	for _, sel := range []string{"", "-all", "+all", "-rejected_header", "+smtp_connection +smtp_no_mail +smtp_incomplete_transaction"} {
		t.Run(strings.ReplaceAll(sel, " ", "_"), func(t *testing.T) {
			run := func(bin string) []string {
				dir, err := os.MkdirTemp("", "exigo-bssel-")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { os.RemoveAll(dir) })
				for _, sub := range []string{"", "spool", "log"} {
					os.MkdirAll(filepath.Join(dir, sub), 0o777)
					os.Chmod(filepath.Join(dir, sub), 0o777)
				}
				conf := filepath.Join(dir, "conf")
				os.WriteFile(conf, []byte(strings.NewReplacer("DIR", dir, "SEL", sel).Replace(bsSelConf)), 0o644)
				for _, s := range sessions {
					oracletest.Run(t, bin, s.script, append([]string{"-C", conf, "-bs"}, s.args...)...)
				}
				var out []string
				for _, name := range []string{"mainlog", "rejectlog"} {
					b, _ := os.ReadFile(filepath.Join(dir, "log", name))
					for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
						if strings.Contains(l, "Warning:") || strings.HasPrefix(l, " ") {
							continue
						}
						for _, m := range queueSelMasks {
							l = m.re.ReplaceAllString(l, m.with)
						}
						out = append(out, name+": "+maskDate(strings.ReplaceAll(l, dir, "DIR")))
					}
				}
				return out
			}
			want, got := run(exim), run(exigo)
			if strings.Join(want, "\n") != strings.Join(got, "\n") {
				t.Errorf("logs differ\n--- exim\n%s\n--- exigo\n%s", strings.Join(want, "\n"), strings.Join(got, "\n"))
			}
		})
	}
}

var rfcDate = regexp.MustCompile(`[A-Z][a-z]{2}, \d\d? [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [-+]\d{4}`)

// maskDate hides the dates of header lines (Received:, Date:).
func maskDate(s string) string { return rfcDate.ReplaceAllString(s, "<DATE>") }
