package transport

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func readDirFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			data, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(dir, p)
			out[rel] = string(data)
		}
		return nil
	})
	return out
}

const wantMbox = "From sender@x.org Thu Mar  7 09:05:03 2024\n" +
	"Return-path: <sender@x.org>\nEnvelope-to: rcpt@test.example\nDelivery-date: Thu, 7 Mar 2024 09:05:03 +0000\n" +
	"Subject: hi\nFrom: a@b.c\n\n>From the start\nline2\n>From x\n.\n\n"

func TestAppendfileMbox(t *testing.T) {
	dir := tempDir(t)
	tr := newTransport(t, "t:\n  driver = appendfile\n  file = "+dir+"/$local_part_data\n  return_path_add\n  envelope_to_add\n  delivery_date_add\n", "t")
	for i := 0; i < 2; i++ {
		r := deliver(t, tr, newDelivery(t, simpleMsg, "rcpt@test.example"))[0]
		if r.Status != OK {
			t.Fatalf("%v: %s", r.Status, r.Message)
		}
	}
	data, _ := os.ReadFile(filepath.Join(dir, "rcpt"))
	if string(data) != wantMbox+wantMbox {
		t.Errorf("got\n%s", data)
	}
	fi, _ := os.Stat(filepath.Join(dir, "rcpt"))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %o", fi.Mode().Perm())
	}
	uid, _ := testUser(t)
	if int(fi.Sys().(*syscall.Stat_t).Uid) != uid {
		t.Errorf("owner %d", fi.Sys().(*syscall.Stat_t).Uid)
	}
	if _, err := os.Stat(filepath.Join(dir, "rcpt.lock")); err == nil {
		t.Error("lock file left behind")
	}
}

func TestAppendfileOptions(t *testing.T) {
	cases := []struct {
		name   string
		conf   string
		status Status
		msg    string
		want   string // content of the file "rcpt"
	}{
		{name: "headers_add and remove", conf: "headers_add = X-A: 1\\nX-B: $local_part\n  headers_remove = subject\n  message_prefix =\n  message_suffix =",
			status: OK, want: "From: a@b.c\nX-A: 1\nX-B: rcpt\n\n>From the start\nline2\n>From x\n.\n"},
		{name: "body_only", conf: "body_only\n  message_prefix =\n  message_suffix =", status: OK,
			want: ">From the start\nline2\n>From x\n.\n"},
		{name: "headers_only", conf: "headers_only\n  message_prefix =\n  message_suffix =", status: OK,
			want: "Subject: hi\nFrom: a@b.c\n"},
		{name: "use_crlf", conf: "use_crlf\n  message_prefix =\n  message_suffix =\n  check_string =", status: OK,
			want: "Subject: hi\r\nFrom: a@b.c\r\n\r\nFrom the start\r\nline2\r\n>From x\r\n.\r\n"},
		{name: "use_bsmtp", conf: "use_bsmtp\n  message_prefix =\n  message_suffix =", status: OK,
			want: "MAIL FROM:<sender@x.org>\nRCPT TO:<rcpt@test.example>\nDATA\nSubject: hi\nFrom: a@b.c\n\nFrom the start\nline2\n>From x\n..\n.\n"},
		{name: "quota exceeded", conf: "quota = 50", status: Defer, msg: "mailbox is full (MTA-imposed quota exceeded while writing to DIR/rcpt)", want: ""},
		{name: "message_size_limit", conf: "message_size_limit = 10", status: Fail, msg: "message is too big (transport limit = 10)"},
		{name: "file_must_exist", conf: "file_must_exist", status: Defer, msg: "File DIR/rcpt does not exist"},
		{name: "dev null", conf: "file = /dev/null", status: OK},
		{name: "relative path", conf: "file = rel/x", status: Defer, msg: `appendfile: file or directory name "rel/x" is not absolute`},
		{name: "tainted file", conf: "file = /nonexistent/$local_part", status: Defer, msg: `Tainted '/nonexistent/rcpt' (file or directory name for t transport) not permitted`},
		{name: "tainted through an operator", conf: "file = /nonexistent/${lc:$local_part}", status: Defer, msg: `Tainted '/nonexistent/rcpt' (file or directory name for t transport) not permitted`},
		{name: "return_path option", conf: "return_path = bounces@x.org\n  return_path_add\n  message_prefix =\n  message_suffix =\n  headers_remove = *", status: OK,
			want: "Return-path: <bounces@x.org>\n\n>From the start\nline2\n>From x\n.\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := tempDir(t)
			conf := "t:\n  driver = appendfile\n  file = " + dir + "/rcpt\n  " + c.conf + "\n"
			if strings.HasPrefix(c.conf, "file =") {
				conf = "t:\n  driver = appendfile\n  " + c.conf + "\n"
			}
			tr := newTransport(t, conf, "t")
			r := deliver(t, tr, newDelivery(t, simpleMsg, "rcpt@test.example"))[0]
			if r.Status != c.status {
				t.Fatalf("status %v want %v: %s", r.Status, c.status, r.Message)
			}
			if msg := strings.ReplaceAll(c.msg, "DIR", dir); msg != "" && r.Message != msg {
				t.Errorf("message\n got %q\nwant %q", r.Message, msg)
			}
			if c.want != "" || c.status == Defer && c.msg != "" && strings.Contains(c.msg, "full") {
				data, _ := os.ReadFile(filepath.Join(dir, "rcpt"))
				if string(data) != c.want {
					t.Errorf("file\n got %q\nwant %q", data, c.want)
				}
			}
		})
	}
}

func TestAppendfileWrongOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to own a file as another user")
	}
	dir := tempDir(t)
	p := filepath.Join(dir, "rcpt")
	os.WriteFile(p, nil, 0o600)
	tr := newTransport(t, "t:\n  driver = appendfile\n  file = "+p+"\n", "t")
	r := deliver(t, tr, newDelivery(t, simpleMsg, "rcpt@test.example"))[0]
	uid, _ := testUser(t)
	want := "mailbox " + p + " has wrong uid (0 != " + itoa(uid) + ")"
	if r.Status != Defer || r.Errno != -6 || r.Message != want {
		t.Errorf("got %v %d %q", r.Status, r.Errno, r.Message)
	}
}

func itoa(n int) string { return strings.TrimSpace(strings.Repeat(" ", 0) + fmtInt(n)) }

func fmtInt(n int) string { return strconv.Itoa(n) }

func TestAppendfileLockHeld(t *testing.T) {
	dir := tempDir(t)
	p := filepath.Join(dir, "rcpt")
	os.WriteFile(p+".lock", nil, 0o600)
	tr := newTransport(t, "t:\n  driver = appendfile\n  file = "+p+"\n  lock_retries = 1\n  lock_interval = 1s\n", "t")
	r := deliver(t, tr, newDelivery(t, simpleMsg, "rcpt@test.example"))[0]
	if r.Status != Defer || !strings.Contains(r.Message, "failed to lock mailbox") {
		t.Errorf("got %v %q", r.Status, r.Message)
	}
}

func TestAppendfileMaildir(t *testing.T) {
	dir := tempDir(t)
	tr := newTransport(t, "t:\n  driver = appendfile\n  directory = "+dir+"/md\n  maildir_format\n  maildir_use_size_file\n  maildir_tag = ,S=$message_size\n  quota = 10M\n  envelope_to_add\n", "t")
	for i := 0; i < 2; i++ {
		r := deliver(t, tr, newDelivery(t, simpleMsg, "rcpt@test.example"))[0]
		if r.Status != OK {
			t.Fatalf("%v: %s", r.Status, r.Message)
		}
	}
	files := readDirFiles(t, filepath.Join(dir, "md"))
	if files["maildirsize"] != "10485760S,0C\n0 0\n87 1\n87 1\n" {
		t.Errorf("maildirsize %q", files["maildirsize"])
	}
	n := 0
	for name, content := range files {
		if strings.HasPrefix(name, "new/") {
			n++
			if !strings.HasPrefix(name, "new/1709802303.M12345") || !strings.HasSuffix(name, ".test.example,S=87") {
				t.Errorf("name %s", name)
			}
			if content != "Envelope-to: rcpt@test.example\nSubject: hi\nFrom: a@b.c\n\nFrom the start\nline2\n>From x\n.\n" {
				t.Errorf("content %q", content)
			}
		}
	}
	if n != 2 {
		t.Errorf("%d files in new: %v", n, files)
	}
}

func TestAppendfileMaildirQuota(t *testing.T) {
	dir := tempDir(t)
	tr := newTransport(t, "t:\n  driver = appendfile\n  directory = "+dir+"/mq\n  maildir_format\n  quota = 50\n", "t")
	r := deliver(t, tr, newDelivery(t, simpleMsg, "rcpt@test.example"))[0]
	if r.Status != Defer || r.Errno != -22 || r.ErrCode != ErrQuota || !strings.HasPrefix(r.Message, "mailbox is full (MTA-imposed quota exceeded while writing to tmp/1709802303.M123456P") {
		t.Errorf("got %v %d %q", r.Status, r.Errno, r.Message)
	}
	if files := readDirFiles(t, filepath.Join(dir, "mq")); len(files) != 0 {
		t.Errorf("files left: %v", files)
	}
}

