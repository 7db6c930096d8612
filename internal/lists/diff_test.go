package lists

import (
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

var update = flag.Bool("update", false, "rewrite testdata/diff/cases.tsv wants from real Exim")

// diffConfig is the configuration both sides use; the named lists are
// also given to exigo through namedLists.
const diffConfig = `primary_hostname = myhost.example
domainlist local_domains = @ : localhost : a.example
domainlist neg_dom = !a.b
domainlist nested = +local_domains : *.nested.example
hostlist relay = 127.0.0.1 : 10.0.0.0/8
hostlist relay6 = <; ::1 ; 2001:db8::/32
addresslist bad = spam@x.example : *@bad.example
localpartlist lps = postmaster : abuse
`

func namedLists(config string) func(Kind, string) (Named, bool) {
	lists := map[Kind]map[string]string{}
	kinds := map[string]Kind{"domainlist": DomainList, "hostlist": HostList, "addresslist": AddressList, "localpartlist": LocalPartList}
	for _, l := range strings.Split(config, "\n") {
		word, rest, _ := strings.Cut(l, " ")
		k, ok := kinds[word]
		if !ok {
			continue
		}
		name, value, _ := strings.Cut(rest, "=")
		if lists[k] == nil {
			lists[k] = map[string]string{}
		}
		lists[k][strings.TrimSpace(name)] = strings.TrimSpace(value)
	}
	return func(k Kind, name string) (Named, bool) {
		v, ok := lists[k][name]
		return Named{Value: v}, ok
	}
}

type diffCase struct {
	cond, subject, list, want string
}

func loadDiffCases(t *testing.T, dir string) ([]diffCase, []string) {
	t.Helper()
	text, err := os.ReadFile("testdata/diff/cases.tsv")
	if err != nil {
		t.Fatal(err)
	}
	var cases []diffCase
	lines := strings.Split(strings.TrimSuffix(string(text), "\n"), "\n")
	for _, l := range lines {
		if strings.HasPrefix(l, "#") {
			continue
		}
		f := strings.Split(l, "\t")
		if len(f) != 4 {
			t.Fatalf("bad case line %q", l)
		}
		cases = append(cases, diffCase{f[0], f[1], strings.ReplaceAll(f[2], "@D@", dir), f[3]})
	}
	return cases, lines
}

// exigoResult renders our result as Exim's -be prints
// ${if cond{subject}{list}{y:$value}{n}}.
func exigoResult(env *Env, c diffCase) string {
	var (
		m   Match
		err error
	)
	switch c.cond {
	case "match_domain":
		m, err = MatchDomain(env, c.list, c.subject)
	case "match_local_part":
		m, err = MatchLocalPart(env, c.list, c.subject, false)
	case "match_address":
		m, err = MatchAddress(env, c.list, c.subject, false)
	case "match_ip":
		m, err = MatchIP(env, c.list, c.subject)
	case "inlist":
		m, err = MatchString(env, c.list, c.subject, false)
	case "inlisti":
		m, err = MatchString(env, c.list, c.subject, true)
	default:
		return "unknown condition " + c.cond
	}
	if err != nil {
		return "Failed: " + err.Error()
	}
	if m.Matched {
		return "y:" + m.Data
	}
	return "n"
}

func diffEnv() *Env {
	return &Env{
		Lookups:         fakeLookups{},
		NamedList:       namedLists(diffConfig),
		PrimaryHostname: "myhost.example",
		Interfaces:      []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")},
		Cache:           NewCache(),
		Regexps:         &RegexpCache{},
	}
}

// TestDifferential compares every case in testdata/diff/cases.tsv with
// real Exim's answer, and (always, even without Exim) with the recorded
// answer. -update records Exim's answers.
func TestDifferential(t *testing.T) {
	dir, err := filepath.Abs("testdata/diff")
	if err != nil {
		t.Fatal(err)
	}
	cases, lines := loadDiffCases(t, dir)
	env := diffEnv()
	var exim []string
	if *update || os.Getenv("CI") == "true" || haveExim() {
		bin := oracletest.Exim(t)
		conf := oracletest.WriteConfig(t, diffConfig)
		var in strings.Builder
		for _, c := range cases {
			// -be reads the unexpanded list argument with backslash
			// escapes processed, as the expansion engine will.
			in.WriteString("${if " + c.cond + "{" + c.subject + "}{" + strings.ReplaceAll(c.list, `\`, `\\`) + "}{y:$value}{n}}\n")
		}
		res := oracletest.Run(t, bin, in.String(), "-C", conf, "-be")
		out := strings.Split(res.Stdout, "\n")
		for _, o := range out {
			if s, ok := strings.CutPrefix(o, "> "); ok {
				exim = append(exim, s)
			}
		}
		if len(exim) < len(cases) {
			t.Fatalf("exim gave %d results for %d cases\nstderr: %s", len(exim), len(cases), res.Stderr)
		}
	}
	for i, c := range cases {
		got := exigoResult(env, c)
		if exim != nil && got != exim[i] {
			t.Errorf("%s{%s}{%s}: exigo %q, exim %q", c.cond, c.subject, c.list, got, exim[i])
		}
		if !*update && got != c.want {
			t.Errorf("%s{%s}{%s}: got %q, recorded %q", c.cond, c.subject, c.list, got, c.want)
		}
	}
	if *update {
		j := 0
		for i, l := range lines {
			if strings.HasPrefix(l, "#") {
				continue
			}
			f := strings.Split(l, "\t")
			f[3] = exim[j]
			lines[i] = strings.Join(f, "\t")
			j++
		}
		if err := os.WriteFile("testdata/diff/cases.tsv", []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d cases", len(cases))
}

func haveExim() bool {
	for _, p := range []string{"/usr/sbin/exim4", "/usr/sbin/exim"} {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}
