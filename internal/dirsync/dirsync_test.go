package dirsync

import (
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

func TestSyncConcurrent(t *testing.T) {
	dir := t.TempDir()
	var s Syncer
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := filepath.Join(dir, strconv.Itoa(i))
			if err := os.WriteFile(p, nil, 0o600); err != nil {
				errs <- err
				return
			}
			errs <- s.Sync(dir)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.dirs) != 0 {
		t.Fatalf("directories still marked busy: %v", s.dirs)
	}
}

func TestSyncMissingDirectory(t *testing.T) {
	var s Syncer
	err := s.Sync(filepath.Join(t.TempDir(), "absent"))
	if err == nil {
		t.Fatal("sync of a missing directory succeeded")
	}
	// The failed directory is not left busy: a later sync runs again.
	if err2 := s.Sync(t.TempDir()); err2 != nil {
		t.Fatal(err2)
	}
}
