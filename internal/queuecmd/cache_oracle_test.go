package queuecmd_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/queuecmd"
)

// TestCacheAgainstExim lists a spool with the listing cache, changes it
// in every way that matters (Exim's and exigo's -M commands, a new
// message, a removal, a journal, a damaged cache file) and compares each
// listing with Exim's. The spool has directories that cannot be cached
// (a -J file, a -H file that does not parse) beside ordinary ones.
func TestCacheAgainstExim(t *testing.T) {
	needExim(t)
	conf, ids := makeGeneratedSpool(t)
	spoolDir := filepath.Join(filepath.Dir(conf), "spool")
	cacheFile := filepath.Join(spoolDir, "db", queuecmd.CacheFile)
	input := filepath.Join(spoolDir, "input")
	hpath := func(id string) string { return filepath.Join(input, id[5:6], id+"-H") }
	// The steps freeze, thaw and edit messages that are not frozen: the
	// generated queue's ids (and so which of them are frozen) depend on
	// the time it was made.
	var plain []string
	for _, id := range ids {
		if b, err := os.ReadFile(hpath(id)); err == nil && !strings.Contains(string(b), "\n-frozen ") {
			plain = append(plain, id)
		}
	}
	if len(plain) < 21 {
		t.Fatalf("only %d messages are not frozen", len(plain))
	}
	// Directories are cached only once their timestamps are 2 s old.
	time.Sleep(2100 * time.Millisecond)
	compare := func(step string, modes ...string) {
		t.Helper()
		if len(modes) == 0 {
			modes = []string{"-bp", "-bpa", "-bpu", "-bpc"}
		}
		for _, mode := range modes {
			want, wrc := runExim(t, conf, mode)
			got, grc := runExigo("exim", "-C", conf, mode)
			if want != got || wrc != grc {
				t.Fatalf("%s, %s: exim rc=%d, exigo rc=%d; first difference:\n%s", step, mode, wrc, grc, firstDiff(want, got))
			}
		}
	}
	exim := func(args ...string) {
		t.Helper()
		cmd := exec.Command("exim", append([]string{"-C", conf}, args...)...)
		cmd.Stdin = strings.NewReader("Subject: new\n\nbody\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("exim %v: %v\n%s", args, err, out)
		}
	}
	exigo := func(args ...string) {
		t.Helper()
		if out, rc := runExigo(append([]string{"exim", "-C", conf}, args...)...); rc != 0 {
			t.Fatalf("exigo %v: rc=%d\n%s", args, rc, out)
		}
	}
	used := func(step string) {
		t.Helper()
		if c, _ := queuecmd.ListedFromCache(spoolDir); c == 0 {
			t.Fatalf("%s: no directory listed from the cache", step)
		}
	}
	firstRecipient := func(id string) string {
		out, _ := runExigo("exim", "-C", conf, "-bp", id)
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "          ") {
				return strings.TrimSpace(l)
			}
		}
		t.Fatalf("%s has no undelivered recipient", id)
		return ""
	}

	compare("cold")
	if _, err := os.Stat(cacheFile); err != nil {
		t.Fatalf("no cache written: %v", err)
	}
	used("warm")
	compare("warm")
	steps := []struct {
		name string
		do   func()
	}{
		{"exim -Mf", func() { exim("-Mf", plain[10]) }},
		{"exigo -Mf", func() { exigo("-Mf", plain[11]) }},
		{"exim -Mt", func() { exim("-Mt", plain[10]) }},
		{"exigo -Mt", func() { exigo("-Mt", plain[11]) }},
		{"exim -Mmd", func() { exim("-Mmd", plain[12], firstRecipient(plain[12])) }},
		{"exigo -Mmd", func() { exigo("-Mmd", plain[13], firstRecipient(plain[13])) }},
		{"exim -Mar", func() { exim("-Mar", plain[14], "added@new.example") }},
		{"exim -Mrm", func() { exim("-Mrm", plain[15]) }},
		{"exigo -Mrm", func() { exigo("-Mrm", plain[16]) }},
		{"new message", func() { exim("-odq", "new@new.example") }},
		{"-J written", func() {
			os.WriteFile(strings.TrimSuffix(hpath(plain[17]), "-H")+"-J", []byte(firstRecipient(plain[17])+"\n"), 0o640)
		}},
		{"-J appended", func() {
			f, _ := os.OpenFile(strings.TrimSuffix(hpath(plain[17]), "-H")+"-J", os.O_WRONLY|os.O_APPEND, 0)
			f.WriteString("more@generated.example\n")
			f.Close()
		}},
		{"-J removed", func() { os.Remove(strings.TrimSuffix(hpath(plain[17]), "-H") + "-J") }},
	}
	for _, s := range steps {
		// Each change follows a listing of the same second: the changed
		// directory is too young to have been cached, the others are.
		s.do()
		compare(s.name, "-bp", "-bpa", "-bpc")
		used(s.name)
	}

	// Within the same second as the listing that built the cache.
	compare("before racy")
	exim("-Mf", plain[20])
	compare("racy -Mf")
	exim("-Mt", plain[20])
	compare("racy -Mt")

	// Once everything is 2 s old again, all but the journal's and the
	// bad files' directories come from the cache.
	time.Sleep(2100 * time.Millisecond)
	compare("settled")
	if c, r := queuecmd.ListedFromCache(spoolDir); c == 0 || r > 8 {
		t.Fatalf("settled: %d directories cached, %d read", c, r)
	}
	compare("settled, warm")

	// A damaged or foreign cache file is ignored.
	good, err := os.ReadFile(cacheFile)
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string][]byte{
		"blob byte":  flip(good, len(good)-100),
		"index byte": flip(good, 20),
		"truncated":  good[:len(good)/2],
		"empty":      nil,
		"garbage":    []byte(strings.Repeat("x", 5000)),
	} {
		if err := os.WriteFile(cacheFile, bad, 0o640); err != nil {
			t.Fatal(err)
		}
		compare("cache file "+name, "-bpa", "-bpc")
	}
}

// flip returns b with byte i changed.
func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0x5a
	return c
}
