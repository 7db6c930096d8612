package spool

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// ErrLocked is returned when another process or goroutine holds a
// message's lock.
var ErrLocked = errors.New("spool file is locked")

// lockFile takes a non-blocking write lock on the whole of f. Exim locks
// the -D file with fcntl() for as long as it works on a message (spec
// chapter 57: "take out a write lock on the -D file, which is what Exim
// itself does, using fcntl()"). exigo uses open-file-description locks
// (F_OFD_SETLK): they conflict with Exim's classic fcntl locks, and unlike
// those they also conflict between two goroutines of one process.
func lockFile(f *os.File) error {
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: 0, Len: 0}
	err := unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lk)
	if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EACCES) {
		return ErrLocked
	}
	if err != nil {
		return fmt.Errorf("locking %s: %w", f.Name(), err)
	}
	return nil
}

// Lock is a held lock on one message; it keeps the -D file open.
type Lock struct {
	// ID is the locked message.
	ID ID
	// Dir is the directory holding the message's -H and -D files.
	Dir  string
	data *os.File
}

// Data returns the open -D file (read-write). Its first line is the
// file's name; DataOffset is where the body starts.
func (l *Lock) Data() *os.File { return l.data }

// DataOffset is the offset of the body in a -D file: the id, "-D" and a
// newline.
const DataOffset = IDLen + 3

// Unlock releases the lock and closes the -D file.
func (l *Lock) Unlock() error {
	if l.data == nil {
		return nil
	}
	err := l.data.Close()
	l.data = nil
	if err != nil {
		return fmt.Errorf("unlocking %s: %w", l.ID, err)
	}
	return nil
}
