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

// FuzzEximstatsArgs feeds arbitrary command lines (NUL-separated) and a
// log to eximstats: option parsing and the report must not panic, and a
// rejected command line must say why.
func FuzzEximstatsArgs(f *testing.F) {
	f.Add("-h4\x00-q10,100\x00-t3\x00-bydomain", "2023-11-14 22:13:32 1r0000-993908-Zq <= a@b H=x [1.2.3.4] S=100\n")
	f.Add("-nr/x/\x00-nt/y/\x00-show_rt1,2\x00-show_dt\x00-pattern\x00d\x00/a+/", "2023-11-14 22:13:32 1r0000-993908-Zq => a@b R=r T=y H=x [1.2.3.4] DT=3s\n")
	f.Add("-include_original_destination\x00-byemail\x00-byedomain\x00-t_remote_users\x00-tnl\x00-t1", "2023-11-14 22:13:32 1r0000-993908-Zq Completed QT=1h2m3s\n")
	f.Add("-q0\x00-h0\x00-emptyok\x00-nvr\x00-x", "")
	f.Fuzz(func(t *testing.T, argv, text string) {
		if len(argv) > 400 || len(text) > 4000 {
			return
		}
		args := strings.Split(argv, "\x00")
		for i, a := range args {
			if !strings.HasPrefix(a, "-") { // no file names: the log comes on stdin
				args[i] = "-" + a
			}
		}
		var out, errb bytes.Buffer
		if code := RunEximstats(args, strings.NewReader(text), &out, &errb); code != 0 && errb.Len() == 0 && out.Len() == 0 {
			t.Fatalf("%q: exit %d with nothing said", args, code)
		}
	})
}

// FuzzExipickCriterion feeds arbitrary criteria to exipick's parser
// and applies what parses to arbitrary values: nothing may panic, and
// --not must invert every outcome of a test that compiles.
func FuzzExipickCriterion(f *testing.F) {
	for _, s := range []string{"$message_size > 1.5K", "!$deliver_freeze", "$sender_address = a.b",
		"$recipients =~ m{x}i", "$x !~ /a/b/", "$a eq 'q'", "a b ne c", "!", "$x > 1.2.3", "$x < -.5m"} {
		f.Add(s, "value 12")
	}
	f.Fuzz(func(t *testing.T, crit, value string) {
		if x, err := ParseExipick(strings.Fields(crit + " " + value)); err == nil && x == nil {
			t.Fatal("no options and no error")
		}
		r, err := parseRule(crit, len(value)%2 == 0)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "Expression ") {
				t.Fatalf("error text %q", err)
			}
			return
		}
		_ = r.display(false)
		a, b := r.test(value, false), r.test(value, true)
		if a == b && r.bad == "" && r.re != nil {
			t.Fatalf("%q on %q: --not did not invert", crit, value)
		}
	})
}