func TestAppendfileMailstore(t *testing.T) {
	dir := tempDir(t)
	tr := newTransport(t, "t:\n  driver = appendfile\n  directory = "+dir+"/ms\n  mailstore_format\n", "t")
	r := deliver(t, tr, newDelivery(t, simpleMsg, "rcpt@test.example"))[0]
	if r.Status != OK {
		t.Fatalf("%v: %s", r.Status, r.Message)
	}
	files := readDirFiles(t, filepath.Join(dir, "ms"))
	base := "1rhQZS-0001AB-Cd-" + pid62(os.Getpid())
	if files[base+".env"] != "sender@x.org\nrcpt@test.example\n" || !strings.HasPrefix(files[base+".msg"], "Subject: hi\n") || len(files) != 2 {
		t.Errorf("files %v", files)
	}
}

func TestAppendfilePlainDirectory(t *testing.T) {
	dir := tempDir(t)
	tr := newTransport(t, "t:\n  driver = appendfile\n  directory = "+dir+"/pd\n", "t")
	r := deliver(t, tr, newDelivery(t, simpleMsg, "rcpt@test.example"))[0]
	if r.Status != OK {
		t.Fatalf("%v: %s", r.Status, r.Message)
	}
	files := readDirFiles(t, filepath.Join(dir, "pd"))
	for name := range files {
		if !strings.HasPrefix(name, "q") || !strings.Contains(name, "-") {
			t.Errorf("name %s", name)
		}
	}
	if len(files) != 1 {
		t.Errorf("files %v", files)
	}
}

func TestAppendfileBatch(t *testing.T) {
	dir := tempDir(t)
	tr := newTransport(t, "t:\n  driver = appendfile\n  file = "+dir+"/box\n  envelope_to_add\n  batch_max = 10\n  message_prefix =\n  message_suffix =\n", "t")
	rs := deliver(t, tr, newDelivery(t, "Subject: x\n\nb\n", "a@test.example", "b@test.example"))
	for _, r := range rs {
		if r.Status != OK {
			t.Fatal(r.Message)
		}
	}
	data, _ := os.ReadFile(filepath.Join(dir, "box"))
	if string(data) != "Envelope-to: a@test.example,\n\tb@test.example\nSubject: x\n\nb\n" {
		t.Errorf("got %q", data)
	}
}

// spareLender lends the files of one directory, as the spool's pool of
// recycled files does.
type spareLender struct {
	files []string
	lent  int
}

func (l *spareLender) TakeSpare(dir string) (string, bool) {
	if len(l.files) == 0 {
		return "", false
	}
	p := l.files[0]
	l.files = l.files[1:]
	l.lent++
	return p, true
}

// TestAppendfileMaildirSpare: a root process writes maildir files into
// lent spare files (no inode allocation) that end up exactly as new
// ones: the transport's mode, the delivery user's owner, the message
// alone (nothing of the spare's old content), and no name left in the
// lender's directory.
func TestAppendfileMaildirSpare(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("spares are used by root processes only")
	}
	dir := tempDir(t)
	pool := filepath.Join(dir, "pool")
	os.Mkdir(pool, 0o750)
	l := &spareLender{}
	for i := 0; i < 2; i++ {
		p := filepath.Join(pool, strconv.Itoa(i))
		if err := os.WriteFile(p, []byte(strings.Repeat("old spool data\n", 100)), 0o640); err != nil {
			t.Fatal(err)
		}
		l.files = append(l.files, p)
	}
	tr := newTransport(t, "t:\n  driver = appendfile\n  directory = "+dir+"/md\n  maildir_format\n  mode = 0604\n  envelope_to_add\n", "t")
	for i := 0; i < 3; i++ {
		d := newDelivery(t, simpleMsg, "rcpt@test.example")
		d.Spares = l
		if r := deliver(t, tr, d)[0]; r.Status != OK {
			t.Fatalf("%v: %s", r.Status, r.Message)
		}
	}
	if l.lent != 2 {
		t.Errorf("%d spares lent, want 2", l.lent)
	}
	if ents, _ := os.ReadDir(pool); len(ents) != 0 {
		t.Errorf("lender's directory still holds %d files", len(ents))
	}
	uid, gid := testUser(t)
	ents, _ := os.ReadDir(filepath.Join(dir, "md", "new"))
	if len(ents) != 3 {
		t.Fatalf("%d files in new/, want 3", len(ents))
	}
	for _, e := range ents {
		p := filepath.Join(dir, "md", "new", e.Name())
		data, _ := os.ReadFile(p)
		if string(data) != "Envelope-to: rcpt@test.example\nSubject: hi\nFrom: a@b.c\n\nFrom the start\nline2\n>From x\n.\n" {
			t.Errorf("%s: content %q", e.Name(), data)
		}
		fi, _ := os.Stat(p)
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode().Perm() != 0o604 || int(st.Uid) != uid || int(st.Gid) != gid || st.Nlink != 1 {
			t.Errorf("%s: mode %o owner %d:%d links %d", e.Name(), fi.Mode().Perm(), st.Uid, st.Gid, st.Nlink)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "md", "tmp")); len(ents) != 0 {
		t.Errorf("tmp/ holds %d files", len(ents))
	}
}
