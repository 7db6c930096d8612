package cli

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/debug"
)

func TestParse(t *testing.T) {
	tests := []struct {
		argv  string // split on blanks; "_" stands for an empty argument
		check func(*Invocation) bool
	}{
		{"exim", func(i *Invocation) bool { return i.Mode == "--help" }},
		{"exim --help -bogus", func(i *Invocation) bool { return i.Mode == "--help" }},
		{"exim -- -x", func(i *Invocation) bool { return i.Mode == "-bm" && i.Args[0] == "-x" }},
		{"exim -C /c -be x", func(i *Invocation) bool { return i.ConfigFile == "/c" && i.Mode == "-be" && i.Args[0] == "x" }},
		{"exim -C/c -bV", func(i *Invocation) bool { return i.ConfigFile == "/c" && i.Mode == "-bV" && i.Version }},
		{"exim --version", func(i *Invocation) bool { return i.Mode == "-bV" }},
		{"exim -bem /m x", func(i *Invocation) bool { return i.Mode == "-bem" && i.ModeArg == "/m" && i.Args[0] == "x" }},
		{"exim -DA=1 -DB -DABCDEFGHIJKLMNOPQRSTUVWXYZ=2 -be", func(i *Invocation) bool {
			return reflect.DeepEqual(i.Macros, []config.Macro{{Name: "A", Value: "1"}, {Name: "B"}, {Name: "ABCDEFGHIJKLMNOPQRSTUVW", Value: "2"}})
		}},
		{"exim -d -be", func(i *Invocation) bool { return i.Debug == debug.Default && i.DebugSet && i.Verbose }},
		{"exim -dd+all -be", func(i *Invocation) bool { return i.Debug == debug.All && i.DebugDaemonOnly }},
		{"exim -dropcr -be", func(i *Invocation) bool { return !i.DebugSet }},
		{"exim -f a@b -F Name -t -i", func(i *Invocation) bool {
			return i.Sender == "a@b" && i.SenderSet && i.FullName == "Name" && i.ExtractRecipients && i.IgnoreDot && i.Mode == "-bm"
		}},
		{"exim -fa@b -FName u@x", func(i *Invocation) bool { return i.Sender == "a@b" && i.FullName == "Name" && i.Args[0] == "u@x" }},
		{"exim -r a@b -ti", func(i *Invocation) bool { return i.Sender == "a@b" && i.ExtractRecipients && i.IgnoreDot }},
		{"exim -f _ u", func(i *Invocation) bool { return i.Sender == "" && i.SenderSet }},
		{"exim -odq -oem -N -v u", func(i *Invocation) bool {
			return i.DeliveryMode == "q" && i.ErrorMode == "m" && i.DontDeliver && i.Verbose
		}},
		{"exim -odi -eq u", func(i *Invocation) bool { return i.DeliveryMode == "f" && i.ErrorMode == "q" }},
		{"exim -oMa 10.0.0.1.25 -oMaa plain -oMai me -oMas a@b -oMi [::1]:25 -oMr esmtp -oMs h -oMt id -bs", func(i *Invocation) bool {
			return i.Host == HostOverrides{Address: "10.0.0.1.25", Authenticator: "plain", AuthID: "me", AuthSender: "a@b",
				Interface: "[::1]:25", Protocol: "esmtp", Name: "h", Ident: "id"} && i.Mode == "-bs"
		}},
		{"exim -pesmtp:host u", func(i *Invocation) bool { return i.Host.Protocol == "esmtp" && i.Host.Name == "host" }},
		{"exim -bd -q30m -oX 2525 -oP /p", func(i *Invocation) bool {
			return i.Mode == "-bd" && i.Queue.Interval == 30*time.Minute && i.ListenPorts == "2525" && i.PIDFile == "/p"
		}},
		{"exim -qqiffl", func(i *Invocation) bool {
			q := i.Queue
			return i.Mode == "-q" && q.TwoStage && q.Initial && q.Force == 2 && q.LocalOnly
		}},
		{"exim -qGoff/1h30m", func(i *Invocation) bool {
			return i.Queue.QueueName == "off" && i.Queue.NameSet && i.Queue.Interval == 90*time.Minute
		}},
		{"exim -q 1xWrFa-0004rv-2F 1xWrFa-0004rv-2G", func(i *Invocation) bool {
			return i.Queue.StartID == "1xWrFa-0004rv-2F" && i.Queue.EndID == "1xWrFa-0004rv-2G" && len(i.Args) == 0
		}},
		{"exim -qR example.com", func(i *Invocation) bool { return i.Mode == "-q" && i.Queue.Recipient.String == "example.com" }},
		{"exim -Rrff ^x -Sfoo", func(i *Invocation) bool {
			r, s := i.Queue.Recipient, i.Queue.Sender
			return r.Regex && r.Force == 2 && r.String == "^x" && s.String == "foo" && !s.Regex
		}},
		{"exim -Mrm 1xWrFa-0004rv-2F -x", nil}, // malformed id, see errors
		{"exim -Mar 1xWrFa-0004rv-2F a@b c@d", func(i *Invocation) bool { return i.Mode == "-Mar" && len(i.Args) == 3 }},
		{"exim -be -Mset 1xWrFa-0004rv-2F x", func(i *Invocation) bool {
			return i.Mode == "-be" && i.ModeArg == "1xWrFa-0004rv-2F" && i.Args[0] == "x"
		}},
		{"exim -bp -be", func(i *Invocation) bool { return i.Mode == "-bp" }},
		{"exim -bt -q", func(i *Invocation) bool { return i.Mode == "-q" }},
		{"exim -bh 192.0.2.1 -bt", func(i *Invocation) bool { return i.Mode == "-bt" && i.ModeArg == "192.0.2.1" }},
		{"exim -bhc 192.0.2.1", func(i *Invocation) bool { return i.Mode == "-bhc" && i.HostCheckCallouts }},
		{"exim -bF /s -bf /u -bfd d -bfl l -bfp p -bfs s", func(i *Invocation) bool {
			return i.Mode == "-bf" && i.Filter == FilterTest{System: "/s", User: "/u", Domain: "d", LocalPart: "l", Prefix: "p", Suffix: "s"}
		}},
		{"exim -bI:help", func(i *Invocation) bool { return i.Mode == "-bI" && i.ModeArg == "help" }},
		{"exim -oB -oA /a -or 5m -os1h -L tag -h 5 -O x -X f -x -U -G -B8BITMIME -Am -m -n -om -oo -oY -oi -oitrue -ov u", func(i *Invocation) bool {
			return i.SMTPMessageLimit == 1 && i.AliasFile == "/a" && i.ReceiveTimeout == 5*time.Minute && i.SMTPTimeout == time.Hour &&
				i.SyslogTag == "tag" && i.SuppressFixups && i.Terse && i.NoDaemonSocket && i.Args[0] == "u"
		}},
		{"exim -oB 5 u", func(i *Invocation) bool { return i.SMTPMessageLimit == 5 && i.Args[0] == "u" }},
		{"exim -oB 3x u", func(i *Invocation) bool { return i.SMTPMessageLimit == 3 && i.Args[0] == "u" }},
		{"exim -oB7y u", func(i *Invocation) bool { return i.SMTPMessageLimit == 7 && i.Args[0] == "u" }},
		{"exim -oB u", func(i *Invocation) bool { return i.SMTPMessageLimit == 1 && i.Args[0] == "u" }},
		{"exim -E1xWrFa-0004rv-2F u", func(i *Invocation) bool { return i.ErrorMessage && i.ErrorMessageRef == "1xWrFa-0004rv-2F" }},
		{"mailq", func(i *Invocation) bool { return i.Mode == "-bp" }},
		{"/usr/bin/runq", func(i *Invocation) bool { return i.Mode == "-q" && i.Name == "runq" }},
		{"rsmtp", func(i *Invocation) bool { return i.Mode == "-bS" }},
		{"newaliases", func(i *Invocation) bool { return i.Mode == "-bi" }},
		{"rmail u", func(i *Invocation) bool { return i.Mode == "-bm" && i.IgnoreDot && i.ErrorMode == "e" }},
		{"sendmail -oi -t", func(i *Invocation) bool { return i.Mode == "-bm" && i.ExtractRecipients }},
		{"exim -z note", func(i *Invocation) bool { return i.Mode == "-z" && i.LogLine == "note" }},
		{"exim -MC smtp h 1.2.3.4 1 1xWrFa-0004rv-2F", func(i *Invocation) bool { return i.Mode == "-MC" && len(i.Internal) == 5 }},
	}
	for _, tt := range tests {
		if tt.check == nil {
			continue
		}
		inv, err := Parse(splitArgv(tt.argv))
		if err != nil {
			t.Errorf("Parse(%s): %v", tt.argv, err)
			continue
		}
		if !tt.check(inv) {
			t.Errorf("Parse(%s) = %+v", tt.argv, inv)
		}
	}
}

