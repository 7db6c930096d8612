package lookup

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

func TestKind(t *testing.T) {
	for _, c := range []struct {
		typ  string
		want KindType
		ok   bool
	}{
		{"lsearch", SingleKey, true}, {"cdb", SingleKey, true}, {"dsearch", SingleKey, true},
		{"dnsdb", QueryStyle, true}, {"sqlite", QueryStyle, true}, {"passwd", QueryStyle, true},
		{"ldap", QueryStyle, true}, {"partial-lsearch", 0, false}, {"nope", 0, false},
	} {
		k, ok := Kind(c.typ)
		if k != c.want || ok != c.ok {
			t.Errorf("Kind(%q) = %v, %v; want %v, %v", c.typ, k, ok, c.want, c.ok)
		}
	}
}

func TestTypes(t *testing.T) {
	got := strings.Join(Types(), " ")
	want := "lsearch wildlsearch nwildlsearch iplsearch cdb dbm dbmjz dbmnz dnsdb dsearch ldap ldapdn ldapm passwd sqlite"
	if got != want {
		t.Errorf("Types() = %q, want %q", got, want)
	}
}

func TestNotYetSupported(t *testing.T) {
	r := New(Options{})
	_, _, err := r.Query("mysql", "select 1", nil)
	if err == nil || !strings.Contains(err.Error(), "not supported by exigo") {
		t.Errorf("mysql: %v", err)
	}
}

func TestDeferErrorAs(t *testing.T) {
	r := New(Options{})
	_, _, err := r.Find("dsearch", "/", "a/b", nil)
	var d *DeferError
	if !errors.As(err, &d) || d.Key != "a/b" || d.Msg != "key for dsearch lookup contains a slash: a/b" {
		t.Errorf("got %#v", err)
	}
	_, _, err = r.Find("lsearch", "/nonexistent/x", "k", nil)
	var o *OpenError
	if !errors.As(err, &o) {
		t.Errorf("missing file: got %#v, want *OpenError", err)
	}
}

func TestParseTypeAndPartialKeys(t *testing.T) {
	for _, c := range []struct {
		typ, key string
		want     string
	}{
		{"partial-lsearch", "2250.dates.fict.example", "*.2250.dates.fict.example *.dates.fict.example *.fict.example"},
		{"partial3-lsearch", "2250.dates.fict.example", "*.2250.dates.fict.example *.dates.fict.example"},
		{"partial(.)lsearch", "a.b.c", ".a.b.c .b.c"},
		{"partial1()cdb", "a.b.c", "b.c c"},
		{"partial0-lsearch", "a.b", "*.a.b *.b *"},
		{"partial0(.)lsearch", "a", ".a ."},
		{"partial0()lsearch", "a", ""},
		{"partial0(+-)lsearch*", "a", "+-a +-"},
	} {
		st, err := parseType(c.typ)
		if err != nil {
			t.Fatalf("%s: %v", c.typ, err)
		}
		if got := strings.Join(partialKeys(st, c.key), " "); got != c.want {
			t.Errorf("%s %s: got %q want %q", c.typ, c.key, got, c.want)
		}
	}
}

var quoteCases = []struct{ typ, in, want string }{
	{"sqlite", "it's", "it''s"},
	{"sqlite", "", ""},
	{"lsearch", "it's", "it's"},
	{"dnsdb", "a>b:c,d", "a>b:c,d"},
	{"passwd", "a:b", "a:b"},
	{"iplsearch", "x", "x"},
	{"ldap", " a(bc)*, a<yz>; ", "%20a%5C28bc%5C29%5C2A%2C%20a%3Cyz%3E%3B%20"},
	{"ldap", "a*b", "a%5C2Ab"},
	{"ldap_dn", " a(bc)*, a<yz>; ", "%5C%20a(bc)*%5C%2C%20a%5C%3Cyz%5C%3E%5C%3B%5C%20"},
	{"ldap_dn", "#x  ", "%5C%23x%5C%20%5C%20"},
	{"mysql", `a'b"c%_\`, `a\'b\"c%_\\`},
	{"pgsql", `a'b"c%_\`, `a''b\"c%_\\`},
	{"nis", "x", "x"},
}

func TestQuote(t *testing.T) {
	for _, c := range quoteCases {
		got, ok := Quote(c.typ, c.in)
		if !ok || got != c.want {
			t.Errorf("Quote(%q, %q) = %q, %v; want %q", c.typ, c.in, got, ok, c.want)
		}
	}
	if _, ok := Quote("foo", "x"); ok {
		t.Errorf("Quote(foo) ok")
	}
}

// TestQuoteOracle checks the quote_<type> results with real Exim.
func TestQuoteOracle(t *testing.T) {
	exim := oracletest.Exim(t)
	conf := oracletest.WriteConfig(t, "\n")
	var exprs []string
	for _, c := range quoteCases {
		exprs = append(exprs, fmt.Sprintf("${quote_%s:%s}", c.typ, eximQuote(c.in)))
	}
	exprs = append(exprs, "${quote_foo:x}")
	got := eximBatch(t, exim, conf, exprs)
	for i, c := range quoteCases {
		if got[i] != c.want {
			t.Errorf("quote_%s:%q: exim %q, exigo %q", c.typ, c.in, got[i], c.want)
		}
	}
	if last := got[len(got)-1]; last != `Failed: unknown lookup type "foo"` {
		t.Errorf("quote_foo: exim %q", last)
	}
}

func TestDBMExistingFile(t *testing.T) {
	f := writeFile(t, t.TempDir(), "aliases.db", "not really berkeley db")
	_, _, err := New(Options{}).Find("dbm", f, "k", nil)
	var o *OpenError
	if !errors.As(err, &o) || !strings.Contains(o.Msg, "exigo cannot read Berkeley DB") {
		t.Errorf("got %v", err)
	}
}

func TestWildRegexError(t *testing.T) {
	f := writeFile(t, t.TempDir(), "w", "^bad( x\n")
	_, _, err := New(Options{}).Find("nwildlsearch", f, "k", nil)
	if err == nil || isDefer(err) || !strings.HasPrefix(err.Error(), "regular expression error: ") || !strings.HasSuffix(err.Error(), " while compiling ^bad(") {
		t.Errorf("got %v", err)
	}
}

func TestNestedLimit(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "self", "nwildlsearch;"+dir+"/self x\n")
	_, _, err := New(Options{}).Find("nwildlsearch", f, "k", nil)
	if !isDefer(err) {
		t.Errorf("self-nesting file: got %v, want a DeferError", err)
	}
}
