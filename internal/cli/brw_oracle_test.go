package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// brwConfigs are configurations for the -brw differential test; DIR is
// replaced by a directory holding the lookup files of brwFiles.
var brwConfigs = []string{
	// 0: every type flag on its own domain.
	`qualify_domain = q.example
begin rewrite
*@s.example  $1@sx.example  s
*@f.example  $1@fx.example  f
*@t.example  $1@tx.example  t
*@c.example  $1@cx.example  c
*@b.example  $1@bx.example  b
*@r.example  $1@rx.example  r
*@ef.example  $1@efx.example  F
*@et.example  $1@etx.example  T
*@e.example  $1@ex.example  E
*@h.example  $1@hx.example  h
*@mix.example  $1@mixx.example  bc tF
*@all.example  $1@allx.example
^(.*)@smtp\.example\$  $1@smtpx.example  S
*@hitch.example  ${lookup{$1}lsearch{DIR/names}{$value}fail}@hitch.example  bctfrF
*@*.hitch.example  $1@hitch.example
`,
	// 1: regular expressions, control flags, forced failure, "*".
	`begin rewrite
^(?i)([a-z]+)\.([a-z]+)@dom\.example\$  $2.$1@dom.example  R
^(.*)x(.*)@rq\.example\$  $1$2@rq.example  Rq
*@rq.example  after@rq.example
*@w.example  "Whole Name <w@whole.example>"  w
*@wf.example  "Whole <wf@whole.example>"  wf
*@fail.example  "${if eq{1}{2}{x}fail}"  q
*@fail.example  after@x.example
*@fail2.example  "${if eq{1}{2}{x}fail}"
*@fail2.example  after2@x.example
*@bad.example  "${if eq{1}{2}{x}}"
*@q.example  local  Q
*@nq.example  local
*@loop.example  a$1@loop.example  R
*@star.example  *
*@star.example  nope@x.example
root@*.chain.example  *
*@*.chain.example  $1@chain.example
*@chain.example  $local_part-$domain@final.example
*queen@*.fict.example  $1+$2+$0@cards.example
*@p.example "Phr <$1@pp.example> (cmt)"
\N^([^!]+)!(.*)@bang\.example$\N   $2@$1
`,
	// 2: lookups.
	`begin rewrite
*@c.example  "${lookup{$local_part}lsearch{DIR/map}}"
*@lsearch;DIR/dommap  $1@mapped.example
lsearch;DIR/addrmap  whole@mapped.example
*@partial-lsearch;DIR/pmap  $1.$2.$3@partial.example
`,
	// 3: SMTP-time rules and pattern expansion failures.
	`begin rewrite
^(.*)@smtp\.example\$  $1@smtpx.example  S
^<(.*)>\$  <$1@ang.example>  S
^(.*)@sq\.example\$  "${if eq{1}{2}{}fail}"  S
^(.*)@sb\.example\$  "<$1@sbx.example>"  S
*@bp$.example  x@y
*@bp2.example  x@y$
`,
	// 4: abandoned rewrites, Q with w, named lists, negation, many
	// captures, h, lookups in the replacement, R limits.
	`addresslist friends = a@friend.example : *@pals.example
begin rewrite
*@abandon.example  local
*@abandon.example  z@z.example
*@xfail.example  "${substr{x}{1}{2}}"
*@xfail.example  z@z.example
*@qw.example  "Name <qlocal>"  Qw
+friends  $local_part@friends.example
!*@notme.example  $local_part@neg.example  T
^(.)(.)(.)(.)(.)(.)(.)(.)(.)(.)(.)@ten\.example\$  $11$10@ten.example
*@hdr.example  "$local_part@h.example"  h
*@*  "${if eq{$domain}{dolk.example}{found@lk.example}fail}"
^ab*@r11\.example\$  ${sg{$0}{b@}{@}}  R
`,
	// 5: an unclosed quote runs to the end of the line.
	`begin rewrite
*@a.example  "b@c  f
`,
	// 6: the S flag needs a regular expression.
	`begin rewrite
*@a.example  b@c  S
`,
	// 7: no rewrite section.
	`primary_hostname = prim.example
`,
}

var brwFiles = map[string]string{
	"names":   "fp42: Ford.Prefect\n",
	"map":     "u1: u1new@c2.example\n",
	"dommap":  "dm.example: x\n*.wild.example: y\n",
	"addrmap": "full@a.example: 1\n",
	"pmap":    "*.baz.example: 1\nexact.example: 2\n",
}