func splitArgv(s string) []string {
	f := strings.Fields(s)
	for i, a := range f {
		if a == "_" {
			f[i] = ""
		}
	}
	return f
}

// TestParseErrors checks Exim's texts for refused command lines. The
// same cases run against real Exim in TestOracleUsageErrors.
func TestParseErrors(t *testing.T) {
	for _, c := range usageCases {
		_, err := Parse(append([]string{"exim"}, c.args...))
		if err == nil {
			t.Errorf("Parse(%q): no error, want %q", c.args, c.want)
			continue
		}
		if err.Error() != c.want || ExitCode(err) != 1 {
			t.Errorf("Parse(%q) = %q (%d), want %q", c.args, err, ExitCode(err), c.want)
		}
	}
}

func TestMainHelpAndUnsupported(t *testing.T) {
	tests := []struct {
		argv   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"exim"}, 1, "", helpText},
		{[]string{"exim", "--help"}, 1, "", helpText},
		{[]string{"exim", "-bfoo"}, 1, "", "exim: string expected after -bfoo\n"},
		{[]string{"exiqgrep"}, 1, "Exim message queue display utility.", ""},
		{[]string{"exigrep"}, 2, "", "Usage:\n    exigrep [options] pattern [log] ...\n"},
		{[]string{"exim_lock"}, 1, "", "exim_lock: this utility is not yet supported by exigo\n"},
		{[]string{"exim", "-bI:help"}, 0, "The -bI: flag", ""},
		{[]string{"exim", "-bI:nope"}, 1, "", "The -bI: flag"},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		code := Main(tt.argv, strings.NewReader(""), &out, &errb)
		if code != tt.code || !strings.HasPrefix(out.String(), tt.stdout) || !strings.HasPrefix(errb.String(), tt.stderr) {
			t.Errorf("Main(%q) = %d, stdout %q, stderr %q", tt.argv, code, out.String(), errb.String())
		}
	}
}

