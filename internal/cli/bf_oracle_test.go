package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// bfCase is one differential filter test.
type bfCase struct {
	args    []string
	filter  string
	message string
}

// loadBFCases reads testdata/bf_cases.txt.
func loadBFCases(t *testing.T) []bfCase {
	t.Helper()
	b, err := os.ReadFile("testdata/bf_cases.txt")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	i := strings.Index(text, "\n=== messages\n")
	if i < 0 {
		t.Fatal("no messages section")
	}
	msgs := map[string]string{}
	for _, part := range strings.Split(text[i+len("\n=== messages\n"):], "--- ")[1:] {
		name, body, _ := strings.Cut(part, "\n")
		msgs[name] = body
	}
	var cases []bfCase
	for _, part := range strings.Split(text[:i+1], "\n=== ")[1:] {
		head, rest, _ := strings.Cut(part, "\n")
		j := strings.LastIndex(rest, "--- ")
		if j < 0 {
			t.Fatalf("case %q has no message", head)
		}
		name := strings.TrimSpace(rest[j+4:])
		msg, ok := msgs[name]
		if !ok {
			t.Fatalf("unknown message %q", name)
		}
		cases = append(cases, bfCase{args: strings.Fields(head), filter: rest[:j], message: msg})
	}
	return cases
}

// TestFilterTestOracle runs each filter file with -bf or -bF through
// exigo and Exim and compares everything they print.
func TestFilterTestOracle(t *testing.T) {
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	conf := oracletest.WriteConfig(t, "primary_hostname = test.example\nqualify_domain = test.example\n")
	dir := t.TempDir()
	cases := loadBFCases(t)
	if len(cases) < 40 {
		t.Fatalf("only %d cases", len(cases))
	}
	for n, c := range cases {
		t.Run(fmt.Sprintf("%02d", n), func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprintf("filter%02d", n))
			if err := os.WriteFile(path, []byte(c.filter), 0o644); err != nil {
				t.Fatal(err)
			}
			args := []string{"-C", conf}
			for _, a := range c.args {
				args = append(args, a)
				if a == "-bf" || a == "-bF" {
					args = append(args, path)
				}
			}
			want := oracletest.Run(t, exim, c.message, args...)
			got := oracletest.Run(t, exigo, c.message, args...)
			if got != want {
				t.Errorf("filter:\n%s\nexim:\n%s%s(exit %d)\nexigo:\n%s%s(exit %d)",
					c.filter, want.Stdout, want.Stderr, want.Code, got.Stdout, got.Stderr, got.Code)
			}
		})
	}
}

// TestRedirectFilterOracle routes addresses through a redirect router
// whose data is an Exim filter (allow_filter) with -bt in exigo and Exim.
func TestRedirectFilterOracle(t *testing.T) {
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	conf := oracletest.WriteConfig(t, `primary_hostname = test.example
qualify_domain = test.example
begin routers
r1:
  driver = redirect
  allow_filter
  user = root
  data = ${if eq{$local_part}{a}{#Exim filter\ndeliver x@y.z\nunseen deliver w@v.u\nsave /tmp/f\npipe "/bin/cat"}{${if eq{$local_part}{c}{#Exim filter\nif\n}{${if eq{$local_part}{d}{#Exim filter\ntestprint x}{${if eq{$local_part}{e}{# Exim filter\nif $local_part is e then deliver e2@x.y endif}fail}}}}}}}
  file_transport = t
  pipe_transport = t
r2:
  driver = accept
  transport = t
begin transports
t:
  driver = appendfile
  file = /dev/null
`)
	for _, a := range []string{"a@test.example", "c@test.example", "d@test.example", "e@test.example", "f@test.example"} {
		want := oracletest.Run(t, exim, "", "-C", conf, "-bt", a)
		got := oracletest.Run(t, exigo, "", "-C", conf, "-bt", a)
		if got != want {
			t.Errorf("-bt %s:\nexim:\n%s%s(exit %d)\nexigo:\n%s%s(exit %d)", a, want.Stdout, want.Stderr, want.Code, got.Stdout, got.Stderr, got.Code)
		}
	}
}
