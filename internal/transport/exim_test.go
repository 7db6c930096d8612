package transport

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/oracletest"
	"github.com/exigo-mta/exigo/internal/spool"
)

// eximConf delivers every local part in the list with the transport of
// the same name; MAIL is a macro so that Exim and exigo write to
// different directories.
const eximConf = `spool_directory = SPOOL
log_file_path = SPOOL/log/%slog
exim_user = root
exim_group = root
primary_hostname = test.example
qualify_domain = test.example
keep_environment =
begin routers
r1:
  driver = accept
  local_parts = mbox : md : hdrs : crlf : bsmtp : nofrom
  transport = $local_part_data
begin transports
mbox:
  driver = appendfile
  file = MAIL/$local_part_data
  user = nobody
  envelope_to_add
  return_path_add
  delivery_date_add
md:
  driver = appendfile
  directory = MAIL/md
  maildir_format
  maildir_tag = ,S=$message_size
  maildir_use_size_file
  quota = 1M
  user = nobody
  envelope_to_add
  return_path_add
hdrs:
  driver = appendfile
  file = MAIL/$local_part_data
  user = nobody
  headers_add = X-Added: $local_part_data\nX-Two: two
  headers_remove = subject : x-*
  return_path = verp-$local_part_data@x.org
  return_path_add
crlf:
  driver = appendfile
  file = MAIL/$local_part_data
  user = nobody
  use_crlf
bsmtp:
  driver = appendfile
  file = MAIL/$local_part_data
  user = nobody
  use_bsmtp
nofrom:
  driver = appendfile
  file = MAIL/$local_part_data
  user = nobody
  check_string =
  message_prefix =
  message_suffix = --end--\n
`

var eximMessages = []struct{ name, sender, text string }{
	{"plain", "sender@x.org", "Subject: hi\nFrom: a@b.c\nX-Foo: bar\n\nFrom the start\nline2\n>From x\n.\n..\n"},
	{"bounce", "", "Subject: bounce\nTo: someone@x.org\n\nbody\n"},
	{"folded", "s@x.org", "Subject: a long\n  folded subject\nX-Long: a\n\tb\n\nlast line without newline"},
	{"empty body", "s@x.org", "Subject: nobody\n\n"},
}

var eximMask = []*regexp.Regexp{
	regexp.MustCompile(`(?m)^From (\S+) [A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d \d{4}$`),
	regexp.MustCompile(`(?m)^Delivery-date: .*$`),
	regexp.MustCompile(`\d{10}\.M\d+P\d+`),
}

func mask(s string) string {
	s = eximMask[0].ReplaceAllString(s, "From $1 DATE")
	s = eximMask[1].ReplaceAllString(s, "Delivery-date: DATE")
	return eximMask[2].ReplaceAllString(s, "TIME.MUSECPPID")
}

// TestEximAppendfile delivers the same messages with real Exim and with
// the transports, and compares the mailbox files.
func TestEximAppendfile(t *testing.T) {
	exim := oracletest.Exim(t)
	if os.Geteuid() != 0 {
		oracletest.Missing(t, "root (to run Exim with -C)")
	}
	base := t.TempDir()
	os.Chmod(filepath.Dir(base), 0o755)
	os.Chmod(base, 0o755)
	spoolDir := filepath.Join(base, "spool")
	confPath := filepath.Join(base, "exim.conf")
	os.WriteFile(confPath, []byte(strings.ReplaceAll(eximConf, "SPOOL", spoolDir)), 0o644)
	eximMail, ourMail := filepath.Join(base, "exim"), filepath.Join(base, "ours")
	for _, d := range []string{eximMail, ourMail} {
		os.Mkdir(d, 0o777)
		os.Chmod(d, 0o777)
	}
	cfg, err := config.Load(confPath, config.Options{Macros: []config.Macro{{Name: "MAIL", Value: ourMail}}})
	if err != nil {
		t.Fatal(err)
	}
	rcpts := []string{"mbox", "md", "hdrs", "crlf", "bsmtp", "nofrom"}
	for _, m := range eximMessages {
		// Queue with Exim, keep copies of the spool files, deliver.
		args := []string{"-C", confPath, "-DMAIL=" + eximMail, "-odq", "-oi", "-f", m.sender}
		for _, r := range rcpts {
			args = append(args, r+"@test.example")
		}
		cmd := exec.Command(exim, args...)
		cmd.Stdin = strings.NewReader(m.text)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: exim: %v %s", m.name, err, out)
		}
		ents, _ := os.ReadDir(filepath.Join(spoolDir, "input"))
		var id string
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), "-H") {
				id = strings.TrimSuffix(e.Name(), "-H")
			}
		}
		hdata, err := os.ReadFile(filepath.Join(spoolDir, "input", id+"-H"))
		if err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
		ddata, _ := os.ReadFile(filepath.Join(spoolDir, "input", id+"-D"))
		dcopy := filepath.Join(base, id+"-D")
		os.WriteFile(dcopy, ddata, 0o600)
		if out, err := exec.Command(exim, "-C", confPath, "-DMAIL="+eximMail, "-M", id).CombinedOutput(); err != nil || os.Getenv("EXIM_DEBUG") != "" {
			log, _ := os.ReadFile(filepath.Join(spoolDir, "log", "mainlog"))
			t.Logf("%s", log)
			t.Fatalf("%s: exim -M: %v %s", m.name, err, out)
		}
		// The same with the transports.
		h, err := spool.Parse(hdata)
		if err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
		f, _ := os.Open(dcopy)
		body, err := BodyReader(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rcpts {
			tr, err := New(cfg, cfg.Transport(r))
			if err != nil {
				t.Fatal(err)
			}
			now := func() time.Time { return time.Now() }
			d := &Delivery{Header: h, Body: body, BodySize: body.Size(), Now: now, Router: "r1",
				Addresses: []Address{{Address: r + "@test.example", LocalPart: r, Domain: "test.example", UID: -1, GID: -1}},
				Ctx:       &expand.Context{Vars: expand.VarMap{"local_part": r, "local_part_data": r, "domain": "test.example"}, Now: now}}
			if res := deliver(t, tr, d)[0]; res.Status != OK {
				t.Errorf("%s %s: %v %s", m.name, r, res.Status, res.Message)
			}
		}
		f.Close()
	}
	want, got := readDirFiles(t, eximMail), readDirFiles(t, ourMail)
	names := func(m map[string]string) []string {
		var out []string
		for k := range m {
			out = append(out, mask(k))
		}
		sort.Strings(out)
		return out
	}
	if w, g := strings.Join(names(want), " "), strings.Join(names(got), " "); w != g {
		t.Errorf("files differ:\nexim:  %s\nexigo: %s", w, g)
	}
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			// maildir names differ by time and pid: compare by content.
			continue
		}
		if mask(w) != mask(g) {
			t.Errorf("%s differs:\nexim:\n%s\nexigo:\n%s", name, w, g)
		}
	}
	var wmd, gmd []string
	for name, c := range want {
		if strings.HasPrefix(name, "md/new/") {
			wmd = append(wmd, mask(c))
		}
	}
	for name, c := range got {
		if strings.HasPrefix(name, "md/new/") {
			gmd = append(gmd, mask(c))
		}
	}
	sort.Strings(wmd)
	sort.Strings(gmd)
	if strings.Join(wmd, "\x00") != strings.Join(gmd, "\x00") {
		t.Errorf("maildir messages differ:\nexim:\n%s\nexigo:\n%s", strings.Join(wmd, "----\n"), strings.Join(gmd, "----\n"))
	}
}
