package lookup

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixtureFiles are the lookup files the table and oracle tests share.
var fixtureFiles = map[string]string{
	"ls.txt": `# comment
alice: alice@example.com
Bob   bob data  
  continued here
# comment inside

   and more
carol
dave:
"quoted key": qdata
"esc\"aped" : escdata
"col:on" colondata
"hex\x41\101\n" hexdata
baduser:  :fail:
*.fict.example: partialdata
*.example: exampledata
*@dom.example: atdomdata
.b.c: dotdata
b.c: bcdata
K11 upper
k5 :a: b 	
k2
  cont2
k1 data1
  
  cont1
a4 d
	 more
"unterminated
`,
	"star.txt": "*: stardata\nx: xdata\n",
	"wild.txt": `*.a.b.c   ends-abc
*fish     fishy
^\N\d+\.a\.b\N   digits
^(?-i)CASE\d  casesens
"^x y"    quotedre
lsearch;DIR/star.txt  nested
plain    plaindata
`,
	"wildbad.txt": "plain2 p2\n${lc:UPPER}  expanded\n",
	"nwild.txt":   "*.a.b.c   ends-abc\n^\\d+\\.a\\.b   digits\nfoo\\N  literal\n*  anything\n",
	"ip.txt": `1.2.3.4:           data for 1.2.3.4
192.168.0.0/16:    data for 192.168.0.0/16
"abcd::cdab":      data for abcd::cdab
"abcd:abcd::/32"   data for abcd:abcd::/32
10.0.0.0/8
not-an-ip  skipped
0.0.0.0/0  everything
`,
	"ip6only.txt": "\"::/0\" any6\n",
}

// fixture writes the shared files into a new directory (mode 0755 so
// Exim can read them) and returns it.
func fixture(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range fixtureFiles {
		writeFile(t, dir, name, strings.ReplaceAll(content, "DIR", dir))
	}
	if err := os.MkdirAll(filepath.Join(dir, "dd", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "dd/file1", "")
	if err := os.Symlink("file1", filepath.Join(dir, "dd", "link1")); err != nil {
		t.Fatal(err)
	}
	writeCDB(t, filepath.Join(dir, "db.cdb"), [][2]string{
		{"alice", "cdb-alice"}, {"Bob", "cdb-bob"}, {"dup", "first"}, {"dup", "second"},
		{"*.fict.example", "cdb-partial"}, {"*", "cdb-star"}, {"*@dom.example", "cdb-atdom"},
		{"empty", ""},
	})
	db, err := sql.Open("sqlite", filepath.Join(dir, "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, stmt := range []string{
		`create table t(id text, name text, home text, n integer, e text)`,
		`insert into t values('userx','Mister X','/home/userx',5,'')`,
		`insert into t values('usery','Y','/h/y',NULL,'a"b')`,
		`insert into t values('userz','it''s','/h/z',7,'x')`,
		`insert into t values('w','a "q" b','x\y z',1,'a\b')`,
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
