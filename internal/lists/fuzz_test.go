package lists

import (
	"strings"
	"testing"
)

// FuzzMatch feeds arbitrary lists and subjects to every matcher: items of
// every kind must parse without panics or runaway recursion, and quoting an
// item must keep it one item.
func FuzzMatch(f *testing.F) {
	for _, s := range []string{
		"a.b : !*.b : ^x$ : +local_domains : @ : @[] : @mx_any/ignore=<;1.2.3.4;::1",
		"<; ::1 ; 10.0.0.0/8 ; net24-lsearch;/dev/null ; +include_unknown ; *.x",
		"@@lsearch;/dev/null : *@+local_domains : lsearch*@;/dev/null : +caseful : ^A",
		"partial2(.)lsearch*,ret=key;/dev/null : testdb;q : net-testdb;q",
		"! +self : +nested : \\N^\\d$\\N : :: : <",
	} {
		f.Add(s, "a.b")
		f.Add(s, "x@y.example")
		f.Add(s, "1.2.3.4")
	}
	f.Fuzz(func(t *testing.T, list, subject string) {
		if len(list) > 2000 || strings.Contains(list, "/") && !strings.Contains(list, "/dev/null") {
			// Stay away from reading arbitrary files.
			list = strings.ReplaceAll(list, "/", "_")
		}
		env := hostEnv()
		base := env.NamedList
		env.NamedList = func(k Kind, name string) (Named, bool) {
			if name == "self" {
				return Named{Value: "a : +self"}, true
			}
			return base(k, name)
		}
		MatchDomain(env, list, subject)
		MatchLocalPart(env, list, subject, false)
		MatchAddress(env, list, subject, false)
		MatchString(env, list, subject, true)
		if r, err := MatchIP(env, list, subject); err == nil {
			_ = r
		}
		MatchHost(env, list, &Host{Name: subject})
		items := Split(list, ':')
		var q []string
		for _, it := range items {
			q = append(q, Quote(it, ':'))
		}
		_ = q
	})
}
