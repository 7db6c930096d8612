package receive

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// TestOracleSenderFrom compares the From: header added to a message
// without one when root (a trusted caller) sets the sender with -f, with
// and without -F, and sets none, with what "exim -odq" writes to its -H
// file.
func TestOracleSenderFrom(t *testing.T) {
	exim := oracletest.Exim(t)
	if os.Getuid() != 0 {
		t.Skip("needs root to run exim -C with a private spool")
	}
	fromRE := regexp.MustCompile(`(?m)^\d{3}F From: .*\n`)
	cases := []struct {
		sender, name string // sender "-" for no -f
	}{
		{"s@x.example", ""},
		{"s@x.example", "Some Name"},
		{"s", ""},
		{"", ""},
		{"", "Some Name"},
		{"-", ""},
		{"-", "Some Name"},
	}
	for _, c := range cases {
		dir := t.TempDir()
		conf := filepath.Join(dir, "conf")
		spool := filepath.Join(dir, "spool")
		os.WriteFile(conf, []byte(fmt.Sprintf(spoolConf, spool, spool)), 0o644)
		args := []string{"-C", conf, "-odq"}
		if c.sender != "-" {
			args = append(args, "-f", c.sender)
		}
		if c.name != "" {
			args = append(args, "-F", c.name)
		}
		cmd := exec.Command(exim, append(args, "rcpt@test.example")...)
		cmd.Stdin = strings.NewReader("Subject: t\n\nbody\n")
		out, err := cmd.CombinedOutput()
		hs, _ := filepath.Glob(filepath.Join(spool, "input", "*-H"))
		if len(hs) != 1 {
			t.Fatalf("%v: exim wrote %d header files (%v): %s", args, len(hs), err, out)
		}
		hfile, _ := os.ReadFile(hs[0])
		want := fromRE.FindString(string(hfile))

		msg, err := Read(strings.NewReader("Subject: t\n\nbody\n"), ReadOptions{Format: FormatLocal, DotEnds: true})
		if err != nil {
			t.Fatal(err)
		}
		opts := testOptions()
		env := rootEnvelope(&opts)
		env.Recipients = []string{"rcpt@test.example"}
		env.FullName = c.name
		if c.sender != "-" {
			env.Sender, env.SenderSet = c.sender, true
			if c.sender != "" && !strings.Contains(c.sender, "@") {
				env.Sender += "@" + opts.QualifyDomain
			}
		}
		in := &Intake{Options: &opts, Envelope: env, ID: "1xWuFg-0001Es-08", Now: time.Now(), Expand: testExpander(&opts)}
		if err := in.FixUp(msg); err != nil {
			t.Fatal(err)
		}
		got := fromRE.FindString(spoolHeaders(msg.Headers))
		msg.Body.Close()
		if got != want {
			t.Errorf("%v: From: differs\nexim:  %q\nexigo: %q", args, want, got)
		}
	}
}
