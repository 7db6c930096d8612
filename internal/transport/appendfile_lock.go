// Mailbox locking for appendfile: the NFS-safe lock file built with a
// hitching post, and fcntl and flock locks on the open mailbox (spec
// chapter "The appendfile transport", section "Operational details for
// appending").

package transport

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/exigo-mta/exigo/internal/strerror"
)

// lockFile is a held "<mailbox>.lock".
type lockFile struct{ path string }

func (l *lockFile) release() {
	if l != nil {
		os.Remove(l.path)
	}
}

// takeLockfile creates path+".lock" by linking a uniquely named hitching
// post to it, retrying lock_retries times every lock_interval and
// removing a lock older than lockfile_timeout.
func (a *appendfile) takeLockfile(ctx context.Context, path string, cred Cred) (*lockFile, *Result) {
	o := a.opts
	lockName := path + ".lock"
	retries, _ := o.Int("lock_retries")
	interval := o.Duration("lock_interval")
	timeout := o.Duration("lockfile_timeout")
	mode, _ := o.Int("lockfile_mode")
	for attempt := 0; ; attempt++ {
		now := time.Now()
		// Exim's name; another delivery in this process may be using it
		// this very second, then a suffix tells them apart.
		post := fmt.Sprintf("%s.%s.%08x.%08x", lockName, a.hostname, now.Unix(), os.Getpid())
		f, err := os.OpenFile(post, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fs.FileMode(mode))
		if errors.Is(err, fs.ErrExist) {
			post += "." + strconv.FormatInt(now.UnixNano()%1e9, 36)
			f, err = os.OpenFile(post, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fs.FileMode(mode))
		}
		if err != nil {
			// Observed with Exim 4.96: the ids are those the delivery
			// runs as.
			uid, gid := cred.UID, cred.GID
			if uid < 0 {
				uid = os.Geteuid()
			}
			if gid < 0 {
				gid = os.Getegid()
			}
			return nil, &Result{Status: Defer, Err: err, Errno: strerror.Errno(err),
				Message: fmt.Sprintf("%s: creating lock file hitching post %s (euid=%d egid=%d)", strerror.Text(err), post, uid, gid)}
		}
		f.Close()
		chown(post, cred)
		err = os.Link(post, lockName)
		ok := err == nil
		if !ok {
			var st unix.Stat_t
			if unix.Stat(post, &st) == nil && st.Nlink == 2 {
				ok = true
			}
		}
		os.Remove(post)
		if ok {
			return &lockFile{path: lockName}, nil
		}
		if fi, err := os.Stat(lockName); err == nil && timeout > 0 && time.Since(fi.ModTime()) > timeout {
			os.Remove(lockName)
			continue
		}
		// lock_retries attempts (0 counts as 1), each failure followed
		// by lock_interval (as for the fcntl and flock locks).
		if !sleepCtx(ctx, interval) {
			return nil, &Result{Status: Defer, Err: ctx.Err(), Message: "delivery cancelled"}
		}
		if attempt+1 >= int(retries) {
			return nil, &Result{Status: Defer, Errno: ErrnoLockFailed, Message: fmt.Sprintf("failed to lock mailbox %s (lock file)", path)}
		}
	}
}

// useFcntl reports whether fcntl locking is on: use_fcntl_lock when it
// is set, else on unless use_flock_lock is set (spec chapter "The
// appendfile transport", use_fcntl_lock).
func useFcntl(o interface {
	Bool(string) bool
	IsSet(string) bool
}) bool {
	if o.IsSet("use_fcntl_lock") {
		return o.Bool("use_fcntl_lock")
	}
	return !o.Bool("use_flock_lock")
}

// lockOpen takes an exclusive fcntl and/or flock lock on f. A zero
// timeout tries once; a positive one polls until it expires.
func lockOpen(f *os.File, useFcntl, useFlock bool, fcntlTimeout, flockTimeout time.Duration) error {
	fd := int(f.Fd())
	if useFcntl {
		lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0}
		if err := retryLock(fcntlTimeout, func() error { return unix.FcntlFlock(uintptr(fd), unix.F_SETLK, &lk) }); err != nil {
			return fmt.Errorf("fcntl lock: %w", err)
		}
	}
	if useFlock {
		if err := retryLock(flockTimeout, func() error { return unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) }); err != nil {
			return fmt.Errorf("flock lock: %w", err)
		}
	}
	return nil
}

func retryLock(timeout time.Duration, try func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := try()
		if err == nil || timeout <= 0 || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
