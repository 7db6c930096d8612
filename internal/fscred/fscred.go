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
// each thread. Do locks the calling goroutine to its thread, sets them
// there and runs the work, so every open, create, mkdir, link and
// rename is checked against the user's permissions (the thread also
// loses root's file-system capabilities: it cannot override permissions
// or chown to another user), and what it creates is the user's. The
// thread gets root's credentials back before it is unlocked, so no other
// goroutine ever runs with the user's; no thread started meanwhile
// inherits them (Go starts threads from a clean template thread while
// the calling one is locked).
package fscred

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/exigo-mta/exigo/internal/userdb"
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
	root []int // the process's groups, restored afterwards
}

// Do runs fn on the calling goroutine, locked to its OS thread, with
// c's file-system credentials; the thread's own are restored, and the
// thread unlocked, when fn returns. It fails, without running fn, when
// the credentials cannot be taken (the process is not root).
//
// Restoring root's file-system uid and gid cannot fail in a root
// process; should the supplementary groups fail to be restored, Do
// panics rather than hand the thread back to other goroutines with the
// user's groups.
func Do(c Cred, fn func(*Thread)) error {
	runtime.LockOSThread()
	root, err := unix.Getgroups()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("getgroups: %w", err)
	}
	th := &Thread{c: c, root: root}
	if err := th.enter(); err != nil {
		return err
	}
	defer th.leave()
	fn(th)
	return nil
}

// AsRoot runs fn as the process itself: with its own (root) file-system
// credentials, on any thread. A user's run uses it for what is the MTA's
// own business (main log lines, the spool's files, messages it submits)
// and around long waits (a shared flush round), so that the waiting
// goroutine is not tied to its thread. It must be called from the
// goroutine that called Do, else it fails without running fn. Should the
// user's credentials fail to be taken again afterwards, AsRoot panics:
// the run must not go on as root.
func (t *Thread) AsRoot(fn func()) error {
	if unix.Gettid() != t.tid {
		return errors.New("fscred: AsRoot called outside the run's thread")
	}
	t.leave()
	fn()
	runtime.LockOSThread()
	if err := t.enter(); err != nil {
		panic("fscred: cannot take the user's credentials again: " + err.Error())
	}
	return nil
}

// enter takes the user's credentials on the current thread, which the
// caller has locked; on failure the thread is left as it was, unlocked.
func (t *Thread) enter() error {
	t.tid = unix.Gettid()
	if err := t.take(t.c.UID, t.c.GID, t.c.Groups); err != nil {
		t.leave()
		return err
	}
	return nil
}

// leave gives the thread back its own credentials and unlocks it.
func (t *Thread) leave() {
	unix.Setfsuid(0)
	unix.Setfsgid(0)
	if err := unix.Setgroups(t.root); err != nil {
		panic("fscred: cannot restore the thread's groups: " + err.Error())
	}
	if got, _ := unix.SetfsuidRetUid(-1); got != 0 {
		panic(fmt.Sprintf("fscred: cannot restore the thread's file-system uid: it is %d", got))
	}
	runtime.UnlockOSThread()
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
	ids, _ := userdb.GroupIDs(login)
	for _, id := range ids {
		if n, err := strconv.Atoi(id); err == nil && n != gid {
			out = append(out, n)
		}
	}
	return out
}
