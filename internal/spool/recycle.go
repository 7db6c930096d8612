package spool

// # Recycled spool files
//
// Every message costs the spool two new files (-D and -H) and, when it
// is delivered, two removals. On ext4 each new file is an inode
// allocation, and when the file system has no journal the allocator
// skips every inode freed in the last half minute or so, reading its
// inode table block to find that out: under a steady load of messages
// created and removed, each allocation scans thousands of recently
// freed inodes, and that scan becomes the largest CPU cost of the whole
// server (of the maildir deliveries too, whose files land in the same
// block group).
//
// So a removed -D or -H file is not unlinked but renamed into a
// directory of this process's own, SPOOL/recycle/PID.N/, and a new -D or
// header file is made by renaming one of those back into input/. A
// rename moves a directory entry and allocates and frees nothing. The
// pool is bounded (maxRecycled files); beyond it files are unlinked.
//
// A small file keeps its blocks in the pool, and a new file made from
// it overwrites them: freeing blocks and allocating them again costs
// the kernel more than the write (on a file system mounted with
// "discard", freeing waits for the device). Every writer of a file
// made from a spare therefore cuts it to the length it wrote before
// the file is flushed or named where anyone looks (Data.Commit,
// writeTemp, the appendfile transport), so that nothing of an old
// message survives into a new one. A larger file is truncated as it
// enters the pool, so that spares hold at most maxRecycled times
// keepBytes of disk space. The pools of processes that no longer exist
// are removed by the next process that starts a pool. Exim ignores the
// directory.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// RecycleDir is the directory, under the spool directory, that holds
// the per-process pools of recycled files.
const RecycleDir = "recycle"

// maxRecycled bounds one process's pool.
const maxRecycled = 4096

// keepBytes is the largest spare that keeps its blocks.
const keepBytes = 8 << 10

// recycler is one process's pool of spare files.
type recycler struct {
	top string // SPOOL/recycle

	mu    sync.Mutex
	dir   string // SPOOL/recycle/PID, "" until first used
	bad   bool   // the pool directory cannot be made: never recycle
	seq   int
	spare []string
	dev   uint64 // the pool directory's device, 0 until TakeSpare needs it
}

// put moves path into the pool, or removes it when the pool is full or
// cannot be used. The error is that of the rename or removal.
func (r *recycler) put(path string) error {
	r.mu.Lock()
	if !r.ready() || len(r.spare) >= maxRecycled {
		r.mu.Unlock()
		return os.Remove(path)
	}
	r.seq++
	name := filepath.Join(r.dir, strconv.Itoa(r.seq))
	r.mu.Unlock()
	if err := unix.Rename(path, name); err != nil {
		if err == unix.ENOENT {
			return &os.PathError{Op: "rename", Path: path, Err: err}
		}
		return os.Remove(path)
	}
	// A larger spare holds no data: its blocks go back to the file
	// system now, not when (or if) it is reused.
	var st unix.Stat_t
	if err := unix.Stat(name, &st); err != nil || st.Size > keepBytes && unix.Truncate(name, 0) != nil {
		os.Remove(name)
		return nil
	}
	r.mu.Lock()
	r.spare = append(r.spare, name)
	r.mu.Unlock()
	return nil
}

// take renames a spare file to path and reports whether it did. With
// noReplace it fails rather than replace an existing path. It never
// returns a file: the caller opens path and cuts it to what it writes.
func (r *recycler) take(path string, noReplace bool) bool {
	for {
		r.mu.Lock()
		n := len(r.spare)
		if n == 0 {
			r.mu.Unlock()
			return false
		}
		name := r.spare[n-1]
		r.spare = r.spare[:n-1]
		r.mu.Unlock()
		var err error
		if noReplace {
			err = unix.Renameat2(unix.AT_FDCWD, name, unix.AT_FDCWD, path, unix.RENAME_NOREPLACE)
		} else {
			err = unix.Rename(name, path)
		}
		switch {
		case err == nil:
			return true
		case err == unix.EEXIST || err == unix.ENOTDIR || (err == unix.ENOENT && !exists(name)):
			// The target exists, or the spare is gone (removed by
			// someone): give back or drop the spare as fits.
			if err == unix.EEXIST || err == unix.ENOTDIR {
				r.giveBack(name)
				return false
			}
			continue
		default:
			// Typically a missing target directory: the caller creates
			// the file the usual way.
			r.giveBack(name)
			return false
		}
	}
}

