package acl

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

var (
	bhDate = regexp.MustCompile(`[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [-+]\d{4}`)
	bhID   = regexp.MustCompile(`\b[0-9A-Za-z]{6}-[0-9A-Za-z]{6}-[0-9A-Za-z]{2}\b`)
)

func maskBH(s string) string {
	return bhID.ReplaceAllString(bhDate.ReplaceAllString(s, "<DATE>"), "<ID>")
}

// TestBHBinary runs every testdata/bh case through "exim -bh" and
// "exigo -bh" and compares everything both print (replies on standard
// output; commentary and LOG lines on standard error), with dates and
// message ids masked: the ACL engine as the SMTP server really drives it.
func TestBHBinary(t *testing.T) {
	files, _ := filepath.Glob("testdata/bh/*.txt")
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".txt")
		t.Run(name, func(t *testing.T) {
			c := readCase(t, f)
			path, spool := writeBHCase(t, c)
			want := oracletest.Run(t, exim, c.in, "-C", path, "-bh", c.host)
			os.RemoveAll(filepath.Join(spool, "db"))
			os.MkdirAll(filepath.Join(spool, "db"), 0o777)
			got := oracletest.Run(t, exigo, c.in, "-C", path, "-bh", c.host)
			wo, go_ := maskBH(want.Stdout), maskBH(got.Stdout)
			we, ge := maskBH(want.Stderr), maskBH(got.Stderr)
			if wo == go_ && we == ge {
				return
			}
			msg := ""
			if wo != go_ {
				msg += "stdout:\n" + diffLines(strings.Split(wo, "\n"), strings.Split(go_, "\n"))
			}
			if we != ge {
				msg += "stderr:\n" + diffLines(strings.Split(we, "\n"), strings.Split(ge, "\n"))
			}
			if c.known != "" {
				t.Skipf("known difference (%s):\n%s", c.known, msg)
			}
			t.Errorf("-bh transcripts differ\n%s", msg)
		})
	}
}
