// Unit tests: the typed value parsers and printers, macros, directives,
// sections and the access API.
package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func load(t *testing.T, text string, opts Options) (*Config, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "exim.conf")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return Load(p, opts)
}

func TestTimes(t *testing.T) {
	for _, c := range []struct {
		in, out string
		ok      bool
	}{
		{"7d", "1w", true}, {"1h30m", "1h30m", true}, {"90m", "1h30m", true}, {"1w2d", "1w2d", true},
		{"60s", "1m", true}, {"0s", "0s", true}, {"3600", "", false}, {"", "", false}, {"1.5h", "", false}, {"2y", "", false},
	} {
		n, ok := parseTime(c.in)
		if ok != c.ok || ok && FormatTime(n) != c.out {
			t.Errorf("%q: got %v %q", c.in, ok, FormatTime(n))
		}
	}
}

func TestIntegers(t *testing.T) {
	d := optDef{name: "x", kind: KindMkInt}
	for _, c := range []struct{ in, out, err string }{
		{"1024", "x = 1K", ""}, {"1G", "x = 1024M", ""}, {"0x10", "x = 16", ""}, {"010", "x = 8", ""},
		{"1536", "x = 1536", ""}, {"abc", "", "integer expected for x"}, {"5KK", "", "extra characters follow integer value for x"},
		{"4G", "", `absolute value of integer "4G" is too large (overflow)`},
	} {
		st, err := parseValue(d, c.in)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("%q: err %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || formatSetting(d, st) != c.out {
			t.Errorf("%q: %v %q want %q", c.in, err, formatSetting(d, st), c.out)
		}
	}
	k := optDef{name: "k", kind: KindKInt}
	st, _ := parseValue(k, "2147483648")
	if got := formatSetting(k, st); got != "k = 2T" {
		t.Errorf("KInt: %q", got)
	}
	f := optDef{name: "f", kind: KindFixed}
	for in, out := range map[string]string{"1.5": "f = 1.5", "2": "f = 2.0", "1.2345": "f = 1.234", "0.25": "f = 0.25"} {
		st, err := parseValue(f, in)
		if err != nil || formatSetting(f, st) != out {
			t.Errorf("fixed %q: %v %q", in, err, formatSetting(f, st))
		}
	}
}

func TestMacrosAndDirectives(t *testing.T) {
	c, err := load(t, "FOO = x\nBAR = FOO-y\n.ifdef BAR\nprimary_hostname = BAR\n.elifdef FOO\nprimary_hostname = no\n.endif\n"+
		"MAC = a\nMAC == MAC b\nsmtp_banner = MAC \\\n    cont\n", Options{Macros: []Macro{{Name: "FOO", Value: "cmd"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Main.String("primary_hostname"); got != "cmd-y" {
		t.Errorf("primary_hostname = %q", got)
	}
	if got := c.Main.String("smtp_banner"); got != "a b cont" {
		t.Errorf("smtp_banner = %q", got)
	}
	if got := c.SubstituteMacros("say FOO and MAC"); got != "say cmd and a b" {
		t.Errorf("SubstituteMacros = %q", got)
	}
	if name, err := c.DefineMacroLine("NEW = 1"); err != nil || name != "NEW" {
		t.Errorf("DefineMacroLine: %q %v", name, err)
	}
	_, err = c.DefineMacroLine("Mi nombre es x")
	var ce *Error
	if !errors.As(err, &ce) || ce.Msg != "malformed macro definition" {
		t.Errorf("DefineMacroLine bad: %v", err)
	}
	if s := c.Main.Setting("primary_hostname"); s == nil || s.Line != 4 {
		t.Errorf("setting position: %+v", s)
	}
}

func TestSectionsAPI(t *testing.T) {
	c, err := load(t, `primary_hostname = h
auto_thaw = 1h
smtp_ratelimit_hosts = *
no_accept_8bitmime
domainlist local_domains = @ : localhost
begin acl
check_rcpt:
  accept hosts = :
  deny    message = no
         !verify = recipient
  warn set acl_m0 = 1
begin routers
r1:
  driver = accept
  transport = t1
begin transports
t1:
  driver = pipe
  command = /bin/cat
  umask = 077
begin retry
* * F,2h,15m; G,16h,1h,1.5
begin rewrite
*@x.example $1@y.example Ff
`, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Main.Duration("auto_thaw") != time.Hour || c.Main.Bool("accept_8bitmime") || !c.Main.IsSet("auto_thaw") {
		t.Error("main typed access")
	}
	if l := c.NamedList("domain", "local_domains"); l == nil || l.Value != "@ : localhost" {
		t.Errorf("named list: %+v", l)
	}
	a := c.ACL("check_rcpt")
	if a == nil || len(a.Statements) != 3 || !a.Statements[1].Conditions[1].Negated || a.Statements[2].Conditions[0].Var != "acl_m0" {
		t.Fatalf("acl: %+v", a)
	}
	if tr := c.Transport("t1"); tr == nil || tr.Options.Line("umask") != "umask = 077" {
		t.Error("transport options")
	}
	if len(c.Retry) != 1 || len(c.Retry[0].Steps) != 2 || c.Retry[0].Steps[1].Factor != 1500 {
		t.Errorf("retry: %+v", c.Retry)
	}
	if len(c.Rewrite) != 1 || c.Rewrite[0].Flags != "Ff" {
		t.Errorf("rewrite: %+v", c.Rewrite)
	}
}

func TestIncludeDepth(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "loop.conf")
	os.WriteFile(p, []byte(".include "+p+"\n"), 0o644)
	_, err := Load(p, Options{})
	if err == nil || !strings.Contains(err.Error(), "failed to open included configuration file") {
		t.Errorf("include loop: %v", err)
	}
}
