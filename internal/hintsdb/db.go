// Package hintsdb keeps Exim's hints databases under the spool's db/
// directory: retry, wait-<transport>, callout, ratelimit, misc, tls (and
// seen). Each database is one file with Exim's name (db/retry,
// db/wait-remote_smtp, ...), stored with go.etcd.io/bbolt, its records
// holding what Exim's records hold (see records.go).
//
// # Locking
//
// As Exim does, every open first takes a lock on the separate file
// db/NAME.lockfile (an fcntl lock: shared for readers, exclusive for
// writers), creating it when opening for writing; then the database file
// is opened (bbolt adds its own lock on the file itself). A reader that
// finds no lock file fails as Exim's utilities do.
//
// # Exim's files
//
// Exim 4.96 stores its hints in Berkeley DB files. exigo cannot read
// them: opening one fails with an error that says so (hints are only
// hints: such a file may be deleted, and exigo starts a new one).
//
// Exim specification: chapter "Exim utilities", section "Hints database
// maintenance"; chapter "Retry configuration".
package hintsdb

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterr "go.etcd.io/bbolt/errors"
	"golang.org/x/sys/unix"

	"github.com/exigo-mta/exigo/internal/strerror"
)

// Names lists the fixed database names (wait-<transport> names are
// formed by the transport).
var Names = []string{"retry", "misc", "callout", "ratelimit", "tls", "seen"}

// ValidName reports whether name is a hints database name.
func ValidName(name string) bool {
	if strings.HasPrefix(name, "wait-") && len(name) > len("wait-") {
		return !strings.ContainsAny(name, "/")
	}
	for _, n := range Names {
		if n == name {
			return true
		}
	}
	return false
}

var bucket = []byte("hints")

// DB is one open hints database.
type DB struct {
	bolt     *bolt.DB
	lock     *os.File
	Name     string
	Path     string
	readOnly bool
	inproc   *sync.RWMutex
}

// inProcess holds, per database path, the lock that orders this
// process's own opens. The file locks (fcntl on the lock file, flock
// inside bbolt) order processes; but bbolt's flock belongs to one open
// file, so two goroutines of one process opening the same database
// would meet on it, and bbolt retries a held flock only every 50 ms.
// Taking this lock first makes goroutines queue instead. It is process
// state by nature, as the file locks are.
var inProcess sync.Map // path -> *sync.RWMutex

// ErrEximFormat is returned (wrapped) when the file is not a bbolt
// database: most likely Exim's own Berkeley DB file.
var ErrEximFormat = errors.New("not an exigo hints database (Exim's Berkeley DB hints files cannot be read by exigo; hints are safe to delete, and exigo will make a new file)")

// OpenError is a failure to open a database, with Exim's wording.
type OpenError struct {
	Path     string
	Lockfile bool // the lock file could not be opened or locked
	Write    bool
	Err      error
}

// Error returns Exim's text, e.g. "** Failed to open DBM file
// /spool/db/retry for reading:\n   No such file or directory (or Berkeley
// DB error while opening)".
func (e *OpenError) Error() string {
	if e.Lockfile {
		return fmt.Sprintf("** Failed to open database lock file %s: %s", e.Path, strerror.Text(e.Err))
	}
	mode := "reading"
	if e.Write {
		mode = "writing"
	}
	if errors.Is(e.Err, ErrEximFormat) {
		return fmt.Sprintf("** Failed to open DBM file %s for %s:\n   %s", e.Path, mode, ErrEximFormat)
	}
	return fmt.Sprintf("** Failed to open DBM file %s for %s:\n   %s (or Berkeley DB error while opening)", e.Path, mode, strerror.Text(e.Err))
}

// Unwrap returns the cause.
func (e *OpenError) Unwrap() error { return e.Err }

// Open opens database name under spool/db. With write false the database
// must exist; with write true the db directory, lock file and database are
// created as needed.
func Open(spool, name string, write bool) (*DB, error) {
	dir := filepath.Join(spool, "db")
	lockPath := filepath.Join(dir, name+".lockfile")
	path := filepath.Join(dir, name)
	mv, _ := inProcess.LoadOrStore(path, &sync.RWMutex{})
	mu := mv.(*sync.RWMutex)
	if write {
		mu.Lock()
	} else {
		mu.RLock()
	}
	db, err := open(dir, lockPath, path, name, write)
	if err != nil {
		if write {
			mu.Unlock()
		} else {
			mu.RUnlock()
		}
		return nil, err
	}
	db.inproc = mu
	return db, nil
}

