package deliver

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"

	"github.com/exigo-mta/exigo/internal/fscred"
	"github.com/exigo-mta/exigo/internal/router"
	"github.com/exigo-mta/exigo/internal/transport"
)

// File operations that a redirect router does as the local user
// (LocalRequest.Op). Exim reads a .forward file and writes an Exim
// filter's logfile with the uid and gid of the user that
// check_local_user found (spec chapter "The redirect router", section
// "Redirection data"; filter document, chapter "Exim filter files",
// section "The logwrite command").
const (
	OpRead   = "read"
	OpAppend = "append"
)

// userFiles is the router.UserFiles of a delivery: in the daemon
// (exim_user, with a LocalRunner) each operation is a request to a
// worker running as the user; in a process running as root the file is
// opened here and a log file it creates is given to the user.
type userFiles struct {
	m *attempt
}

var _ router.UserFiles = userFiles{}

// ReadFile implements router.UserFiles.
func (u userFiles) ReadFile(r router.FileRead) (*router.UserFile, error) {
	if fscred.Needed(r.UID, r.GID) {
		var uf *router.UserFile
		var err error
		if cerr := u.asUser(r.UID, r.GID, func() { uf, err = readLimit(r.Path, r.Limit) }); cerr != nil {
			return nil, cerr
		}
		return uf, err
	}
	if u.m.d.Local == nil || os.Geteuid() == 0 || (r.UID == os.Geteuid() && r.GID == os.Getegid()) {
		return readLimit(r.Path, r.Limit)
	}
	req := &LocalRequest{Op: OpRead, Path: r.Path, Include: r.Include, Limit: r.Limit}
	req.Addresses = []transport.Address{{LocalPart: r.LocalPart, Domain: r.Domain, Prefix: r.Prefix, Suffix: r.Suffix}}
	resp, err := u.request(r.Router, r.LocalPart, r.UID, r.GID, req)
	if err != nil {
		return nil, err
	}
	return &router.UserFile{Data: resp.Data, UID: resp.FileUID, GID: resp.FileGID, Mode: resp.FileMode}, nil
}

// AppendFile implements router.UserFiles.
func (u userFiles) AppendFile(rtr, lp string, uid, gid int, path string, data []byte) error {
	if uid >= 0 && fscred.Needed(uid, gid) {
		var err error
		if cerr := u.asUser(uid, gid, func() { err = appendFile(path, data, uid, gid) }); cerr != nil {
			return cerr
		}
		return err
	}
	if u.m.d.Local == nil || os.Geteuid() == 0 || (uid == os.Geteuid() && gid == os.Getegid()) {
		return appendFile(path, data, uid, gid)
	}
	_, err := u.request(rtr, lp, uid, gid, &LocalRequest{Op: OpAppend, Path: path, Data: data})
	return err
}

// asUser runs fn in this root process with uid's and gid's file-system
// credentials (fscred), as Exim opens a user's files in a process that
// has become the user.
func (u userFiles) asUser(uid, gid int, fn func()) error {
	if err := fscred.Do(fscred.Cred{UID: uid, GID: gid}, func(*fscred.Thread) { fn() }); err != nil {
		return fmt.Errorf("local user process: %w", err)
	}
	return nil
}

// request sends a file operation for the address being routed to the
// LocalRunner and turns a failure into an fs.PathError with its errno.
func (u userFiles) request(rtr, lp string, uid, gid int, req *LocalRequest) (*LocalResponse, error) {
	m := u.m
	req.MessageID, req.Router, req.UID, req.GID = string(m.h.ID), rtr, uid, gid
	if req.Addresses == nil {
		req.Addresses = []transport.Address{{LocalPart: lp}}
	}
	resp, err := m.d.Local.RunLocal(m.ctx, req)
	if err != nil {
		return nil, fmt.Errorf("local user process: %w", err)
	}
	if resp.Errno != 0 {
		op := "open"
		return nil, &fs.PathError{Op: op, Path: req.Path, Err: syscall.Errno(resp.Errno)}
	}
	if resp.Error != "" {
		return nil, errors.New(resp.Error)
	}
	return resp, nil
}

// fileOp is a worker's side of a file operation: the worker runs as the
// user, so the kernel checks the user's permissions.
func fileOp(req *LocalRequest) *LocalResponse {
	resp := &LocalResponse{}
	var err error
	switch req.Op {
	case OpRead:
		var f *router.UserFile
		if (req.Include != "" || req.IncludeData != "") && !includedBy(req.Include, req.IncludeData, req.Path, req.Limit) {
			resp.Errno = int(syscall.EACCES)
			return resp
		}
		f, err = readLimit(req.Path, req.Limit)
		if err == nil {
			resp.Data, resp.FileUID, resp.FileGID, resp.FileMode = f.Data, f.UID, f.GID, f.Mode
		}
	case OpAppend:
		err = appendFile(req.Path, req.Data, -1, -1)
	default:
		resp.Error = fmt.Sprintf("unknown operation %q", req.Op)
		return resp
	}
	if err != nil {
		var errno syscall.Errno
		if errors.As(err, &errno) {
			resp.Errno = int(errno)
		} else {
			resp.Error = err.Error()
		}
	}
	return resp
}

// includedBy reports whether the redirection data in file main (or
// data, when main is empty), or in a file it includes, names path in an
// ":include:" item; the worker reads the files as the user.
func includedBy(main, data, path string, limit int) bool {
	read := func(p string) (string, error) {
		f, err := readLimit(p, limit)
		if err != nil {
			return "", err
		}
		return string(f.Data), nil
	}
	if main != "" {
		var err error
		if data, err = read(main); err != nil {
			return false
		}
	}
	for _, p := range router.IncludedFiles(data, read) {
		if p == path {
			return true
		}
	}
	return false
}

// readLimit reads at most limit+1 bytes of path, with the owner, group
// and mode the open file has; a file that is not a regular file is not
// read.
func readLimit(path string, limit int) (*router.UserFile, error) {
	// O_NONBLOCK: opening a FIFO does not wait for a writer.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	uf := &router.UserFile{}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		uf.UID, uf.GID, uf.Mode = int(sys.Uid), int(sys.Gid), sys.Mode
	}
	if !st.Mode().IsRegular() {
		// Not read (a FIFO would block): the router sees the type in
		// Mode and reports it.
		return uf, nil
	}
	uf.Data, err = io.ReadAll(io.LimitReader(f, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return uf, nil
}

// appendFile appends data to path, creating it with mode 0600 (owned
// by uid/gid when they are set and the process is root), never through
// a symbolic link.
func appendFile(path string, data []byte, uid, gid int) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, fs.ErrNotExist) {
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
		if err == nil && uid >= 0 && os.Geteuid() == 0 {
			if err := f.Chown(uid, gid); err != nil {
				f.Close()
				return fmt.Errorf("chown %s: %w", path, err)
			}
		}
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}
