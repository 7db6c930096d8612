package spool

// # Durable writes with group commit
//
// A message exists once its -H file exists (spec chapter 57): the -D file
// alone is not a message. Writing one message, and a flush of a group:
//
//  1. Create takes the new id's -D file (O_EXCL, mode 0640), locks it
//     with fcntl as Exim does, and writes its first line, "ID-D".
//  2. The body is streamed into the -D file through a buffer.
//  3. Commit flushes that buffer and writes the whole -H file under a
//     temporary name, hdr.ID, in the same directory. Nothing is synced
//     yet. It then joins the queue of pending commits.
//  4. If fewer flushes are running than allowed (maxFlushes, or one
//     while groups use syncfs), this committer becomes a leader: it takes every pending commit (its own and those
//     that arrived while the running flushes ran) as one group.
//     Otherwise it waits, either for its result or to be handed the lead
//     by a leader that finished. No timer: a lone message is flushed at
//     once, and under load groups grow by themselves.
//  5. The leader makes the group's file contents durable: fdatasync of
//     every -D and hdr. file, in parallel, or one syncfs of the spool's
//     file system when Options.SyncFS is set or when the group has
//     several files and little else is waiting to be written
//     (filesync.LittleDirtyData).
//  6. It renames each hdr.ID to ID-H: the message now exists.
//  7. It fsyncs each directory of the group once, making the -D entries
//     and the renames durable together. (This relies on the file system
//     journaling directory operations in order, as ext4 and XFS do, so
//     that a durable rename implies the earlier create of -D in the same
//     directory is durable.)
//  8. Only then does every committer of the group learn its result and
//     may answer 250; the -D files are closed and their locks released.
//     The leader hands the lead to the first commit that arrived during
//     the flush, if any.
//
// An error in steps 5–7 fails the whole group: every -H already renamed
// and every hdr. and -D file of the group is removed, and every
// committer gets the error (a 451 to each client). A crash at any point
// leaves, per message, either nothing durable, or a -D file and maybe a
// hdr. file (removed by Recover), or a complete -D and -H pair: complete
// or absent, never half.

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/exigo-mta/exigo/internal/filesync"

	"golang.org/x/sys/unix"
)

// errCrash, returned by a test's failAt hook, stops a commit where it is
// without any clean-up, as a crash would.
var errCrash = errors.New("simulated crash")

// Data is a message being received: its -D file, open and locked.
type Data struct {
	s    *Spool
	id   ID
	dir  string
	f    *os.File
	w    *bufio.Writer
	size int64
	done bool
	// reused marks a -D file made from a spare: it is cut to what was
	// written at the commit.
	reused bool
}

