package spool

import (
	"bytes"
	"os"
	"strconv"

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

// syncfsMaxDirty is the most data (dirty or under writeback, in the
// whole system) for which a group is flushed with one syncfs(2) rather
// than one fdatasync(2) per file.
const syncfsMaxDirty = 32 << 20

// syncfsMinFiles is the smallest group flushed with syncfs(2): one file
// is enough, because on ext4 one syncfs also replaces the synchronous
// inode-table write that each fdatasync makes.
const syncfsMinFiles = 1

// littleDirtyData reports whether the system holds at most
// syncfsMaxDirty bytes of data waiting to be written, according to
// /proc/meminfo ("Dirty:" and "Writeback:"). syncfs(2) writes back
// everything dirty on the file system, so it is a cheap way to flush a
// group only when little else is waiting; then it is much cheaper than
// a call per file (on ext4 each fdatasync also writes the file's inode
// table block synchronously, once per file).
func littleDirtyData() bool {
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
	total, ok := pendingWrites(buf[:n])
	return ok && total <= syncfsMaxDirty
}

// pendingWrites sums the "Dirty:" and "Writeback:" lines of
// /proc/meminfo, in bytes; ok is false when either is missing.
func pendingWrites(meminfo []byte) (total int64, ok bool) {
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
