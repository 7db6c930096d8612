package tools

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"
)

// FuzzLogLine feeds arbitrary log text to the eximstats parser and to
// exigrep (plain, inverted, with -M and -t) and then prints the report:
// none may panic, and exigrep must print every byte of a selected group.
func FuzzLogLine(f *testing.F) {
	f.Add("2023-11-14 22:13:32 1r0000-993908-Zq <= a@b H=x [1.2.3.4] S=100\n2023-11-14 22:13:33 1r0000-993908-Zq Completed\n")
	f.Add("2023-11-14 22:13:32.123 +0100 [12] 1r0000-993908-Zq => x <y@z> R=r T=t H=h [1.1.1.1]\n")
	f.Add("Nov 14 22:13:30 host exim[1]: 2023-11-14 22:13:30 H=(x) [1.2.3.4] F=<a@b> rejected RCPT <c@d>: no\n")
	f.Add("2023-11-14 22:13:32 1r0000-993908-Zq ** a@b: " + strings.Repeat("word ", 40) + "\n")
	f.Fuzz(func(t *testing.T, text string) {
		for _, args := range [][]string{{"-h4"}, {"-nvr", "-bydomain", "-byemail", "-byedomain", "-bylocaldomain", "-tnl", "-t3", "-show_rt", "-show_dt"}, {"-include_original_destination", "-q5,60"}} {
			o, err := ParseEximstats(args)
			if err != nil {
				t.Fatal(err)
			}
			s := NewEximstats(o)
			if err := s.Read(strings.NewReader(text)); err != nil {
				t.Fatal(err)
			}
			s.Report(io.Discard)
		}
		for _, o := range []ExigrepOptions{
			{Pattern: "a", QueueTime: -1},
			{Pattern: "a", Invert: true, QueueTime: -1},
			{Pattern: "[", Literal: true, Related: true, QueueTime: 5},
		} {
			var out bytes.Buffer
			if err := Exigrep(&out, o, time.UTC, strings.NewReader(text)); err != nil {
				t.Fatal(err)
			}
			if out.Len() > 3*len(text)+200*strings.Count(text, "\n")+200 {
				t.Fatalf("output %d bytes for %d bytes of input", out.Len(), len(text))
			}
		}
	})
}
