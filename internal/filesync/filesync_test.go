package filesync

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestPendingWrites(t *testing.T) {
	for _, c := range []struct {
		in    string
		total int64
		ok    bool
	}{
		{"MemTotal:       24576000 kB\nDirty:              1204 kB\nWriteback:            16 kB\nAnonPages: 1 kB\n", (1204 + 16) << 10, true},
		{"Dirty:              0 kB\nWriteback:            0 kB\n", 0, true},
		{"Dirty:              12 kB\n", 0, false},
		{"Dirty: x kB\nWriteback: 1 kB\n", 0, false},
		{"", 0, false},
	} {
		total, ok := PendingWrites([]byte(c.in))
		if ok != c.ok || ok && total != c.total {
			t.Errorf("PendingWrites(%q) = %d, %v; want %d, %v", c.in, total, ok, c.total, c.ok)
		}
	}
}

func TestSyncManyAtOnce(t *testing.T) {
	dir := t.TempDir()
	var s Syncer
	var wg sync.WaitGroup
	errs := make([]error, 64)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := os.Create(filepath.Join(dir, fmt.Sprint(i)))
			if err != nil {
				errs[i] = err
				return
			}
			defer f.Close()
			if _, err := f.WriteString("data\n"); err != nil {
				errs[i] = err
				return
			}
			errs[i] = s.Sync(f)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("file %d: %v", i, err)
		}
	}
	if len(s.fss) != 0 {
		t.Errorf("%d file systems left busy after every Sync returned", len(s.fss))
	}
}

func TestSyncClosedFileFails(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "x"))
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	var s Syncer
	if err := s.Sync(f); err == nil {
		t.Error("Sync of a closed file succeeded")
	}
}
