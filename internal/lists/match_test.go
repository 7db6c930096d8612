package lists

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/debug"
)

var ip = netip.MustParseAddr

func hostEnv() *Env {
	env := diffEnv()
	env.Resolver = &fakeResolver{
		names: map[netip.Addr][]string{
			ip("192.0.2.1"): {"mail.friend.example", "alias.other.example"},
			ip("192.0.2.2"): {"Upper.Friend.Example"},
		},
		addrs: map[string][]netip.Addr{
			"mail.friend.example": {ip("192.0.2.1")},
			"myhost.example":      {ip("192.0.2.9")},
			"mx1.example":         {ip("127.0.0.1")},
			"mx2.example":         {ip("198.51.100.1")},
			"mxl.example":         {ip("::1")},
		},
		mx: map[string][]MX{
			"prim.example": {{"mx1.example", 10}, {"mx2.example", 20}},
			"sec.example":  {{"mx2.example", 10}, {"mx1.example", 20}},
			"none.example": {{"mx2.example", 10}},
			"bad.example":  {{"gone.example", 10}},
		},
		fail: map[string]bool{"192.0.2.7": true, "slow.example": true, "tmp.example": true},
	}
	return env
}

func TestMatchHost(t *testing.T) {
	tests := []struct {
		list string
		host string // IP, or "" for no host
		name string // known name
		want string // "y:data", "n", or "defer"
	}{
		{"", "", "", "n"},
		{":", "", "", "y:"},
		{":", "192.0.2.1", "", "n"},
		{"*", "", "", "y:"},
		{"192.0.2.1", "", "", "n"},
		{"*.friend.example", "192.0.2.1", "", "y:"},
		{"*.FRIEND.example", "192.0.2.2", "", "y:"},
		{"*.other.example", "192.0.2.1", "", "y:"},
		{"*.nowhere.example", "192.0.2.1", "", "n"},
		{`^mail\.`, "192.0.2.1", "", "y:"},
		{`^(?-i)UPPER`, "192.0.2.2", "", "n"},
		{`^upper`, "192.0.2.2", "", "y:"},
		{"*.friend.example", "192.0.2.3", "", "n"},                   // no name: fails
		{"*.friend.example : 192.0.2.3", "192.0.2.3", "", "n"},       // stops at unknown
		{"+ignore_unknown : *.x : 192.0.2.3", "192.0.2.3", "", "y:"}, // skipped
		{"+include_unknown : *.x", "192.0.2.3", "", "y:"},
		{"+include_unknown : +ignore_unknown : *.x", "192.0.2.3", "", "n"},
		{"*.friend.example", "192.0.2.4", "known.friend.example", "y:"},
		{"mail.friend.example", "192.0.2.1", "", "y:"},
		{"mail.friend.example", "192.0.2.2", "", "n"},
		{"unknown.example", "192.0.2.2", "", "n"},
		{"+include_unknown : unknown.example", "192.0.2.2", "", "y:"},
		{"@", "192.0.2.9", "", "y:"},
		{"@", "192.0.2.1", "", "n"},
		{"@[]", "127.0.0.1", "", "y:"},
		{"*.x", "192.0.2.7", "", "defer"},
		{"+include_defer : *.x", "192.0.2.7", "", "y:"},
		{"+ignore_defer : *.x : 192.0.2.7", "192.0.2.7", "", "y:"},
		{"slow.example", "192.0.2.1", "", "defer"},
		{"lsearch;" + testdataPath("hosts.ls"), "192.0.2.1", "", "y:byname"},
		{"lsearch;" + testdataPath("hosts.ls"), "192.0.2.2", "", "n"},
		{"net-lsearch;" + testdataPath("hosts.ls"), "192.0.2.2", "", "y:byaddr"},
		{"net24-lsearch;" + testdataPath("hosts.ls"), "192.0.2.200", "", "y:bynet"},
		{"testdb;hello", "192.0.2.2", "", "y:hello"},
		{"testdb;none", "192.0.2.2", "", "n"},
		{"testdb;defer", "192.0.2.2", "", "defer"},
		{"+include_defer : testdb;defer", "192.0.2.2", "", "y:"},
		{"!192.0.2.1", "192.0.2.1", "", "n"},
		{"!192.0.2.1", "192.0.2.2", "", "y:"},
		{"+relay", "10.9.9.9", "", "y:"},
		{"! +relay", "10.9.9.9", "", "n"},
		{"::ffff:192.0.2.1", "192.0.2.1", "", "n"},
	}
	for _, tt := range tests {
		env := hostEnv()
		h := &Host{Name: tt.name}
		if tt.host != "" {
			h.IP = ip(tt.host)
		}
		m, err := MatchHost(env, tt.list, h)
		got := "n"
		switch {
		case err != nil && IsDefer(err):
			got = "defer"
		case err != nil:
			got = "error: " + err.Error()
		case m.Matched:
			got = "y:" + m.Data
		}
		if got != tt.want {
			t.Errorf("MatchHost(%q, %s/%q) = %q, want %q", tt.list, tt.host, tt.name, got, tt.want)
		}
	}
}