func open(dir, lockPath, path, name string, write bool) (*DB, error) {
	flags := os.O_RDONLY
	if write {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, &OpenError{Path: lockPath, Lockfile: true, Err: err}
		}
		flags = os.O_RDWR | os.O_CREATE
	}
	lf, err := os.OpenFile(lockPath, flags, 0o640)
	if err != nil {
		return nil, &OpenError{Path: lockPath, Lockfile: true, Err: err}
	}
	lt := int16(unix.F_RDLCK)
	if write {
		lt = unix.F_WRLCK
	}
	fl := unix.Flock_t{Type: lt, Whence: 0}
	if err := lockWait(lf, &fl); err != nil {
		lf.Close()
		return nil, &OpenError{Path: lockPath, Lockfile: true, Err: err}
	}
	if !write {
		if _, err := os.Stat(path); err != nil {
			lf.Close()
			return nil, &OpenError{Path: path, Err: err}
		}
	}
	b, err := bolt.Open(path, 0o640, &bolt.Options{Timeout: 5 * time.Second, ReadOnly: !write})
	if err != nil {
		lf.Close()
		if errors.Is(err, bolterr.ErrInvalid) || errors.Is(err, bolterr.ErrVersionMismatch) || errors.Is(err, bolterr.ErrChecksum) || strings.Contains(err.Error(), "invalid") {
			err = ErrEximFormat
		}
		return nil, &OpenError{Path: path, Write: write, Err: err}
	}
	if write {
		if err := b.Update(func(tx *bolt.Tx) error {
			_, err := tx.CreateBucketIfNotExists(bucket)
			return err
		}); err != nil {
			b.Close()
			lf.Close()
			return nil, fmt.Errorf("hints database %s: %w", path, err)
		}
	}
	return &DB{bolt: b, lock: lf, Name: name, Path: path, readOnly: !write}, nil
}

// lockWait takes the fcntl lock, waiting up to 5 seconds like Exim's
// utilities.
func lockWait(f *os.File, fl *unix.Flock_t) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := unix.FcntlFlock(f.Fd(), unix.F_SETLK, fl)
		if err == nil {
			return nil
		}
		if (err != unix.EAGAIN && err != unix.EACCES) || time.Now().After(deadline) {
			return fmt.Errorf("lock: %w", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Close closes the database and releases the lock.
func (d *DB) Close() error {
	err := d.bolt.Close()
	if cerr := d.lock.Close(); err == nil {
		err = cerr
	}
	if d.inproc != nil {
		if d.readOnly {
			d.inproc.RUnlock()
		} else {
			d.inproc.Unlock()
		}
		d.inproc = nil
	}
	return err
}

// GetRaw returns the stored value of key (nil when absent).
func (d *DB) GetRaw(key string) ([]byte, error) {
	var out []byte
	err := d.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		if b == nil {
			return nil
		}
		if v := b.Get([]byte(key)); v != nil {
			out = append([]byte(nil), v...)
		}
		return nil
	})
	return out, err
}

// Get reads the record of key into v (a pointer to one of the record
// types). found is false when there is no such key.
func (d *DB) Get(key string, v any) (found bool, err error) {
	raw, err := d.GetRaw(key)
	if err != nil || raw == nil {
		return false, err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return false, fmt.Errorf("hints database %s: record %q: %w", d.Path, key, err)
	}
	return true, nil
}

// Put stores v (one of the record types) under key.
func (d *DB) Put(key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("hints database %s: %w", d.Path, err)
	}
	return d.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).Put([]byte(key), raw)
	})
}

// Delete removes key; a missing key is no error.
func (d *DB) Delete(key string) error {
	return d.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).Delete([]byte(key))
	})
}

// Keys returns all keys in byte order.
func (d *DB) Keys() ([]string, error) {
	var keys []string
	err := d.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, _ []byte) error {
			keys = append(keys, string(k))
			return nil
		})
	})
	sort.Strings(keys)
	return keys, err
}
