package spool

import (
	"os"

	"golang.org/x/sys/unix"
)

// The spool opens three or four files per message on its hottest path.
// os.OpenFile tries to add every file it opens to the runtime's network
// poller, which costs four extra system calls per regular file (set
// non-blocking, a refused epoll_ctl, set blocking again), and os.Rename
// stats its target first. These helpers make the plain system calls.

// openFile opens path like os.OpenFile, without the poller round trip.
// O_CLOEXEC is always added. Errors are *os.PathError, as os.OpenFile's.
func openFile(path string, flag int, perm uint32) (*os.File, error) {
	var fd int
	var err error
	for {
		fd, err = unix.Open(path, flag|unix.O_CLOEXEC, perm)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// rename renames oldpath to newpath with one renameat(2); unlike
// os.Rename it does not stat newpath first (the spool never renames onto
// a directory). Errors are *os.LinkError, as os.Rename's.
func rename(oldpath, newpath string) error {
	if err := unix.Rename(oldpath, newpath); err != nil {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: err}
	}
	return nil
}

// syncfsMinFiles is the smallest group flushed with syncfs(2): one file
// is enough, because on ext4 one syncfs also replaces the synchronous
// inode-table write that each fdatasync makes.
const syncfsMinFiles = 1