func testdataPath(name string) string {
	p, _ := filepath.Abs(filepath.Join("testdata", name))
	return p
}

func TestHostNameStored(t *testing.T) {
	env := hostEnv()
	h := &Host{IP: ip("192.0.2.1")}
	if _, err := MatchHost(env, "*.friend.example", h); err != nil {
		t.Fatal(err)
	}
	if h.Name != "mail.friend.example" || !h.NameLookedUp || len(h.Aliases) != 1 {
		t.Errorf("host after lookup = %+v", h)
	}
}

func TestMX(t *testing.T) {
	tests := []struct {
		list, domain, want string
	}{
		{"@mx_any", "prim.example", "y:@mx_any"},
		{"@mx_primary", "prim.example", "y:@mx_primary"},
		{"@mx_secondary", "prim.example", "n"},
		{"@mx_any", "sec.example", "y:@mx_any"},
		{"@mx_primary", "sec.example", "n"},
		{"@mx_secondary", "sec.example", "y:@mx_secondary"},
		{"@mx_any", "none.example", "n"},
		{"@mx_any", "bad.example", "n"},
		{"@mx_any", "nomx.example", "n"},
		{"@mx_any", "tmp.example", "defer"},
		{"@mx_any/ignore=127.0.0.1", "prim.example", "n"},
		{"@mx_any/ignore=<;127.0.0.0/8;::1", "sec.example", "n"},
		{"@mx_any/ignore=10.0.0.1", "sec.example", "y:@mx_any/ignore=10.0.0.1"},
		{"!@mx_any", "prim.example", "n"},
		{"<? @mx_any/ignore=<;127.0.0.1;::1 ? x", "prim.example", "n"},
	}
	for _, tt := range tests {
		m, err := MatchDomain(hostEnv(), tt.list, tt.domain)
		got := "n"
		switch {
		case IsDefer(err):
			got = "defer"
		case err != nil:
			got = "error: " + err.Error()
		case m.Matched:
			got = "y:" + m.Data
		}
		if got != tt.want {
			t.Errorf("MatchDomain(%q, %q) = %q, want %q", tt.list, tt.domain, got, tt.want)
		}
	}
	// hosts_treat_as_local makes an MX target local by name.
	env := hostEnv()
	env.HostsTreatAsLocal = "*.example"
	if m, err := MatchDomain(env, "@mx_primary", "none.example"); err != nil || !m.Matched {
		t.Errorf("hosts_treat_as_local: %+v %v", m, err)
	}
}

func TestVars(t *testing.T) {
	env := diffEnv()
	m, _ := MatchDomain(env, "*key.ex", "donkey.ex")
	if fmt.Sprint(m.Vars) != "[donkey.ex don]" {
		t.Errorf("* vars = %q", m.Vars)
	}
	m, _ = MatchDomain(env, `^(a)\.(b)$`, "a.b")
	if fmt.Sprint(m.Vars) != "[a.b a b]" || m.Item != `^(a)\.(b)$` {
		t.Errorf("regex match = %+v", m)
	}
}

