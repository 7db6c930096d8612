package mainlog

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseSelector(t *testing.T) {
	cases := []struct {
		in      string
		want    Selector
		wantErr string
	}{
		{"", DefaultSelector, ""},
		{"+all", SelAll, ""},
		{"+all -pid", SelAll &^ SelPID, ""},
		{"+all-pid", SelAll &^ SelPID, ""},
		{"+pid +subject", DefaultSelector | SelPID | SelSubject, ""},
		{"-retry_defer", DefaultSelector &^ SelRetryDefer, ""},
		{"+foo", 0, "unknown log_selector setting: +foo"},
		{"+pid +", 0, "unknown log_selector setting: +"},
		{"foo", 0, "malformed log_selector setting: + or - expected but found \"foo\""},
	}
	for _, c := range cases {
		got, err := ParseSelector(c.in)
		if c.wantErr != "" {
			if err == nil || err.Error() != c.wantErr {
				t.Errorf("ParseSelector(%q) error = %v, want %q", c.in, err, c.wantErr)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseSelector(%q) = %x, %v; want %x", c.in, got, err, c.want)
		}
	}
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 27, 8, 5, 9, 123e6, time.UTC)
	l, err := New(Options{
		FilePath: filepath.Join(dir, "%slog-%D"),
		Selector: DefaultSelector | SelPID | SelMillisec,
		Now:      func() time.Time { return now },
		PID:      42,
		UTC:      true,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Mainf("%s <= %s", "1xWrH7-0006GA-2j", "a@b"); err != nil {
		t.Fatal(err)
	}
	l.Panicf("something bad")
	l.RejectWithHeaders("H=[1.2.3.4] rejected RCPT <x@y>: no", []string{"Envelope-from: <a@b>", "T To: x@y"})
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name+"-20261127"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	stamp := "2026-11-27 08:05:09.123 [42] "
	wantMain := stamp + "1xWrH7-0006GA-2j <= a@b\n" + stamp + "something bad\n" + stamp + "H=[1.2.3.4] rejected RCPT <x@y>: no\n"
	if got := read("mainlog"); got != wantMain {
		t.Errorf("mainlog:\n%s\nwant:\n%s", got, wantMain)
	}
	if got := read("paniclog"); got != stamp+"something bad\n" {
		t.Errorf("paniclog: %q", got)
	}
	if got := read("rejectlog"); !strings.HasSuffix(got, "no\nEnvelope-from: <a@b>\nT To: x@y\n") {
		t.Errorf("rejectlog: %q", got)
	}
}

// TestRejectedHeader checks that the reject log has the header lines
// only under log_selector's rejected_header.
func TestRejectedHeader(t *testing.T) {
	for _, c := range []struct {
		sel  Selector
		want string
	}{
		{DefaultSelector, "T x\nEnvelope-from: <a@b>\nP Received: y\n"},
		{DefaultSelector &^ SelRejectedHeader, "T x\n"},
	} {
		dir := t.TempDir()
		now := time.Date(2026, 11, 27, 8, 5, 9, 0, time.UTC)
		l, err := New(Options{FilePath: filepath.Join(dir, "%slog"), Selector: c.sel, Now: func() time.Time { return now }, UTC: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.RejectWithHeaders("x", []string{"Envelope-from: <a@b>", "P Received: y\n"}); err != nil {
			t.Fatal(err)
		}
		l.Close()
		b, _ := os.ReadFile(filepath.Join(dir, "rejectlog"))
		if got := strings.ReplaceAll(string(b), "2026-11-27 08:05:09", "T"); got != c.want {
			t.Errorf("selector %x: reject log %q, want %q", c.sel, got, c.want)
		}
		m, _ := os.ReadFile(filepath.Join(dir, "mainlog"))
		if string(m) != "2026-11-27 08:05:09 x\n" {
			t.Errorf("main log %q", m)
		}
	}
}

// TestChown checks that a log file created with Chown gets the owner
// (only root can give files away; as another user the owner is ours).
func TestChown(t *testing.T) {
	dir := t.TempDir()
	uid, gid := os.Getuid(), os.Getgid()
	if uid == 0 {
		uid, gid = 65534, 65534
	}
	l, err := New(Options{FilePath: filepath.Join(dir, "%slog"), Chown: true, OwnerUID: uid, OwnerGID: gid})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Write("x", Main); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "mainlog"))
	if err != nil {
		t.Fatal(err)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && (int(st.Uid) != uid || int(st.Gid) != gid) {
		t.Errorf("owner %d:%d, want %d:%d", st.Uid, st.Gid, uid, gid)
	}
}
