// Package fscred runs file-system work in a root process with a user's
// file-system credentials, the way Exim's local deliveries run in a
// process that has given up root for the delivery's uid and gid (Exim
// specification, chapter "Environment for running local transports",
// section "Uids and gids").
//
// The daemon runs such deliveries in worker processes started as the
// user (internal/daemon). A process that is itself root (a queue run,
// -M, or an immediate delivery after local submission) does not need
// another process to lose its privileges for one run: Linux keeps a
// file-system uid, a file-system gid and the supplementary groups for
// each thread. Do sets them on a thread of its own and runs the work
// there, so every open, create, mkdir, link and rename is checked
// against the user's permissions (the thread also loses root's
// file-system capabilities: it cannot override permissions or chown to
// another user), and what it creates is the user's. The thread is never
// handed back to the Go scheduler: it ends with the work, so no other
// goroutine ever runs with those credentials, and no thread started
// later inherits them (Go starts threads from a clean template thread
// while the calling one is locked).
package fscred

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// Cred is the identity a piece of work runs with.
type Cred struct {
	// UID and GID become the thread's file-system uid and gid.
	UID, GID int
	// Groups are the supplementary groups; none means just GID.
	Groups []int
}

// Thread is the thread Do runs its work on.
type Thread struct {
	tid  int
	c    Cred
	root []int // the process's groups, for AsRoot
}

// errAborted is Do's error when the work was cut short because the
// thread could not take the user's credentials again after AsRoot.
var errAborted = errors.New("fscred: could not take the user's credentials again; the run was abandoned")

// Do runs fn on an OS thread of its own with c's file-system
// credentials, and returns when fn has returned. It fails, without
// running fn, when the credentials cannot be taken (the process is not
// root). A panic in fn ends the process, as it would on any goroutine.
func Do(c Cred, fn func(*Thread)) error {
	done := make(chan error, 1)
	go func() {
		// Never unlocked: the thread ends with this goroutine.
		runtime.LockOSThread()
		err := errAborted
		defer func() { done <- err }()
		root, gerr := unix.Getgroups()
		if gerr != nil {
			err = fmt.Errorf("getgroups: %w", gerr)
			return
		}
		th := &Thread{tid: unix.Gettid(), c: c, root: root}
		if err = th.take(c.UID, c.GID, c.Groups); err != nil {
			return
		}
		err = errAborted
		fn(th)
		err = nil
	}()
	return <-done
}

// AsRoot runs fn with the process's own (root) file-system credentials,
// for the parts of a user's run that are the MTA's own business: main
// log lines, and messages it submits to the spool. It must be called on
// the work's thread (from the goroutine Do started), else it fails
// without running fn. When the user's credentials cannot be taken back
// afterwards, the work is abandoned (Do then returns an error) rather
// than carried on as root.
func (t *Thread) AsRoot(fn func()) error {
	if unix.Gettid() != t.tid {
		return errors.New("fscred: AsRoot called outside the run's thread")
	}
	if err := t.take(0, 0, t.root); err != nil {
		return err
	}
	fn()
	if err := t.take(t.c.UID, t.c.GID, t.c.Groups); err != nil {
		runtime.Goexit()
	}
	return nil
}

// take sets the calling thread's groups, fsgid and fsuid (in that order:
// the groups and gid need the privileges the uid gives up).
func (t *Thread) take(uid, gid int, groups []int) error {
	if len(groups) == 0 {
		groups = []int{gid}
	}
	if err := unix.Setgroups(groups); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	unix.Setfsgid(gid)
	if got, _ := unix.SetfsgidRetGid(-1); got != gid {
		return fmt.Errorf("setfsgid(%d) failed: file-system gid is %d", gid, got)
	}
	unix.Setfsuid(uid)
	if got, _ := unix.SetfsuidRetUid(-1); got != uid {
		return fmt.Errorf("setfsuid(%d) failed: file-system uid is %d", uid, got)
	}
	return nil
}

// Needed reports whether work for uid and gid must run under Do in this
// process: the process is root and the work is not.
func Needed(uid, gid int) bool {
	return os.Geteuid() == 0 && (uid != 0 || gid != 0)
}

// UserGroups is gid followed by the other groups login belongs to (the
// initgroups option of the transports and routers); just gid when login
// is empty or unknown.
func UserGroups(login string, gid int) []int {
	out := []int{gid}
	if login == "" {
		return out
	}
	u, err := user.Lookup(login)
	if err != nil {
		return out
	}
	ids, _ := u.GroupIds()
	for _, id := range ids {
		if n, err := strconv.Atoi(id); err == nil && n != gid {
			out = append(out, n)
		}
	}
	return out
}
