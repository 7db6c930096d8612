package spool

import (
	"bytes"
	"golang.org/x/sys/unix"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestRecycledFilesHoldOnlyTheNewMessage removes big messages, then
// writes small ones into the recycled files: the new -D and -H files
// must hold exactly the new message.
// TestRecycledFilesHoldOnlyTheNewMessage: messages larger than the new
// ones leave their files to the pool, truncated (a large -D file) or
// holding their data (a header file, a small -D file); the new
// messages' files hold exactly the new messages.
func TestRecycledFilesHoldOnlyTheNewMessage(t *testing.T) {
	for _, c := range []struct {
		split bool
		lines int
	}{{false, 4096}, {true, 4096}, {false, 200}, {true, 200}} {
		split := c.split
		dir := t.TempDir()
		s, err := Open(Options{Dir: dir, Split: split})
		if err != nil {
			t.Fatal(err)
		}
		g, _ := NewGenerator(os.Getpid(), -1, nil)
		big := bytes.Repeat([]byte("0123456789abcdef\n"), c.lines)
		var old []ID
		for i := range 10 {
			id := g.New()
			h := testHeader(id, "big"+strconv.Itoa(i)+"@y")
			h.Headers[0].Text = "Subject: " + strings.Repeat("long ", 500) + "\n"
			if err := s.Write(h, big); err != nil {
				t.Fatal(err)
			}
			old = append(old, id)
		}
		for _, id := range old {
			l, err := s.Lock(id)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Remove(l); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(s.InputDir(id), string(id)+"-H")); !os.IsNotExist(err) {
				t.Fatalf("%s-H still there: %v", id, err)
			}
		}
		if n := s.spares(); n != 20 {
			t.Fatalf("pool holds %d files, want 20", n)
		}
		for _, p := range s.pool.spare {
			fi, err := os.Stat(p)
			if err != nil || fi.Size() > keepBytes || fi.Size() == 0 && c.lines*17 < keepBytes {
				t.Fatalf("spare %s: %v, %v", p, fi, err)
			}
		}
		for i := range 10 {
			id := g.New()
			body := []byte("small " + strconv.Itoa(i) + "\n")
			if err := s.Write(testHeader(id, "r"+strconv.Itoa(i)+"@y"), body); err != nil {
				t.Fatal(err)
			}
			d, err := os.ReadFile(filepath.Join(s.InputDir(id), string(id)+"-D"))
			if err != nil {
				t.Fatal(err)
			}
			if want := string(id) + "-D\n" + string(body); string(d) != want {
				t.Fatalf("-D file holds %q, want %q", d, want)
			}
			h, err := s.ReadHeader(id)
			if err != nil {
				t.Fatal(err)
			}
			if len(h.Recipients) != 1 || h.Recipients[0].Address != "r"+strconv.Itoa(i)+"@y" || h.Headers[0].Text != "Subject: t\n" {
				t.Fatalf("header of %s read back wrong: %+v", id, h)
			}
		}
		// 10 messages took 20 spares (a -D and a header file each).
		if n := s.spares(); n != 0 {
			t.Fatalf("pool holds %d files after reuse, want 0", n)
		}
		list, err := s.List()
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 10 {
			t.Fatalf("listed %d messages, want 10", len(list))
		}
	}
}

// TestRecycleSweepsEndedProcesses: the pool of a process that no longer
// exists is removed when another process starts its pool.
func TestRecycleSweepsEndedProcesses(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	// A pid far above pid_max belongs to no process.
	stale := filepath.Join(dir, RecycleDir, "99999999.abc")
	if err := os.MkdirAll(stale, 0o750); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(stale, "1"), []byte("x"), 0o640)
	g, _ := NewGenerator(os.Getpid(), -1, nil)
	id := g.New()
	if err := s.Write(testHeader(id, "a@y"), []byte("b\n")); err != nil {
		t.Fatal(err)
	}
	l, err := s.Lock(id)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(l); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatalf("stale pool still there: %v", err)
	}
}

// TestCloseRemovesPool: Close removes the process's pool and later
// removals unlink their files.
func TestCloseRemovesPool(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	g, _ := NewGenerator(os.Getpid(), -1, nil)
	remove := func() {
		id := g.New()
		if err := s.Write(testHeader(id, "a@y"), []byte("b\n")); err != nil {
			t.Fatal(err)
		}
		l, err := s.Lock(id)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Remove(l); err != nil {
			t.Fatal(err)
		}
	}
	remove()
	if s.spares() != 2 {
		t.Fatalf("pool holds %d files, want 2", s.spares())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	remove()
	ents, _ := os.ReadDir(filepath.Join(dir, RecycleDir))
	if len(ents) != 0 || s.spares() != 0 {
		t.Fatalf("after Close: %d pool directories, %d spares", len(ents), s.spares())
	}
}

// TestTakeSpare: a spare lent for a new file elsewhere leaves the pool,
// is a file of the pool's directory, and none is lent for a directory
// on another file system.
func TestTakeSpare(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok := s.TakeSpare(dir); ok {
		t.Fatal("an empty pool lent a spare")
	}
	g, _ := NewGenerator(os.Getpid(), -1, nil)
	id := g.New()
	if err := s.Write(testHeader(id, "a@y"), []byte("b\n")); err != nil {
		t.Fatal(err)
	}
	l, err := s.Lock(id)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(l); err != nil {
		t.Fatal(err)
	}
	p, ok := s.TakeSpare(dir)
	if !ok || filepath.Dir(filepath.Dir(p)) != filepath.Join(dir, RecycleDir) || s.spares() != 1 {
		t.Fatalf("TakeSpare = %q, %v; %d spares left", p, ok, s.spares())
	}
	if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() || fi.Size() > keepBytes {
		t.Fatalf("lent spare: %v, %v", fi, err)
	}
	var proc, here unix.Stat_t
	if unix.Stat("/proc", &proc) == nil && unix.Stat(dir, &here) == nil && proc.Dev != here.Dev {
		if p, ok := s.TakeSpare("/proc"); ok {
			t.Errorf("lent %s for a directory on another file system", p)
		}
	}
}
