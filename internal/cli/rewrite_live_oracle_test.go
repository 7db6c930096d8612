package cli_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// rwLiveDialogue is a daemon session: an SMTP-time rule on RCPT, a
// rewritten sender and recipient, header lines to rewrite and an
// unqualified one (left alone for a remote host), and a header line a
// RCPT ACL adds (never rewritten by the rewrite section).
const rwLiveDialogue = "EHLO client\r\nMAIL FROM:<root@vm>\r\nRCPT TO:<a@old.example>\r\nRCPT TO:<x-y@smtp.example>\r\nDATA\r\n" +
	"From: bob@vm\r\nTo: carol, a@old.example\r\nCc: d@hdr.example\r\nSubject: live\r\n\r\nbody\r\n.\r\nQUIT\r\n"

var rwLiveBanner = regexp.MustCompile(`(?m)^220 .*\n`)

// runRewriteLive starts bin as a daemon with the rewriting configuration
// (messages queued), sends the dialogue in one go, and returns the
// replies, the main log and the -H files, masked.
func runRewriteLive(t *testing.T, bin string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "exigo-rwlive-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, d := range []string{"", "spool", "log", "mail"} {
		os.MkdirAll(filepath.Join(dir, d), 0o777)
		os.Chmod(filepath.Join(dir, d), 0o777)
	}
	if err := os.WriteFile(filepath.Join(dir, "email-addresses"), []byte("root: Root.User@example.org\nbob: bob.smith@example.org\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer("@DIR@", dir, "@SEL@", "+address_rewrite", "@USER@", "root").Replace(rwConf)
	text = strings.Replace(text, "primary_hostname = vm\n", "primary_hostname = vm\nqueue_only = true\ntls_advertise_hosts =\npipelining_advertise_hosts = :\n", 1)
	text = strings.Replace(text, "  warn logwrite = RCPT", "  warn add_header = Cc: root@vm\n  warn logwrite = RCPT", 1)
	conf := filepath.Join(dir, "exim.conf")
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	c, br := dialLiveDaemon(t, bin, conf, dir)
	var out strings.Builder
	for _, l := range strings.SplitAfter(rwLiveDialogue, "\r\n") {
		if l == "" {
			continue
		}
		fmt.Fprint(c, l)
		if strings.HasPrefix(l, "EHLO") || strings.HasPrefix(l, "MAIL") || strings.HasPrefix(l, "RCPT") || l == "DATA\r\n" || l == ".\r\n" || l == "QUIT\r\n" {
			if l == "EHLO client\r\n" {
				line, _ := br.ReadString('\n')
				out.WriteString(line) // banner
			}
			readSMTPReply(br, &out)
		}
	}
	out.WriteString(liveLog(dir))
	files, _ := filepath.Glob(filepath.Join(dir, "spool", "input", "*-H"))
	sort.Strings(files)
	for _, f := range files {
		data, _ := os.ReadFile(f)
		out.WriteString("== -H\n" + nsHLine.ReplaceAllString(string(data), ""))
	}
	s := rwLiveBanner.ReplaceAllString(out.String(), "220\n")
	s = regexp.MustCompile(`(?m)^-received_time_usec.*\n|\[127\.0\.0\.1\]:\d+|port=\d+`).ReplaceAllString(s, "")
	s = regexp.MustCompile(`(?m)^250-.*\n`).ReplaceAllString(s, "")
	return nsMask(s)
}

// TestRewriteLiveOracle compares the rewriting of a message received
// by a daemon over SMTP with Exim 4.96's: SMTP-time rules, the envelope,
// the header lines, the Received: header, and the log.
func TestRewriteLiveOracle(t *testing.T) {
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	want := runRewriteLive(t, exim)
	got := runRewriteLive(t, exigo)
	if want != got {
		t.Errorf("differs\n--- exim\n%s\n--- exigo\n%s", want, got)
	}
}
