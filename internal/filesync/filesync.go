// Package filesync makes the contents of newly written files durable,
// sharing the cost among the files that need it at about the same time.
//
// A caller writes a file and calls Syncer.Sync before it makes the file
// visible (a maildir delivery links it into new/). If no flush of that
// file system is running, the caller flushes its own file at once: a
// lone caller is never delayed. If one is running, the caller joins the
// next round, which starts as soon as the running one ends and covers
// every file that arrived in between. A round of several files is
// flushed with one syncfs(2) when little else is waiting to be written
// on the machine (LittleDirtyData), which on ext4 replaces one
// synchronous inode-table write and one device flush per file; else each
// file gets its own fsync(2), run in parallel.
package filesync

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// MaxDirty is the most data (dirty or under writeback, in the whole
// system) for which a group of files is flushed with one syncfs(2).
const MaxDirty = 32 << 20

// maxParallel bounds the fsyncs one round runs at once when it cannot
// use syncfs.
const maxParallel = 16

// Syncer coalesces file flushes per file system. The zero value is
// ready to use; a Syncer must not be copied after first use.
type Syncer struct {
	mu  sync.Mutex
	fss map[uint64]*fsState
}

// fsState is one file system with a flush running.
type fsState struct {
	next *round // files waiting for the round after the running one
}

// round is one flush shared by its files.
type round struct {
	files []*os.File
	start chan struct{} // closed when the round's leader may run it
	done  chan struct{} // closed when the round's result is known
	err   error
}

// Sync returns once f's data and metadata are on stable storage, or
// with the error of the flush that should have put them there. f must
// stay open until Sync returns.
func (s *Syncer) Sync(f *os.File) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return fmt.Errorf("syncing %s: %w", f.Name(), &os.PathError{Op: "fstat", Path: f.Name(), Err: err})
	}
	dev := st.Dev
	s.mu.Lock()
	if s.fss == nil {
		s.fss = map[uint64]*fsState{}
	}
	fs, busy := s.fss[dev]
	if !busy {
		fs = &fsState{}
		s.fss[dev] = fs
		s.mu.Unlock()
		return s.lead(dev, fs, &round{files: []*os.File{f}})
	}
	r := fs.next
	if r == nil {
		r = &round{start: make(chan struct{}), done: make(chan struct{})}
		fs.next = r
		r.files = append(r.files, f)
		s.mu.Unlock()
		<-r.start
		return s.lead(dev, fs, r)
	}
	r.files = append(r.files, f)
	s.mu.Unlock()
	<-r.done
	return r.err
}

// SyncDir makes dir's entries durable (a file created, renamed or
// removed in it) as Sync makes a file's contents durable: directories
// of one file system that need it at about the same time share one
// syncfs(2) while little is dirty. Where many directories each see a
// change or two (a split spool), this shares more than one fsync per
// directory round.
func (s *Syncer) SyncDir(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening directory for sync: %w", &os.PathError{Op: "open", Path: dir, Err: err})
	}
	f := os.NewFile(uintptr(fd), dir)
	err = s.Sync(f)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	return err
}

// lead flushes round r's files, then hands the file system to the next
// round. Once a round has started, no file joins it (Sync adds files
// only to fs.next, which lead takes under the lock).
func (s *Syncer) lead(dev uint64, fs *fsState, r *round) error {
	err := flush(r.files)
	r.err = err
	if r.done != nil {
		close(r.done)
	}
	s.mu.Lock()
	n := fs.next
	fs.next = nil
	if n == nil {
		delete(s.fss, dev)
	}
	s.mu.Unlock()
	if n != nil {
		close(n.start)
	}
	return err
}

// flush makes files durable: one syncfs for a group when little is
// dirty, else an fsync per file.
func flush(files []*os.File) error {
	if len(files) > 1 && LittleDirtyData() {
		if err := unix.Syncfs(int(files[0].Fd())); err != nil {
			return fmt.Errorf("syncing file system of %s: %w", files[0].Name(), err)
		}
		return nil
	}
	if len(files) == 1 {
		return syncOne(files[0])
	}
	errs := make([]error, len(files))
	sem := make(chan struct{}, maxParallel)
	var wg sync.WaitGroup
	for i, f := range files {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = syncOne(f)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func syncOne(f *os.File) error {
	if err := f.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", f.Name(), err)
	}
	return nil
}

// LittleDirtyData reports whether the system holds at most MaxDirty
// bytes of data waiting to be written, according to /proc/meminfo
// ("Dirty:" and "Writeback:"). syncfs(2) writes back everything dirty on
// the file system, so it is a cheap way to flush a group only when
// little else is waiting; then it is much cheaper than a call per file
// (on ext4 each fsync also writes the file's inode-table block
// synchronously, once per file).
func LittleDirtyData() bool {
	fd, err := unix.Open("/proc/meminfo", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	var buf [4096]byte
	n, err := unix.Read(fd, buf[:])
	if err != nil || n <= 0 {
		return false
	}
	total, ok := PendingWrites(buf[:n])
	return ok && total <= MaxDirty
}

// PendingWrites sums the "Dirty:" and "Writeback:" lines of
// /proc/meminfo, in bytes; ok is false when either is missing.
func PendingWrites(meminfo []byte) (total int64, ok bool) {
	seen := 0
	for _, line := range bytes.Split(meminfo, []byte("\n")) {
		name, rest, found := bytes.Cut(line, []byte(":"))
		if !found || (string(name) != "Dirty" && string(name) != "Writeback") {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) == 0 {
			return 0, false
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return 0, false
		}
		total += kb << 10
		seen++
	}
	return total, seen == 2
}
