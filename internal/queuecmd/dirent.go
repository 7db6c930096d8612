package queuecmd

import (
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// msgIDLen is the length of an Exim 4.96 message id.
const msgIDLen = 16

// dirEntry is one message found in a directory of the spool.
type dirEntry struct {
	id  string
	dir int // index into the lister's directory list
}

// readNames calls fn with each name in the directory open as fd, reading
// the raw getdents64 records so that no per-name allocation happens for
// names fn ignores. typ is the d_type byte (unix.DT_DIR, ...).
func readNames(fd int, buf []byte, fn func(name []byte, typ byte)) error {
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n <= 0 {
			return nil
		}
		for off := 0; off < n; {
			// struct linux_dirent64: ino u64, off s64, reclen u16,
			// type u8, name NUL-terminated.
			reclen := int(buf[off+16]) | int(buf[off+17])<<8
			if reclen == 0 || off+reclen > n {
				return fmt.Errorf("getdents: bad record length")
			}
			typ := buf[off+18]
			name := buf[off+19 : off+reclen]
			for i, c := range name {
				if c == 0 {
					name = name[:i]
					break
				}
			}
			fn(name, typ)
			off += reclen
		}
	}
}

// isHeaderName reports whether name is "<message id>-H".
func isHeaderName(name []byte) bool {
	if len(name) != msgIDLen+2 || name[msgIDLen] != '-' || name[msgIDLen+1] != 'H' {
		return false
	}
	return validID(name[:msgIDLen])
}

// validID checks the shape of a message id: 6, 6 and 2 base-62 digits.
func validID(s []byte) bool {
	if len(s) != msgIDLen || s[6] != '-' || s[13] != '-' {
		return false
	}
	for i, c := range s {
		if i == 6 || i == 13 {
			continue
		}
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// isSplitDir reports whether a name is a split_spool_directory
// sub-directory (one base-62 character).
func isSplitDir(name []byte, typ byte) bool {
	if len(name) != 1 || (typ != unix.DT_DIR && typ != unix.DT_UNKNOWN) {
		return false
	}
	c := name[0]
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

// openDir opens a directory for getdents and *at calls.
func openDir(path string) (int, error) {
	for {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return -1, &pathError{op: "open", path: path, err: err}
		}
		return fd, nil
	}
}

// pathError is an error about a file, printed as Exim prints errno texts.
type pathError struct {
	op, path string
	err      error
}

func (e *pathError) Error() string { return e.op + " " + e.path + ": " + e.err.Error() }
func (e *pathError) Unwrap() error { return e.err }

// scanDirs lists the -H files of a spool: input/ and each one-character
// sub-directory of it (split_spool_directory; Exim reads both whatever
// the setting). It returns the directories (the first is input/) with
// their open fds, and the entries. countOnly skips collecting ids.
func scanDirs(spoolDir string, countOnly bool) (dirs []string, fds []int, entries []dirEntry, count int, err error) {
	top := filepath.Join(spoolDir, "input")
	fd, err := openDir(top)
	if err != nil {
		return nil, nil, nil, 0, err
	}
	buf := make([]byte, 256<<10)
	dirs, fds = []string{top}, []int{fd}
	var subs []string
	collect := func(d int) func([]byte, byte) {
		return func(name []byte, typ byte) {
			if isHeaderName(name) {
				count++
				if !countOnly {
					entries = append(entries, dirEntry{id: string(name[:msgIDLen]), dir: d})
				}
				return
			}
			if d == 0 && isSplitDir(name, typ) {
				subs = append(subs, string(name))
			}
		}
	}
	if err := readNames(fd, buf, collect(0)); err != nil {
		closeAll(fds)
		return nil, nil, nil, 0, &pathError{op: "reading", path: top, err: err}
	}
	for _, s := range subs {
		p := filepath.Join(top, s)
		sfd, err := openDir(p)
		if err != nil {
			continue // a file named like a sub-directory
		}
		dirs, fds = append(dirs, p), append(fds, sfd)
		if err := readNames(sfd, buf, collect(len(fds)-1)); err != nil {
			closeAll(fds)
			return nil, nil, nil, 0, &pathError{op: "reading", path: p, err: err}
		}
	}
	return dirs, fds, entries, count, nil
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}