func TestErrors(t *testing.T) {
	env := diffEnv()
	_, err := MatchDomain(env, "a : +nolist", "x")
	var d *DeferError
	if !errors.As(err, &d) || err.Error() != `unable to complete match against "a : +nolist": NULL` ||
		d.Log != `unknown named domain list "+nolist"` {
		t.Errorf("unknown named list: %v", err)
	}
	_, err = MatchDomain(env, "foo;bar", "x")
	var c *ConfigError
	if !errors.As(err, &c) || err.Error() != `unknown lookup type "foo"` {
		t.Errorf("unknown lookup type: %v", err)
	}
	_, err = MatchDomain(env, "/nonexistent/file", "x")
	if !errors.As(err, &c) || err.Error() != `failed to open /nonexistent/file when checking "/nonexistent/file": No such file or directory` {
		t.Errorf("missing file: %v", err)
	}
	_, err = MatchDomain(env, "^(", "x")
	if !errors.As(err, &c) || !strings.HasPrefix(err.Error(), "regular expression error: missing closing parenthesis at offset 2 while compiling ^(") {
		t.Errorf("bad regex: %v", err)
	}
	_, err = MatchDomain(env, "testdb;defer", "x")
	if !IsDefer(err) || err.Error() != `unable to complete match against "testdb;defer": testdb deferred` {
		t.Errorf("lookup defer: %v", err)
	}
	_, err = MatchDomain(env, "partial-testdb;x", "x")
	if !errors.As(err, &c) {
		t.Errorf("partial query-style: %v", err)
	}
	// A list that names itself is stopped, not a stack overflow.
	env.NamedList = func(Kind, string) (Named, bool) { return Named{Value: "+self"}, true }
	if _, err = MatchDomain(env, "+self", "x"); !errors.As(err, &c) {
		t.Errorf("self reference: %v", err)
	}
}

type countingExpand struct{ n int }

func (c *countingExpand) expand(s string) (string, error) {
	c.n++
	if strings.Contains(s, "${fail}") {
		return "", fmt.Errorf("forced: %w", ErrForcedFail)
	}
	if strings.Contains(s, "${bad}") {
		return "", errors.New("bad expansion")
	}
	return strings.ReplaceAll(s, "$x", "x.example"), nil
}

func TestNamedListCaching(t *testing.T) {
	calls := map[string]int{}
	defs := map[string]Named{
		"const":      {Value: "a.example : b.example"},
		"dyn":        {Value: "$x"},
		"dyncache":   {Value: "$x", Cache: true},
		"outer":      {Value: "+dyn : c.example"},
		"fail":       {Value: "${fail}"},
		"bad":        {Value: "${bad}"},
		"outerconst": {Value: "+const"},
	}
	ce := &countingExpand{}
	env := &Env{
		NamedList: func(k Kind, name string) (Named, bool) {
			calls[name]++
			d, ok := defs[name]
			return d, ok
		},
		Expand: ce.expand,
		Cache:  NewCache(),
	}
	for i := 0; i < 3; i++ {
		for _, name := range []string{"const", "dyn", "dyncache", "outer", "outerconst"} {
			m, err := MatchDomain(env, "+"+name, "x.example")
			if err != nil {
				t.Fatal(err)
			}
			want := name != "const" && name != "outerconst"
			if m.Matched != want {
				t.Errorf("+%s: matched %v", name, m.Matched)
			}
		}
	}
	// const and outerconst are cached (outerconst's first run also caches
	// const); dyn is expanded every time, also through outer, which
	// therefore is not cached either.
	want := map[string]int{"const": 1, "dyn": 6, "dyncache": 1, "outer": 3, "outerconst": 1}
	for name, n := range want {
		if calls[name] != n {
			t.Errorf("+%s looked up %d times, want %d", name, calls[name], n)
		}
	}
	if m, err := MatchDomain(env, "+fail", "x"); err != nil || m.Matched {
		t.Errorf("forced failure: %+v %v", m, err)
	}
	if m, err := MatchDomain(env, "!+fail", "x"); err != nil || !m.Matched {
		t.Errorf("negated forced failure: %+v %v", m, err)
	}
	if _, err := MatchDomain(env, "+bad", "x"); !IsDefer(err) {
		t.Errorf("expansion error: %v", err)
	}
	// Different subjects do not share results.
	if m, _ := MatchDomain(env, "+const", "a.example"); !m.Matched {
		t.Error("cache mixed subjects")
	}
}