var brwCases = []struct {
	conf int
	arg  string
}{
	{0, "u@s.example"}, {0, "u@f.example"}, {0, "u@t.example"}, {0, "u@c.example"},
	{0, "u@b.example"}, {0, "u@r.example"}, {0, "u@ef.example"}, {0, "u@et.example"},
	{0, "u@e.example"}, {0, "u@h.example"}, {0, "u@mix.example"}, {0, "u@all.example"},
	{0, "u@smtp.example"}, {0, "fp42@hitch.example"}, {0, "fp42@x.hitch.example"},
	{0, "other@x.hitch.example"}, {0, "Ford <fp42@x.hitch.example>"}, {0, "fp42"},
	{0, "u@S.Example"}, {0, "U@s.example"}, {0, "no@where.example"},
	// Address syntax, as Exim's -brw parses and rebuilds it.
	{0, "a@b@c"},
	{0, "a@"},
	{0, "<a@b"},
	{0, "a b@c"},
	{0, "(comment only)@x"},
	{0, "\"unterminated@x"},
	{0, "a@b."},
	{0, "a@.b"},
	{0, "a@b..c"},
	{0, "a@[1.2"},
	{0, "<a@b> trailing"},
	{0, "grp: a@b;"},
	{0, "a.@b"},
	{0, ".a@b"},
	{0, "a@b (c"},
	{0, "Fred <<a@b>>"},
	{0, "<@r1,@r2:u@d.example>"},
	{0, "a(x)@b"},
	{0, "A@B.EXAMPLE"},
	{0, "a@b,"},
	{0, "Fr\"ed <a@b>"},
	{0, "a\\b@c"},
	{0, "<a@b>,<c@d>"},
	{0, "a@b>"},
	{0, "a<b@c"},
	{0, "Fred (x) <a@b> y"},
	{0, "a . b @ c . d"},
	{0, "\"a b\" . c@d"},
	{0, "Fred <a@b"},
	{0, "a@b c"},
	{0, "<a@b (c)>"},
	{0, "<a@b x>"},
	{0, "<a@b >"},
	{0, "<a@b (c) >"},
	{0, "Fred<a@b>"},
	{0, "  a@b  "},
	{0, "<a@b> (c)"},
	{0, "Fred (x) <fp42@x.hitch.example> (y)"},
	{1, "john.smith@dom.example"}, {1, "John.Smith@DOM.example"}, {1, "axxb@rq.example"},
	{1, "ab@rq.example"}, {1, "x@w.example"}, {1, "Fred <x@w.example>"},
	{1, "Fred <x@wf.example>"}, {1, "x@fail.example"}, {1, "x@fail2.example"},
	{1, "x@bad.example"}, {1, "x@q.example"}, {1, "x@nq.example"}, {1, "x@loop.example"},
	{1, "x@star.example"}, {1, "root@a.chain.example"}, {1, "joe@a.chain.example"},
	{1, "Joe@Chain.Example"}, {1, "hearts-queen@wonderland.fict.example"},
	{1, "joe@p.example (comment)"}, {1, `"Joe, Bloggs" <joe@p.example>`},
	{1, "Joe (c1) <joe@p.example> (c2)"}, {1, "host.name!user@bang.example"},
	{1, "a@b, c@d"}, {1, "<>"}, {1, ""}, {1, `"quoted lp"@x`}, {1, "x@[1.2.3.4]"},
	{1, "<x@star.example>"},
	{2, "u1@c.example"}, {2, "u2@c.example"}, {2, "joe@dm.example"}, {2, "Joe@DM.EXAMPLE"},
	{2, "joe@x.wild.example"}, {2, "full@a.example"}, {2, "Full@A.example"},
	{2, "foo@bar.baz.example"}, {2, "foo@exact.example"},
	{3, "u@smtp.example"}, {3, "x@y.example"}, {3, "<a@b>"}, {3, "Fred <u@smtp.example>"},
	{3, "u"}, {3, "x@sq.example"}, {3, "x@bp2.example"}, {3, "x@sb.example"},
	{4, "x@abandon.example"}, {4, "x@xfail.example"}, {4, "Fred <x@qw.example>"},
	{4, "a@friend.example"}, {4, "b@pals.example"}, {4, "c@notme.example"}, {4, "d@yes.example"},
	{4, "abcdefghijk@ten.example"}, {4, "Bob (c) <b@hdr.example>"}, {4, "u@dolk.example"},
	{4, "abbbbbbbbbb@r11.example"}, {4, "abbbbbbbbbbbbb@r11.example"},
	{5, "a@a.example"}, {6, "a@a.example"},
	{7, "a@b.example"}, {7, "local"},
}

// TestRewriteTestOracle compares -brw with Exim 4.96's.
func TestRewriteTestOracle(t *testing.T) {
	exim := oracletest.Exim(t)
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, text := range brwFiles {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var confs []string
	for _, c := range brwConfigs {
		confs = append(confs, oracletest.WriteConfig(t, strings.ReplaceAll(c, "DIR", dir)))
	}
	for _, c := range brwCases {
		args := []string{"-C", confs[c.conf], "-brw", c.arg}
		t.Run(c.arg, func(t *testing.T) {
			want := oracletest.Run(t, exim, "", args...)
			var out, errb bytes.Buffer
			code := Main(append([]string{"exim"}, args...), strings.NewReader(""), &out, &errb)
			if got := out.String(); got != want.Stdout {
				t.Errorf("stdout:\n got %q\nwant %q", got, want.Stdout)
			}
			if g, w := logDate.ReplaceAllString(errb.String(), ""), logDate.ReplaceAllString(want.Stderr, ""); g != w {
				t.Errorf("stderr:\n got %q\nwant %q", g, w)
			}
			if code != want.Code {
				t.Errorf("exit code %d, want %d", code, want.Code)
			}
		})
	}
}
