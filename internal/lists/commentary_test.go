package lists

import (
	"bytes"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/debug"
)

// TestCommentary checks the list lines that -bh shows: a named list result
// from the cache ends in "- cached", a negated item keeps its text, and an
// address item's domain part is reported as a one-item domain list.
func TestCommentary(t *testing.T) {
	named := func(k Kind, name string) (Named, bool) {
		switch name {
		case "local":
			return Named{Value: "test.example"}, true
		case "good":
			return Named{Value: "a@b.c : *@good.example"}, true
		}
		return Named{}, false
	}
	tests := []struct {
		name string
		run  func(env *Env) error
		want []string
	}{
		{"cached", func(env *Env) error {
			if _, err := MatchDomain(env, "+local", "test.example"); err != nil {
				return err
			}
			_, err := MatchDomain(env, "+local", "test.example")
			return err
		}, []string{
			`test.example in "test.example"? yes (matched "test.example")`,
			`test.example in "+local"? yes (matched "+local")`,
			`test.example in "+local"? yes (matched "+local" - cached)`,
		}},
		{"negated", func(env *Env) error {
			_, err := MatchDomain(env, "! +local", "test.example")
			return err
		}, []string{
			`test.example in "test.example"? yes (matched "test.example")`,
			`test.example in "! +local"? no (matched "! +local")`,
		}},
		{"address domain", func(env *Env) error {
			_, err := MatchAddress(env, "x@b.c : *@good.example : a@b.c", "a@b.c", false)
			return err
		}, []string{
			`b.c in "good.example"? no (end of list)`,
			`b.c in "b.c"? yes (matched "b.c")`,
			`a@b.c in "x@b.c : *@good.example : a@b.c"? yes (matched "a@b.c")`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			env := &Env{NamedList: named, Cache: NewCache(), Debug: debug.New(debug.Lists, &buf)}
			if err := tt.run(env); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
				if InCommentary(l) {
					got = append(got, strings.TrimPrefix(l, " "))
				}
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
