package hintsdb

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	spool := t.TempDir()
	db, err := Open(spool, "retry", true)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 27, 9, 4, 19, 0, time.UTC)
	in := RetryRecord{TimeStamp: now, FirstFailed: now, LastTry: now, NextTry: now.Add(15 * time.Minute), BasicErrno: 111, MoreErrno: 'A', Text: "Connection refused", Expired: true}
	if err := db.Put("T:127.0.0.1:127.0.0.1:1", &in); err != nil {
		t.Fatal(err)
	}
	if err := db.Put("R:example.com", &RetryRecord{TimeStamp: now}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := os.Stat(filepath.Join(spool, "db", "retry.lockfile")); err != nil {
		t.Errorf("no lock file: %v", err)
	}
	db, err = Open(spool, "retry", false)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out RetryRecord
	if ok, err := db.Get("T:127.0.0.1:127.0.0.1:1", &out); !ok || err != nil || !out.NextTry.Equal(in.NextTry) || out.Text != in.Text || !out.Expired || out.MoreErrno != 'A' {
		t.Errorf("got %+v %v %v", out, ok, err)
	}
	if ok, _ := db.Get("nosuch", &out); ok {
		t.Error("found a missing key")
	}
	keys, _ := db.Keys()
	if strings.Join(keys, ",") != "R:example.com,T:127.0.0.1:127.0.0.1:1" {
		t.Errorf("keys %v", keys)
	}
}

func TestOpenErrors(t *testing.T) {
	spool := t.TempDir()
	_, err := Open(spool, "retry", false)
	want := "** Failed to open database lock file " + spool + "/db/retry.lockfile: No such file or directory"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	os.MkdirAll(filepath.Join(spool, "db"), 0o755)
	os.WriteFile(filepath.Join(spool, "db", "retry.lockfile"), nil, 0o644)
	_, err = Open(spool, "retry", false)
	want = "** Failed to open DBM file " + spool + "/db/retry for reading:\n   No such file or directory (or Berkeley DB error while opening)"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	// A Berkeley DB hash file (as Exim writes): magic 0x061561 at 12.
	bdb := make([]byte, 8192)
	copy(bdb[12:], []byte{0x61, 0x15, 0x06, 0x00})
	os.WriteFile(filepath.Join(spool, "db", "retry"), bdb, 0o644)
	_, err = Open(spool, "retry", false)
	if !errors.Is(err, ErrEximFormat) || !strings.Contains(err.Error(), "Berkeley DB hints files cannot be read by exigo") {
		t.Errorf("Exim file: %v", err)
	}
}

func TestValidName(t *testing.T) {
	for n, want := range map[string]bool{"retry": true, "wait-remote_smtp": true, "wait-": false, "callout": true, "tls": true, "misc": true, "ratelimit": true, "seen": true, "foo": false, "wait-a/b": false} {
		if ValidName(n) != want {
			t.Errorf("%s: %v", n, !want)
		}
	}
}
