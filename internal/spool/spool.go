package spool

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/exigo-mta/exigo/internal/filesync"
)

// Options configure a Spool.
type Options struct {
	// Dir is spool_directory; messages live in Dir/input, message logs
	// in Dir/msglog.
	Dir string
	// Split is split_spool_directory: input and msglog are divided into
	// sub-directories named by the sixth character of the id.
	Split bool
	// SyncFS makes every group durable with one syncfs(2) of the spool's
	// file system instead of one fdatasync(2) per file; without it,
	// syncfs is used only for groups of several files while little
	// else is waiting to be written (see filesync.LittleDirtyData).
	SyncFS bool
	// MaxParallelSync bounds the fdatasync calls run at once (default 64).
	MaxParallelSync int
}

// Spool is a spool directory in Exim's layout. It is safe for concurrent
// use by many goroutines.
type Spool struct {
	opts Options
	com  committer
	// dirs shares the directory flushes of removals, over all the
	// spool's directories.
	dirs filesync.Syncer
	// pool holds removed spool files for reuse (recycle.go).
	pool recycler
	// writers holds the 64 KiB buffers of -D files being written.
	writers sync.Pool

	stats struct {
		messages, groups, syncs atomic.Int64
	}
	// failAt, when set by tests in this package, is called at each named
	// step of a commit; an error it returns is treated as a failure
	// there (errCrash: as a crash, leaving the files as they are).
	failAt func(step string) error
}

// Dir and file modes Exim uses for its spool.
const (
	dirMode  = 0o750
	fileMode = 0o640
)

// Open returns the spool at opts.Dir, creating input/ and msglog/ when
// they are missing.
func Open(opts Options) (*Spool, error) {
	if opts.Dir == "" {
		return nil, errors.New("spool: no directory given")
	}
	if opts.MaxParallelSync <= 0 {
		opts.MaxParallelSync = 64
	}
	for _, d := range []string{"input", "msglog"} {
		if err := os.MkdirAll(filepath.Join(opts.Dir, d), dirMode); err != nil {
			return nil, fmt.Errorf("spool: %w", err)
		}
	}
	s := &Spool{opts: opts}
	s.com.s = s
	s.pool.top = filepath.Join(opts.Dir, RecycleDir)
	return s, nil
}

// Stats are counters since Open.
type Stats struct {
	// Messages counts successful commits (new messages and rewrites).
	Messages int64
	// Groups counts flushes; Messages/Groups is the mean group size.
	Groups int64
	// Syncs counts fdatasync, fsync and syncfs calls.
	Syncs int64
}

// Stats returns the commit counters.
func (s *Spool) Stats() Stats {
	return Stats{Messages: s.stats.messages.Load(), Groups: s.stats.groups.Load(), Syncs: s.stats.syncs.Load()}
}

// InputDir returns the directory a new message with this id is written
// to: input/, or input/X/ with split_spool_directory.
func (s *Spool) InputDir(id ID) string {
	if s.opts.Split {
		return filepath.Join(s.opts.Dir, "input", id.SplitChar())
	}
	return filepath.Join(s.opts.Dir, "input")
}

// MsglogPath returns the message log file for id (spec chapter 3,
// section 7; split like input/ when split_spool_directory is set).
func (s *Spool) MsglogPath(id ID) string {
	if s.opts.Split {
		return filepath.Join(s.opts.Dir, "msglog", id.SplitChar(), string(id))
	}
	return filepath.Join(s.opts.Dir, "msglog", string(id))
}