// Create starts message id: it creates and locks the -D file and writes
// its first line (steps 1 and 2 of the commit).
func (s *Spool) Create(id ID) (*Data, error) {
	if !ValidID(string(id)) {
		return nil, fmt.Errorf("spool: %w: %q", ErrBadID, id)
	}
	dir := s.InputDir(id)
	path := filepath.Join(dir, string(id)+"-D")
	f, reused, err := s.createRecycled(path, os.O_RDWR|os.O_CREATE|os.O_EXCL)
	if errors.Is(err, os.ErrNotExist) && s.opts.Split {
		if err = os.MkdirAll(dir, dirMode); err == nil {
			f, reused, err = s.createRecycled(path, os.O_RDWR|os.O_CREATE|os.O_EXCL)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("spool: creating data file: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("spool: %w", err)
	}
	w, _ := s.writers.Get().(*bufio.Writer)
	if w == nil {
		w = bufio.NewWriterSize(f, 64<<10)
	} else {
		w.Reset(f)
	}
	d := &Data{s: s, id: id, dir: dir, f: f, w: w, reused: reused}
	d.w.WriteString(string(id) + "-D\n")
	return d, nil
}

// ID returns the message id.
func (d *Data) ID() ID { return d.id }

// Write appends body bytes to the -D file.
func (d *Data) Write(p []byte) (int, error) {
	if d.w == nil {
		return 0, fmt.Errorf("spool: writing %s-D: message already committed or aborted", d.id)
	}
	n, err := d.w.Write(p)
	d.size += int64(n)
	if err != nil {
		return n, fmt.Errorf("spool: writing %s-D: %w", d.id, err)
	}
	return n, nil
}

// Size returns the number of body bytes written.
func (d *Data) Size() int64 { return d.size }

// Abort removes the partial message.
func (d *Data) Abort() error {
	if d.done {
		return nil
	}
	d.done = true
	d.release()
	os.Remove(filepath.Join(d.dir, string(d.id)+"-D"))
	return d.f.Close()
}

// release gives the buffer back for the next message's -D file.
func (d *Data) release() {
	if d.w != nil {
		d.w.Reset(nil)
		d.s.writers.Put(d.w)
		d.w = nil
	}
}

// Commit writes h as the message's -H file and returns once the message
// is durable (steps 3 to 8). On error nothing of the message remains.
// h.ID must be the Data's id.
func (d *Data) Commit(h *Header) error {
	if d.done {
		return fmt.Errorf("spool: message %s already committed or aborted", d.id)
	}
	d.done = true
	if h.ID != d.id {
		d.release()
		d.f.Close()
		os.Remove(filepath.Join(d.dir, string(d.id)+"-D"))
		return fmt.Errorf("spool: header id %s for data %s", h.ID, d.id)
	}
	r := &request{id: d.id, dir: d.dir, data: d.f}
	err := d.w.Flush()
	if err == nil && d.reused {
		err = cutToOffset(d.f)
	}
	d.release()
	if err == nil {
		err = d.s.writeTemp(r, h)
	}
	if err != nil {
		d.f.Close()
		os.Remove(filepath.Join(d.dir, string(d.id)+"-D"))
		return fmt.Errorf("spool: %s: %w", d.id, err)
	}
	return d.s.com.commit(r)
}

// Write stores a whole message: the header h and the body read from
// body. It returns once the message is durable.
func (s *Spool) Write(h *Header, body []byte) error {
	d, err := s.Create(h.ID)
	if err != nil {
		return err
	}
	if _, err := d.Write(body); err != nil {
		d.Abort()
		return err
	}
	return d.Commit(h)
}

// Rewrite replaces the -H file of a message the caller has locked (after
// a delivery attempt, a freeze, …), durably, through the same group
// commit.
func (s *Spool) Rewrite(l *Lock, h *Header) error {
	if h.ID != l.ID {
		return fmt.Errorf("spool: header id %s for lock on %s", h.ID, l.ID)
	}
	r := &request{id: l.ID, dir: l.Dir, rewrite: true}
	if err := s.writeTemp(r, h); err != nil {
		return fmt.Errorf("spool: %s: %w", l.ID, err)
	}
	return s.com.commit(r)
}

// writeTemp writes the encoded header to hdr.ID (step 3).
func (s *Spool) writeTemp(r *request, h *Header) error {
	b, err := h.Encode()
	if err != nil {
		return err
	}
	r.tmp = filepath.Join(r.dir, "hdr."+string(r.id))
	f, reused, err := s.createRecycled(r.tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		return fmt.Errorf("creating header file: %w", err)
	}
	_, err = f.Write(b)
	if err == nil && reused {
		err = f.Truncate(int64(len(b)))
	}
	if err != nil {
		f.Close()
		os.Remove(r.tmp)
		return fmt.Errorf("writing header file: %w", err)
	}
	r.hdr = f
	return nil
}

// request is one message waiting for a flush.
type request struct {
	id      ID
	dir     string
	data    *os.File // nil for a rewrite
	hdr     *os.File
	tmp     string
	rewrite bool
	renamed bool
	done    chan error    // the result, buffered
	lead    chan struct{} // handed the lead, buffered
}

// committer batches requests into groups (steps 4 and 8).
type committer struct {
	s       *Spool
	mu      sync.Mutex
	pending []*request
	leaders int // flushes running
	// syncfs says the last group was flushed with syncfs: then one
	// flush at a time is best, since one syncfs covers every file
	// written before it and several at once each flush the device.
	syncfs atomic.Bool
}

// maxFlushes is how many groups may be flushed at once while groups are
// flushed with fdatasync per file (much dirty data on the machine). One
// flush at a time makes every committer that arrives during it wait for
// the whole of it, and a device handles several fdatasyncs at once about
// as fast as one: a single flush at a time managed a third of the
// messages per second that independent writers did over kept-open
// connections. While groups use syncfs, one flush runs at a time.
const maxFlushes = 8

func (c *committer) commit(r *request) error {
	r.done = make(chan error, 1)
	r.lead = make(chan struct{}, 1)
	limit := maxFlushes
	if c.syncfs.Load() {
		limit = 1
	}
	c.mu.Lock()
	if c.leaders >= limit {
		c.pending = append(c.pending, r)
		c.mu.Unlock()
		select {
		case err := <-r.done:
			return err
		case <-r.lead:
		}
		// Handed a finished leader's turn: r was taken out of pending.
		c.mu.Lock()
	} else {
		c.leaders++
	}
	// Leader: flush r and everything pending.
	group := append([]*request{r}, c.pending...)
	c.pending = nil
	c.mu.Unlock()
	c.s.flush(group)
	c.mu.Lock()
	if len(c.pending) > 0 {
		next := c.pending[0]
		c.pending = c.pending[1:]
		next.lead <- struct{}{}
	} else {
		c.leaders--
	}
	c.mu.Unlock()
	return <-r.done
}

// flush makes a group durable (steps 5 to 8) and reports to each member.
func (s *Spool) flush(group []*request) {
	err := s.flushGroup(group)
	if errors.Is(err, errCrash) {
		for _, r := range group {
			r.hdr.Close()
			if r.data != nil {
				r.data.Close()
			}
			r.done <- err
		}
		return
	}
	if err != nil {
		s.undo(group)
	} else {
		s.stats.groups.Add(1)
		s.stats.messages.Add(int64(len(group)))
	}
	for _, r := range group {
		r.hdr.Close()
		if r.data != nil {
			r.data.Close()
		}
		r.done <- err
	}
}

func (s *Spool) step(name string) error {
	if s.failAt != nil {
		return s.failAt(name)
	}
	return nil
}

func (s *Spool) flushGroup(group []*request) error {
	if err := s.step("sync"); err != nil {
		return err
	}
	if err := s.syncFiles(group); err != nil {
		return err
	}
	dirs := map[string]bool{}
	for i, r := range group {
		if i > 0 {
			if err := s.step("rename-more"); err != nil {
				return err
			}
		} else if err := s.step("rename"); err != nil {
			return err
		}
		if err := rename(r.tmp, filepath.Join(r.dir, string(r.id)+"-H")); err != nil {
			return fmt.Errorf("spool: renaming header of %s: %w", r.id, err)
		}
		r.renamed = true
		dirs[r.dir] = true
	}
	if err := s.step("dirsync"); err != nil {
		return err
	}
	if err := s.syncDirs(group[0].hdr, dirs); err != nil {
		return err
	}
	return s.step("report")
}

// syncDirs runs step 7: one syncfs when the group touched several
// directories (split_spool_directory spreads a group over up to 62) and
// little else is dirty, else one fsync per directory, in parallel.
func (s *Spool) syncDirs(any *os.File, dirs map[string]bool) error {
	if len(dirs) > 1 && (s.opts.SyncFS || filesync.LittleDirtyData()) {
		s.stats.syncs.Add(1)
		if err := unix.Syncfs(int(any.Fd())); err != nil {
			return fmt.Errorf("spool: syncfs: %w", err)
		}
		return nil
	}
	s.stats.syncs.Add(int64(len(dirs)))
	if len(dirs) == 1 {
		for d := range dirs {
			return syncDir(d)
		}
	}
	errs := make(chan error, len(dirs))
	for d := range dirs {
		go func() { errs <- syncDir(d) }()
	}
	var first error
	for range dirs {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// syncFiles runs step 5.
func (s *Spool) syncFiles(group []*request) error {
	useSyncfs := s.opts.SyncFS || 2*len(group) >= syncfsMinFiles && filesync.LittleDirtyData()
	s.com.syncfs.Store(useSyncfs)
	if useSyncfs {
		s.stats.syncs.Add(1)
		if err := unix.Syncfs(int(group[0].hdr.Fd())); err != nil {
			return fmt.Errorf("spool: syncfs: %w", err)
		}
		return nil
	}
	var files []*os.File
	for _, r := range group {
		if r.data != nil {
			files = append(files, r.data)
		}
		files = append(files, r.hdr)
	}
	s.stats.syncs.Add(int64(len(files)))
	errs := make(chan error, len(files))
	sem := make(chan struct{}, s.opts.MaxParallelSync)
	for _, f := range files {
		sem <- struct{}{}
		go func(f *os.File) {
			defer func() { <-sem }()
			if err := unix.Fdatasync(int(f.Fd())); err != nil {
				errs <- fmt.Errorf("spool: fdatasync %s: %w", f.Name(), err)
				return
			}
			errs <- nil
		}(f)
	}
	var first error
	for range files {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// undo removes what a failed group left: renamed -H files first, then
// temporary headers and data files. A failed rewrite keeps the old -H
// when its rename had not happened; if it had, the new -H stays (it is a
// complete header and the old one is gone).
func (s *Spool) undo(group []*request) {
	for _, r := range group {
		if r.renamed && !r.rewrite {
			os.Remove(filepath.Join(r.dir, string(r.id)+"-H"))
		}
	}
	for _, r := range group {
		if !r.renamed {
			os.Remove(r.tmp)
		}
		if r.data != nil {
			os.Remove(filepath.Join(r.dir, string(r.id)+"-D"))
		}
	}
}

// syncDir fsyncs a directory, making its entries durable.
func syncDir(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("spool: opening directory for sync: %w", &os.PathError{Op: "open", Path: dir, Err: err})
	}
	err = unix.Fsync(fd)
	if cerr := unix.Close(fd); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("spool: syncing directory %s: %w", dir, err)
	}
	return nil
}