func TestDebugBlock(t *testing.T) {
	var out, errb bytes.Buffer
	code := Main([]string{"exim", "-C", "/nonexistent", "-d+all", "-bd"}, strings.NewReader(""), &out, &errb)
	lines := strings.Split(errb.String(), "\n")
	if code != 1 || !strings.Contains(lines[0], "Exim version 4.96 uid=") || !strings.HasSuffix(lines[0], " D=fff9ffff") ||
		!strings.Contains(errb.String(), "terminating with rc=1") {
		t.Fatalf("debug output %q", errb.String())
	}
	errb.Reset()
	Main([]string{"exim", "-C", "/nonexistent", "-d-all", "-bd"}, strings.NewReader(""), &out, &errb)
	if strings.Contains(errb.String(), "Exim version") {
		t.Fatalf("-d-all printed %q", errb.String())
	}
}

func TestParseTime(t *testing.T) {
	for in, want := range map[string]time.Duration{"5m": 5 * time.Minute, "1h30m": 90 * time.Minute, "2w": 14 * 24 * time.Hour, "1d1s": 24*time.Hour + time.Second} {
		if got, ok := parseTime(in); !ok || got != want {
			t.Errorf("parseTime(%q) = %v %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "5", "m", "5x", "1h5", "9999999999w"} {
		if _, ok := parseTime(in); ok {
			t.Errorf("parseTime(%q) accepted", in)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, c := range usageCases {
		f.Add(strings.Join(c.args, "\x00"))
	}
	for _, s := range []string{"-bd\x00-q30m", "-qGx/5m", "-Mar\x001xWrFa-0004rv-2F\x00a", "-d+all-acl\x00-be\x00x", "-DA = b", "-oMa\x00[::1]:25"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		argv := append([]string{"exim"}, strings.Split(s, "\x00")...)
		inv, err := Parse(argv)
		if err == nil && inv.Mode == "" {
			t.Fatalf("Parse(%q): no mode", argv)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "exim") && !strings.HasPrefix(err.Error(), "-oMm") {
			t.Fatalf("Parse(%q): error %q not in Exim's shape", argv, err)
		}
	})
}