// Locate returns the directory holding id's -H file. Like Exim, it also
// looks in the place the other split_spool_directory setting would use,
// so messages survive a change of that option.
func (s *Spool) Locate(id ID) (string, error) {
	top := filepath.Join(s.opts.Dir, "input")
	sub := filepath.Join(top, id.SplitChar())
	dirs := []string{top, sub}
	if s.opts.Split {
		dirs = []string{sub, top}
	}
	for _, d := range dirs {
		if _, err := os.Lstat(filepath.Join(d, string(id)+"-H")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("spool: message %s: %w", id, fs.ErrNotExist)
}

// Entry is one message found by List.
type Entry struct {
	ID ID
	// Dir is the directory holding its files.
	Dir string
}

// List returns the messages in the spool (those with a -H file), in
// directory order, reading names only (no stat per file). With
// split_spool_directory it reads input/ and every one-character
// sub-directory of it.
func (s *Spool) List() ([]Entry, error) {
	top := filepath.Join(s.opts.Dir, "input")
	var out []Entry
	subs, err := listDir(top, func(name string) {
		if len(name) == IDLen+2 && strings.HasSuffix(name, "-H") && ValidID(name[:IDLen]) {
			out = append(out, Entry{ID: ID(name[:IDLen]), Dir: top})
		}
	})
	if err != nil {
		return nil, err
	}
	for _, sub := range subs {
		dir := filepath.Join(top, sub)
		_, err := listDir(dir, func(name string) {
			if len(name) == IDLen+2 && strings.HasSuffix(name, "-H") && ValidID(name[:IDLen]) {
				out = append(out, Entry{ID: ID(name[:IDLen]), Dir: dir})
			}
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, errNotDir) {
			return nil, err
		}
	}
	return out, nil
}

var errNotDir = errors.New("not a directory")

// listDir calls fn for each name in dir and returns the one-character
// names (split sub-directories).
func listDir(dir string, fn func(string)) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("spool: listing: %w", err)
	}
	defer f.Close()
	var subs []string
	for {
		names, err := f.Readdirnames(4096)
		for _, n := range names {
			if len(n) == 1 && digit62(n[0]) >= 0 {
				subs = append(subs, n)
				continue
			}
			fn(n)
		}
		if err == io.EOF {
			return subs, nil
		}
		if err != nil {
			if errors.Is(err, syscall.ENOTDIR) {
				return nil, errNotDir
			}
			return nil, fmt.Errorf("spool: listing %s: %w", dir, err)
		}
	}
}

// Lock opens id's -D file and locks it for writing, as Exim does before
// it works on a message. It returns ErrLocked when another process or
// goroutine holds the lock.
func (s *Spool) Lock(id ID) (*Lock, error) {
	dir, err := s.Locate(id)
	if err != nil {
		return nil, err
	}
	f, err := openFile(filepath.Join(dir, string(id)+"-D"), os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("spool: message %s: %w", id, err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("spool: message %s: %w", id, err)
	}
	return &Lock{ID: id, Dir: dir, data: f}, nil
}

// ReadHeader reads and parses id's -H file.
func (s *Spool) ReadHeader(id ID) (*Header, error) {
	dir, err := s.Locate(id)
	if err != nil {
		return nil, err
	}
	return readHeaderFile(filepath.Join(dir, string(id)+"-H"))
}

func readHeaderFile(path string) (*Header, error) {
	f, err := openFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	h, err := ReadHeader(f)
	if err != nil {
		return nil, fmt.Errorf("spool: %s: %w", path, err)
	}
	return h, nil
}

// AppendMsglog appends text to id's message log, creating it.
func (s *Spool) AppendMsglog(id ID, text string) error {
	p := s.MsglogPath(id)
	f, err := openFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, fileMode)
	if errors.Is(err, fs.ErrNotExist) && s.opts.Split {
		if err = os.MkdirAll(filepath.Dir(p), dirMode); err == nil {
			f, err = openFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, fileMode)
		}
	}
	if err != nil {
		return fmt.Errorf("spool: message log: %w", err)
	}
	if _, err = f.WriteString(text); err != nil {
		f.Close()
		return fmt.Errorf("spool: message log %s: %w", id, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("spool: message log %s: %w", id, err)
	}
	return nil
}

// PreserveMsglog moves the message log of id to the msglog.OLD
// directory instead of letting Remove delete it (main option
// preserve_message_logs). Failures are ignored: the log is an aid.
func (s *Spool) PreserveMsglog(id ID) {
	old := filepath.Join(s.opts.Dir, "msglog.OLD")
	if err := os.MkdirAll(old, dirMode); err != nil {
		return
	}
	os.Rename(s.MsglogPath(id), filepath.Join(old, string(id)))
}

// unlinkFile removes a file that may well not exist with one unlink(2)
// (os.Remove tries rmdir(2) too when the unlink fails).
func unlinkFile(path string) error {
	if err := unix.Unlink(path); err != nil {
		return &os.PathError{Op: "remove", Path: path, Err: err}
	}
	return nil
}

// Remove deletes a locked message: the -H file first, durably (after
// which the message no longer exists, even after a crash: a completed
// message is not delivered again), then the -J journal and the message
// log; then it releases the lock and removes the -D file. The directory
// flush is shared with removals running at the same time (one syncfs for
// many directories while little is dirty). The -H and -D
// files go to the recycling pool (see recycle.go); the -D file only
// once its lock is released, because closing any descriptor of a file
// drops the process's fcntl locks on it, and a recycled file may be
// locked again as a new message's -D file.
func (s *Spool) Remove(l *Lock) error {
	base := filepath.Join(l.Dir, string(l.ID))
	var first error
	note := func(err error) {
		if err != nil && !errors.Is(err, fs.ErrNotExist) && first == nil {
			first = fmt.Errorf("spool: removing %s: %w", l.ID, err)
		}
	}
	if err := s.pool.put(base + "-H"); err == nil {
		note(s.dirs.SyncDir(l.Dir))
	} else {
		note(err)
	}
	note(unlinkFile(base + "-J"))
	note(unlinkFile(s.MsglogPath(l.ID)))
	note(l.Unlock())
	note(s.pool.put(base + "-D"))
	return first
}