func (r *recycler) giveBack(name string) {
	r.mu.Lock()
	r.spare = append(r.spare, name)
	r.mu.Unlock()
}

func exists(p string) bool {
	var st unix.Stat_t
	return unix.Lstat(p, &st) == nil
}

// ready makes the pool directory on first use and removes the pools of
// processes that have ended. r.mu is held.
func (r *recycler) ready() bool {
	if r.dir != "" || r.bad {
		return !r.bad
	}
	// PID.N: one process may open the spool more than once (a daemon
	// re-reading its configuration), each with a pool of its own.
	dir := filepath.Join(r.top, strconv.Itoa(os.Getpid())+"."+strconv.FormatInt(time.Now().UnixNano(), 36))
	if err := os.MkdirAll(dir, dirMode); err != nil {
		r.bad = true
		return false
	}
	r.dir = dir
	r.sweep()
	return true
}

// sweep removes the pools of processes that no longer exist.
func (r *recycler) sweep() {
	ents, err := os.ReadDir(r.top)
	if err != nil {
		return
	}
	for _, e := range ents {
		p, _, _ := strings.Cut(e.Name(), ".")
		pid, err := strconv.Atoi(p)
		if err != nil || pid <= 0 || pid == os.Getpid() {
			// not a pool, or this process's own (other pools of this
			// process end with their spools)
			continue
		}
		if err := unix.Kill(pid, 0); err == nil || errors.Is(err, unix.EPERM) {
			continue
		}
		os.RemoveAll(filepath.Join(r.top, e.Name()))
	}
}

// Close removes this process's pool of spare files. The spool stays
// usable; later removals unlink their files.
func (s *Spool) Close() error {
	r := &s.pool
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dir == "" {
		return nil
	}
	err := os.RemoveAll(r.dir)
	r.spare, r.bad = nil, true
	if err != nil {
		return fmt.Errorf("spool: removing spare files: %w", err)
	}
	return nil
}

// TakeSpare lends one of the pool's spare files for a new file in dir:
// it returns the spare's path, in this process's pool directory, and
// the caller owns the file from then on (it opens it, sets mode, owner
// and times, writes it and cuts it to what it wrote before it flushes
// it, links it into place and removes this path). A
// transport uses this for a new file on the spool's file system (a
// maildir file), so that it costs no inode allocation (see "Recycled
// spool files" above). ok is false when the pool is empty or dir is on
// another file system.
func (s *Spool) TakeSpare(dir string) (path string, ok bool) {
	r := &s.pool
	var st unix.Stat_t
	if unix.Stat(dir, &st) != nil {
		return "", false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(r.spare)
	if n == 0 || r.dir == "" {
		return "", false
	}
	if r.dev == 0 {
		var pst unix.Stat_t
		if unix.Stat(r.dir, &pst) != nil {
			return "", false
		}
		r.dev = pst.Dev
	}
	if st.Dev != r.dev {
		return "", false
	}
	path = r.spare[n-1]
	r.spare = r.spare[:n-1]
	return path, true
}

// cutToOffset truncates f to its current offset: the end of what was
// written to a file that may have been a spare.
func cutToOffset(f *os.File) error {
	off, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	return f.Truncate(off)
}

// spares returns how many files the pool holds (tests).
func (s *Spool) spares() int {
	s.pool.mu.Lock()
	defer s.pool.mu.Unlock()
	return len(s.pool.spare)
}

// createRecycled opens path for writing from a spare file when there is
// one, else as a new file. flag is as for openFile; with O_EXCL the
// spare is renamed only where nothing exists. A spare keeps what it
// held: when reused is set, the caller cuts the file to what it writes
// (cutToOffset).
func (s *Spool) createRecycled(path string, flag int) (f *os.File, reused bool, err error) {
	if s.pool.take(path, flag&os.O_EXCL != 0) {
		f, err := openFile(path, flag&^(os.O_CREATE|os.O_EXCL|os.O_TRUNC), fileMode)
		if err == nil {
			return f, true, nil
		}
		os.Remove(path)
	}
	f, err = openFile(path, flag, fileMode)
	return f, false, err
}
