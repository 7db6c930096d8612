// Package dirsync makes directory entries durable with fsync(2) on the
// directory, sharing one fsync among all the callers that need the same
// directory synced at about the same time.
//
// A caller creates, renames or removes an entry and then calls Sync. If
// no sync of that directory is running, the caller runs one at once: a
// lone caller is never delayed. If one is running, it may have started
// before the caller's change, so the caller joins the next round, which
// starts as soon as the running one ends and covers every caller that
// arrived in between. Under load each directory sees one fsync per round
// instead of one per caller.
package dirsync

import (
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// Syncer coalesces directory fsyncs. The zero value is ready to use; a
// Syncer must not be copied after first use.
type Syncer struct {
	mu   sync.Mutex
	dirs map[string]*dirState
}

// dirState is one directory with a sync running.
type dirState struct {
	next *round // callers waiting for the round after the running one
}

// round is one fsync shared by its callers.
type round struct {
	start chan struct{} // closed when the round's leader may run it
	done  chan struct{} // closed when the round's result is known
	err   error
}

// Sync returns once every change made to dir's entries before the call
// is durable, or the error of the fsync that should have made it so.
func (s *Syncer) Sync(dir string) error {
	s.mu.Lock()
	if s.dirs == nil {
		s.dirs = map[string]*dirState{}
	}
	st, busy := s.dirs[dir]
	if !busy {
		st = &dirState{}
		s.dirs[dir] = st
		s.mu.Unlock()
		return s.lead(dir, st, nil)
	}
	if r := st.next; r != nil {
		s.mu.Unlock()
		<-r.done
		return r.err
	}
	r := &round{start: make(chan struct{}), done: make(chan struct{})}
	st.next = r
	s.mu.Unlock()
	<-r.start
	return s.lead(dir, st, r)
}

// lead runs one fsync of dir for round r (nil for a caller that found
// the directory idle), then hands the directory to the next round.
func (s *Syncer) lead(dir string, st *dirState, r *round) error {
	err := Dir(dir)
	if r != nil {
		r.err = err
		close(r.done)
	}
	s.mu.Lock()
	n := st.next
	st.next = nil
	if n == nil {
		delete(s.dirs, dir)
	}
	s.mu.Unlock()
	if n != nil {
		close(n.start)
	}
	return err
}

// Dir fsyncs one directory, now, with plain system calls.
func Dir(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening directory for sync: %w", &os.PathError{Op: "open", Path: dir, Err: err})
	}
	err = unix.Fsync(fd)
	if cerr := unix.Close(fd); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}
