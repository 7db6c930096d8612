package router_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// mailboxItems are redirection items, good and malformed, whose
// addresses or error texts -bt shows.
var mailboxItems = []string{
	`<bad`, `<bad@x`, `bad@`, `a b`, `<a@b`, `@x`, `a@b>`, `"unterminated`, `a@b c`, `a@[1.2.3`,
	`a..b@c`, `Name <a@b`, `a@b, <c`, `<bad x`, `<bad.x`, `<bad>`, `<bad.>`, `<bad@x y`, `<bad x>`,
	`<bad@>`, `<"q`, `"q" x`, "a@b  c", "a@b\tc", `a@b (c) d`, `<a@b> c`, `a@[1.2.3] x`, `a@[1.2.3]x`,
	`a@b.c.  d`, `a.b c`, `a."b c`, `N <a b>`, `<@r:a@b`, `a. b@c`, `a .b@c`, `a@b .c`, `a@ b`,
	`a @b`, `a@b. `, `a@b.(x)c`, `<a. b@c>`, `<a@b. c>`, `<a@b . c>`, `<a (x) @b>`, `<>`, `< >`,
	`<a@b>>`, `x<a@b>`, `"a b"@c`, `"a\"b"@c`, `a"b"@c`, `(c) a@b`, `a@b (c <d>)`, `"x <y>" a@b`,
	`"N" <n@e.org>`, `a(x)@b`, `.a@b`, `a.@b`, `a@-b`, `a@b_c`, `a@b-c`, `a@b-`, `a@b.-c`, `a@b!c`,
	`a@1b`, `a@b+c`, `a@é`, `a@b/c`, `a . b@c`, `..@c`, `a@b..c`, `a@.b`, `<a@[1.2.3.4]>`,
	`a@[1.2.3.4]`, `a\b@c`, `a\ b@c`, `a\\ b@c`, `a\@c`, `\x@y`, `\x`, `\\x`, `"a@b"@c`,
}

// TestMailboxDifferential routes an address through a redirect file
// holding each item in turn, with and without allow_domain_literals,
// and compares -bt of real Exim and exigo.
func TestMailboxDifferential(t *testing.T) {
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	fwd := filepath.Join(dir, "fwd")
	for _, lit := range []string{"", "allow_domain_literals\n"} {
		conf := filepath.Join(dir, "conf")
		text := "primary_hostname = test.example\n" + lit + "begin routers\nfwd:\n  driver = redirect\n  file = " + fwd + "\n"
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, item := range mailboxItems {
			if err := os.WriteFile(fwd, []byte(item+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			want := oracletest.Run(t, exim, "", "-C", conf, "-bt", "x@test.example")
			got := oracletest.Run(t, exigo, "", "-C", conf, "-bt", "x@test.example")
			if got.Stdout != want.Stdout || got.Code != want.Code {
				t.Errorf("%s%q:\nexim (rc=%d):\n%s\nexigo (rc=%d):\n%s", lit, item, want.Code, want.Stdout, got.Code, got.Stdout)
			}
		}
	}
}