func TestDebugLines(t *testing.T) {
	var buf bytes.Buffer
	env := diffEnv()
	env.Debug = debug.New(debug.Lists, &buf)
	MatchDomain(env, "!b.example : +local_domains : *.a.example", "x.a.example")
	MatchDomain(env, "!zz", "zz")
	MatchDomain(env, "!yy", "zz")
	want := ` x.a.example in "@ : localhost : a.example"? no (end of list)
 x.a.example in "!b.example : +local_domains : *.a.example"? yes (matched "*.a.example")
 zz in "!zz"? no (matched "!zz")
 zz in "!yy"? yes (end of list)
`
	if buf.String() != want {
		t.Errorf("debug output:\n%s\nwant:\n%s", buf.String(), want)
	}
}

func TestFileComments(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "list")
	os.WriteFile(p, []byte("a#b # c\n  # x\n\nfoo#bar\n"), 0o644)
	env := &Env{}
	// Domain lists: "#" anywhere starts a comment.
	if m, _ := MatchDomain(env, p, "a"); !m.Matched {
		t.Error("domain: a#b should be a")
	}
	if m, _ := MatchDomain(env, p, "foo"); !m.Matched {
		t.Error("domain: foo#bar should be foo")
	}
	// Local part lists: only after white space.
	if m, _ := MatchLocalPart(env, p, "a#b", false); !m.Matched || m.Data != "a#b" {
		t.Errorf("local part: a#b %+v", m)
	}
	if m, _ := MatchLocalPart(env, p, "foo#bar", false); !m.Matched {
		t.Error("local part: foo#bar")
	}
	if m, _ := MatchAddress(env, p+" : x@y", "X@Y", true); m.Matched {
		t.Error("caseful address matched")
	}
}

func TestMatchLocalPartCaseful(t *testing.T) {
	env := &Env{}
	if m, _ := MatchLocalPart(env, "abc", "ABC", true); m.Matched {
		t.Error("caseful local part matched other case")
	}
	if m, _ := MatchLocalPart(env, "ABC", "ABC", true); !m.Matched {
		t.Error("caseful local part did not match")
	}
}

func TestNetKey(t *testing.T) {
	tests := []struct {
		ip     string
		mask   int
		colons bool
		want   string
	}{
		{"1.2.3.4", -1, false, "1.2.3.4"},
		{"1.2.3.4", 24, false, "1.2.3.0/24"},
		{"1.2.3.4", 99, false, "1.2.3.4/32"},
		{"::ffff:1.2.3.4", -1, false, "1.2.3.4"},
		{"2001:db8::1", -1, false, "2001.0db8.0000.0000.0000.0000.0000.0001"},
		{"2001:db8::1", -1, true, "2001:0db8:0000:0000:0000:0000:0000:0001"},
		{"2001:db8::1", 48, false, "2001.0db8.0000.0000.0000.0000.0000.0000/48"},
	}
	for _, tt := range tests {
		if got := netKey(ip(tt.ip), tt.mask, tt.colons); got != tt.want {
			t.Errorf("netKey(%s, %d) = %q, want %q", tt.ip, tt.mask, got, tt.want)
		}
	}
}
