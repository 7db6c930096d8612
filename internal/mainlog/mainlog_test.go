package mainlog

import (
	"os"
	"path/filepath"
	"strings"
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
