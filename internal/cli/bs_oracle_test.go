package cli_test

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// bsConf is the configuration of the -bS cases: messages stay queued
// (-odq), logs and spool under the case's directory (@DIR@).
const bsConf = `primary_hostname = test.example
spool_directory = @DIR@/spool
log_file_path = @DIR@/log/%s
qualify_domain = q.example
begin routers
r:
  driver = accept
  transport = t
begin transports
t:
  driver = appendfile
  file = /dev/null
`

var (
	bsMaskID   = regexp.MustCompile(`\b[0-9A-Za-z]{6}-[0-9A-Za-z]{6}-[0-9A-Za-z]{2}\b`)
	bsMaskDate = regexp.MustCompile(`[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [-+]\d{4}`)
)

// runBS runs bin -bS on input in a fresh directory and returns what is
// compared: standard output, standard error, the exit code, the main
// log's lines without time stamps, and each spooled message's
// recipients and header lines (sorted, ids and dates masked).
func runBS(t *testing.T, bin, input string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "exigo-bS-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, d := range []string{"spool", "log"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o777); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(dir, 0o777)
	os.Chmod(filepath.Join(dir, "spool"), 0o777)
	os.Chmod(filepath.Join(dir, "log"), 0o777)
	conf := filepath.Join(dir, "exim.conf")
	if err := os.WriteFile(conf, []byte(strings.ReplaceAll(bsConf, "@DIR@", dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	res := oracletest.Run(t, bin, input, "-C", conf, "-odq", "-bS")
	var b strings.Builder
	b.WriteString(res.Stdout + "\n== stderr\n" + res.Stderr + "\n== rc " + string(rune('0'+res.Code)) + "\n== log\n")
	logText, _ := os.ReadFile(filepath.Join(dir, "log", "main"))
	for _, l := range strings.Split(string(logText), "\n") {
		if len(l) < 20 || strings.Contains(l, "purging the environment") || strings.HasPrefix(l, " ") {
			continue
		}
		b.WriteString(l[20:] + "\n")
	}
	var msgs []string
	files, _ := filepath.Glob(filepath.Join(dir, "spool", "input", "*-H"))
	for _, f := range files {
		data, _ := os.ReadFile(f)
		text := string(data)
		// From the recipients count on: the non-recipient lines above
		// hold times and exigo's approximate -max_received_linelength.
		if i := strings.Index(text, "\nXX\n"); i >= 0 {
			text = text[i+4:]
		}
		text = regexp.MustCompile(`(?m)^\d{3}I Message-Id: <E[^>]*>`).ReplaceAllString(text, "I Message-Id: <masked>")
		msgs = append(msgs, text)
	}
	sort.Strings(msgs)
	b.WriteString("== spool\n" + strings.Join(msgs, "\n--\n"))
	return bsMaskDate.ReplaceAllString(bsMaskID.ReplaceAllString(b.String(), "<ID>"), "<DATE>")
}

// TestBatchSMTPOracle feeds each testdata/bS/*.txt file to exim -bS and
// exigo -bS and compares what they print, log and spool.
func TestBatchSMTPOracle(t *testing.T) {
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	files, _ := filepath.Glob("testdata/bS/*.txt")
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
			want := runBS(t, exim, string(data))
			got := runBS(t, exigo, string(data))
			if want != got {
				t.Errorf("differs\n--- exim\n%s\n--- exigo\n%s", want, got)
			}
		})
	}
}
