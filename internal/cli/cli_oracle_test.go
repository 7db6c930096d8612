package cli

import (
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// usageCases are command lines that Exim 4.96 refuses before doing
// anything, with the text it prints on stderr (exit code 1 for all).
var usageCases = []struct {
	args []string
	want string
}{
	{[]string{"-Z"}, "exim abandoned: unknown, malformed, or incomplete option -Z"},
	{[]string{"--foo"}, "exim abandoned: unknown, malformed, or incomplete option --foo"},
	{[]string{"-"}, "exim abandoned: unknown, malformed, or incomplete option -"},
	{[]string{"-b"}, "exim abandoned: unknown, malformed, or incomplete option -b"},
	{[]string{"-bx"}, "exim abandoned: unknown, malformed, or incomplete option -bx"},
	{[]string{"-bdx"}, "exim abandoned: unknown, malformed, or incomplete option -bdx"},
	{[]string{"-bVx"}, "exim abandoned: unknown, malformed, or incomplete option -bVx"},
	{[]string{"-bpq"}, "exim abandoned: unknown, malformed, or incomplete option -bpq"},
	{[]string{"-bprx"}, "exim abandoned: unknown, malformed, or incomplete option -bprx"},
	{[]string{"-bem"}, "exim abandoned: unknown, malformed, or incomplete option -bem"},
	{[]string{"-bh"}, "exim abandoned: unknown, malformed, or incomplete option -bh"},
	{[]string{"-bh", "bogus"}, `exim abandoned: "bogus" is not an IP address`},
	{[]string{"-bmalware"}, "exim abandoned: unknown, malformed, or incomplete option -bmalware"},
	{[]string{"-bI"}, "exim abandoned: unknown, malformed, or incomplete option -bI"},
	{[]string{"-bf"}, "exim: file name expected after -bf"},
	{[]string{"-bF"}, "exim: file name expected after -bF"},
	{[]string{"-bfd"}, "exim: string expected after -bfd"},
	{[]string{"-bfoo"}, "exim: string expected after -bfoo"},
	{[]string{"-bfoo", "x"}, "exim abandoned: unknown, malformed, or incomplete option -bfoo"},
	{[]string{"-bwx"}, "exim: bad time value -bwx: abandoned"},
	{[]string{"-C"}, "exim abandoned: unknown, malformed, or incomplete option -C"},
	{[]string{"-D"}, "exim: macro name set by -D must start with an upper case letter"},
	{[]string{"-Dab"}, "exim: macro name set by -D must start with an upper case letter"},
	{[]string{"-DA b=1"}, "exim abandoned: unknown, malformed, or incomplete option -DA b=1"},
	{[]string{"-DA1", "-DA2", "-DA3", "-DA4", "-DA5", "-DA6", "-DA7", "-DA8", "-DA9", "-DA10", "-DA11"}, "exim: too many -D options on command line"},
	{[]string{"-f"}, "exim abandoned: unknown, malformed, or incomplete option -f"},
	{[]string{"-F"}, "exim abandoned: unknown, malformed, or incomplete option -F"},
	{[]string{"-r"}, "exim abandoned: unknown, malformed, or incomplete option -r"},
	{[]string{"-ex"}, "exim abandoned: unknown, malformed, or incomplete option -ex"},
	{[]string{"-h", "x"}, "exim abandoned: unknown, malformed, or incomplete option -h"},
	{[]string{"-ix"}, "exim abandoned: unknown, malformed, or incomplete option -ix"},
	{[]string{"-Lxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}, `exim: the -L syslog name is too long: "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"`},
	{[]string{"-Nx"}, "exim abandoned: unknown, malformed, or incomplete option -Nx"},
	{[]string{"-O"}, "exim: string expected after -O"},
	{[]string{"-oA"}, "exim: string expected after -oA"},
	{[]string{"-oBx"}, "exim: number expected after -oB"},
	{[]string{"-odx"}, "exim abandoned: unknown, malformed, or incomplete option -odx"},
	{[]string{"-oex"}, "exim abandoned: unknown, malformed, or incomplete option -oex"},
	{[]string{"-oitruex"}, "exim abandoned: unknown, malformed, or incomplete option -oitruex"},
	{[]string{"-oMa"}, "exim: data expected after -oMa"},
	{[]string{"-oMa1.2.3.4"}, "exim: data expected after -oMa1.2.3.4"},
	{[]string{"-oMx", "y"}, "exim abandoned: unknown, malformed, or incomplete option -oMx"},
	{[]string{"-oMa", "bogus"}, `exim abandoned: "bogus" is not an IP address`},
	{[]string{"-oMm", "bogus"}, "-oMm must be a valid message ID"},
	{[]string{"-oPx"}, "exim abandoned: unknown, malformed, or incomplete option -oPx"},
	{[]string{"-or"}, "exim: bad time value -or: abandoned"},
	{[]string{"-or5"}, "exim: bad time value -or5: abandoned"},
	{[]string{"-or", "x"}, "exim: bad time value x: abandoned"},
	{[]string{"-oX25"}, "exim abandoned: unknown, malformed, or incomplete option -oX25"},
	{[]string{"-p"}, "exim abandoned: unknown, malformed, or incomplete option -p"},
	{[]string{"-qfff"}, "exim: bad time value -qfff: abandoned"},
	{[]string{"-qlf"}, "exim: bad time value -qlf: abandoned"},
	{[]string{"-q5"}, "exim: bad time value -q5: abandoned"},
	{[]string{"-q0s"}, "exim: bad time value -q0s: abandoned"},
	{[]string{"-qGfoo/x"}, "exim: bad time value -qGfoo/x: abandoned"},
	{[]string{"-q", "bogus"}, "exim: bad time value bogus: abandoned"},
	{[]string{"-qR"}, "exim: string expected after -R"},
	{[]string{"-qSrf"}, "exim: string expected after -S"},
	{[]string{"-qqR"}, "exim: string expected after -R"},
	{[]string{"-qqRf"}, "exim: string expected after -R"},
	{[]string{"-qqS"}, "exim: string expected after -S"},
	{[]string{"-qqSrff"}, "exim: string expected after -S"},
	{[]string{"-qqRx", "d"}, "exim: incompatible command-line options or arguments"},
	{[]string{"-qqRfff", "d"}, "exim: incompatible command-line options or arguments"},
	{[]string{"-qqRrr", "d"}, "exim: incompatible command-line options or arguments"},
	{[]string{"-qqR", "d", "1xWrFa-0004rv-2F"}, "exim: incompatible command-line options or arguments"},
	{[]string{"-qqR", "d", "-M", "1xWrFa-0004rv-2F"}, "exim: incompatible command-line options or arguments"},
	{[]string{"-qqfff"}, "exim: bad time value -qqfff: abandoned"},
	{[]string{"-qqlf"}, "exim: bad time value -qqlf: abandoned"},
	{[]string{"-qqq"}, "exim: bad time value -qqq: abandoned"},
	{[]string{"-qqqR", "d"}, "exim: bad time value -qqqR: abandoned"},
	{[]string{"-qqr", "d"}, "exim: bad time value -qqr: abandoned"},
	{[]string{"-qiR", "d"}, "exim: bad time value -qiR: abandoned"},
	{[]string{"-qfR", "d"}, "exim: bad time value -qfR: abandoned"},
	{[]string{"-qlR", "d"}, "exim: bad time value -qlR: abandoned"},
	{[]string{"-qqiR", "d"}, "exim: bad time value -qqiR: abandoned"},
	{[]string{"-qqifflR", "d"}, "exim: bad time value -qqifflR: abandoned"},
	{[]string{"-qGfooR", "d"}, "exim: bad time value d: abandoned"},
	{[]string{"-q", "-q"}, "exim: -q specified more than once"},
	{[]string{"-qf", "-qf"}, "exim: -q specified more than once"},
	{[]string{"-q", "-qq"}, "exim: -q specified more than once"},
	{[]string{"-q", "-qfff"}, "exim: -q specified more than once"},
	{[]string{"-q5m", "-q"}, "exim: -q specified more than once"},
	{[]string{"-qGa", "-qGb"}, "exim: -q specified more than once"},
	{[]string{"-qGa", "-bp", "-qGb"}, "exim: -q specified more than once"},
	{[]string{"-bt", "-q", "-q"}, "exim: -q specified more than once"},
	{[]string{"-R", "d", "-q", "-q"}, "exim: -q specified more than once"},
	{[]string{"-bp", "-qqR"}, "exim: string expected after -R"},
	{[]string{"-R", "d", "-M", "1xWrFa-0004rv-2F"}, "exim: incompatible command-line options or arguments"},
	{[]string{"-R", "d", "-Mrm", "1xWrFa-0004rv-2F"}, "exim: incompatible command-line options or arguments"},
	{[]string{"-R", "d", "-Mc", "1xWrFa-0004rv-2F"}, "exim: incompatible command-line options or arguments"},
	{[]string{"-R", "d", "-Mf", "1xWrFa-0004rv-2F"}, "exim: incompatible command-line options or arguments"},
	{[]string{"-R", "d", "-Mar", "1xWrFa-0004rv-2F", "a@b"}, "exim: incompatible command-line options or arguments"},
	{[]string{"-R", "d", "-Mes", "1xWrFa-0004rv-2F", "a@b"}, "exim: incompatible command-line options or arguments"},
	{[]string{"-R", "d", "-MG", "q", "1xWrFa-0004rv-2F"}, "exim: incompatible command-line options or arguments"},
	{[]string{"-Rf"}, "exim: string expected after -R"},
	{[]string{"-Rrfff", "x"}, "exim: incompatible command-line options or arguments"},
	{[]string{"-q5m", "1xWrFa-0004rv-2F"}, "exim: incompatible command-line options or arguments"},
	{[]string{"-M"}, "exim: no message ids given after -M option"},
	{[]string{"-Mvh"}, "exim: no message ids given after -Mvh option"},
	{[]string{"-Mset"}, "exim: no message ids given after -Mset option"},
	{[]string{"-Mx"}, "exim abandoned: unknown, malformed, or incomplete option -Mx"},
	{[]string{"-M", "bogus"}, "exim: malformed message id bogus after -M option"},
	{[]string{"-Mrm", "1xWrFa-0004rv-2F", "-x"}, "exim: malformed message id -x after -Mrm option"},
	{[]string{"-Mar", "bogus", "a@b"}, "exim: malformed message id bogus after -Mar option"},
	{[]string{"-bt", "-M", "bogus"}, "exim: malformed message id bogus after -M option"},
	{[]string{"-Mset", "1xWrFa-0004rv-2F"}, "exim: incompatible command-line options or arguments"},
	{[]string{"-MC", "a", "b", "c", "d"}, "exim: too many or too few arguments after -MC"},
	{[]string{"-MCd"}, "exim abandoned: unknown, malformed, or incomplete option -MCd"},
	{[]string{"-Tqt"}, "exim abandoned: unknown, malformed, or incomplete option -Tqt"},
	{[]string{"-tx"}, "exim abandoned: unknown, malformed, or incomplete option -tx"},
	{[]string{"-X"}, "exim: string expected after -X"},
	{[]string{"-z"}, "exim: file name expected after -z"},
	{[]string{"-bt", "-bv"}, "exim: incompatible command-line options or arguments"},
	{[]string{"-bP", "-bt"}, "exim: incompatible command-line options or arguments"},
	{[]string{"-bP", "-be"}, "exim: incompatible command-line options or arguments"},
	{[]string{"-bs", "-t"}, "exim: incompatible command-line options or arguments"},
	{[]string{"-bs", "-f", "x"}, "exim: incompatible command-line options or arguments"},
	{[]string{"-bd", "-q"}, "exim: incompatible command-line options or arguments"},
	{[]string{"-bd", "-bp"}, "exim: incompatible command-line options or arguments"},
	{[]string{"-bw", "-q"}, "exim: incompatible command-line options or arguments"},
	{[]string{"-bi", "x"}, "exim: incompatible command-line options or arguments"},
	{[]string{"-bf", "x", "-bt"}, "exim: incompatible command-line options or arguments"},
	{[]string{"-t", "-M", "1xWrFa-0004rv-2F"}, "exim: incompatible command-line options or arguments"},
	{[]string{"-bP", "-M", "1xWrFa-0004rv-2F"}, "exim: incompatible command-line options or arguments"},
	// The -d selector.
	{[]string{"-d+bogus"}, "exim: unknown debug_selector setting: +bogus"},
	{[]string{"-d+ALL"}, "exim: unknown debug_selector setting: +ALL"},
	{[]string{"-d+"}, "exim: unknown debug_selector setting: +"},
	{[]string{"-d+all-"}, "exim: unknown debug_selector setting: -"},
	{[]string{"-d+v"}, "exim: unknown debug_selector setting: +v"},
	{[]string{"-dfoo"}, `exim: malformed debug_selector setting: + or - expected but found "foo"`},
	{[]string{"-ddd"}, `exim: malformed debug_selector setting: + or - expected but found "d"`},
	{[]string{"-dropcrx"}, `exim: malformed debug_selector setting: + or - expected but found "ropcrx"`},
	{[]string{"-d+acl,dns"}, `exim: malformed debug_selector setting: + or - expected but found ",dns"`},
	{[]string{"-d0x10"}, `exim: malformed debug_selector setting: + or - expected but found "0x10"`},
	{[]string{"-d=x"}, "exim: malformed numeric debug_selector setting: =x"},
	{[]string{"-d=0x"}, "exim: malformed numeric debug_selector setting: =0x"},
	{[]string{"-d=5 "}, "exim: malformed numeric debug_selector setting: =5 "},
}

// TestOracleUsageErrors runs every refused command line through real Exim
// and exigo and compares exit code and stderr.
func TestOracleUsageErrors(t *testing.T) {
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	conf := oracletest.WriteConfig(t, "keep_environment =\n")
	for _, c := range usageCases {
		args := append([]string{"-C", conf}, c.args...)
		want := oracletest.Run(t, exim, "", args...)
		got := oracletest.Run(t, exigo, "", args...)
		if want.Code != got.Code || want.Stderr != got.Stderr {
			t.Errorf("%q: exim %d %q, exigo %d %q", c.args, want.Code, want.Stderr, got.Code, got.Stderr)
		}
		if strings.TrimSuffix(want.Stderr, "\n") != c.want {
			t.Errorf("%q: table says %q, exim says %q", c.args, c.want, want.Stderr)
		}
	}
}

// TestOracleDebugSelectors compares the D= value of the first debug line
// for accepted -d settings, and the help both print for -d alone.
func TestOracleDebugSelectors(t *testing.T) {
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	conf := oracletest.WriteConfig(t, "keep_environment =\n")
	for _, sel := range []string{"-d", "-dd", "-d+all", "-d+all-acl", "-d-all+acl", "-d+memory", "-d-memory",
		"-d+noutf8", "-d=0x10", "-d=010", "-d=-1", "-d+expand-all", "-d-all", "-d=0", "-dd+all-memory+lists"} {
		want := oracletest.Run(t, exim, "", "-C", conf, sel)
		got := oracletest.Run(t, exigo, "", "-C", conf, sel)
		if want.Code != got.Code {
			t.Errorf("%s: exit code exim %d, exigo %d", sel, want.Code, got.Code)
		}
		if w, g := versionLine(want.Stderr), versionLine(got.Stderr); w != g {
			t.Errorf("%s: exim %q, exigo %q", sel, w, g)
		}
		if !strings.HasSuffix(want.Stderr, helpText) || !strings.HasSuffix(got.Stderr, helpText) {
			t.Errorf("%s: help missing: exim %q, exigo %q", sel, want.Stderr, got.Stderr)
		}
	}
}

// versionLine returns the first debug line with the pid and any time and
// pid prefixes masked: "Exim version 4.96 uid=0 gid=0 pid=N D=f7715cfd".
func versionLine(stderr string) string {
	line, _, _ := strings.Cut(stderr, "\n")
	i := strings.Index(line, "Exim version")
	if i < 0 {
		return ""
	}
	line = line[i:]
	if p := strings.Index(line, " pid="); p >= 0 {
		end := strings.Index(line[p+1:], " ")
		line = line[:p] + " pid=N" + line[p+1+end:]
	}
	return line
}
