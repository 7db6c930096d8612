// The appendfile transport: appending to a mailbox file (Exim
// specification chapter "The appendfile transport", sections "The file
// and directory options" and "Operational details for appending").

package transport

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/exigo-mta/exigo/internal/dirsync"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/filesync"
	"github.com/exigo-mta/exigo/internal/strerror"
)

// appendfile is an appendfile transport instance.
type appendfile struct {
	*generic
	// mu and last make maildir names unique within the process: each
	// name's time is at least a microsecond after the previous one's
	// (Exim waits for the clock to tick instead).
	mu   sync.Mutex
	last int64
	// dirs shares directory fsyncs among concurrent deliveries into
	// the same directory (one fsync of maildir new/ for many messages).
	dirs dirsync.Syncer
	// files shares file flushes among concurrent deliveries of new
	// files (one syncfs for many maildir files when little is dirty).
	files filesync.Syncer
	// procFD reports once whether /proc/self/fd is there to give an
	// unnamed file a name (linkat with AT_SYMLINK_FOLLOW).
	procFD func() bool
	// selinux reports once whether SELinux is enabled.
	selinux func() bool
}

func newAppendfile(g *generic) (*appendfile, error) {
	o := g.opts
	if o.IsSet("file") && o.IsSet("directory") {
		return nil, cfgErr(g, "only one of \"file\" or \"directory\" can be specified")
	}
	if o.Bool("maildir_format") && o.Bool("mailstore_format") {
		return nil, cfgErr(g, "only one of maildir and mailstore may be specified")
	}
	if o.Bool("mbx_format") && (o.Bool("maildir_format") || o.Bool("mailstore_format")) {
		return nil, cfgErr(g, "mbx_format may not be set with maildir_format or mailstore_format")
	}
	switch o.String("create_file") {
	case "anywhere", "inhome", "belowhome":
	default:
		if !strings.HasPrefix(o.String("create_file"), "/") {
			return nil, cfgErr(g, "invalid value for create_file: "+o.String("create_file"))
		}
	}
	if !o.Bool("use_lockfile") && !useFcntl(o) && !o.Bool("use_flock_lock") && !o.Bool("use_mbx_lock") && o.IsSet("file") {
		return nil, cfgErr(g, "no locking configured")
	}
	a := &appendfile{generic: g, procFD: sync.OnceValue(func() bool {
		_, err := os.Stat("/proc/self/fd")
		return err == nil
	}), selinux: sync.OnceValue(func() bool {
		_, err := os.Stat("/sys/fs/selinux/enforce")
		return err == nil
	})}
	if err := g.withShadow(); err != nil {
		return nil, err
	}
	return a, nil
}

func cfgErr(g *generic, msg string) error {
	return &cfgError{transport: g.name, msg: msg}
}

// cfgError is a transport set-up error, worded as Exim's "Exim
// configuration error for T transport:" panics.
type cfgError struct{ transport, msg string }

func (c *cfgError) Error() string {
	return fmt.Sprintf("Exim configuration error for %s transport:\n  %s", c.transport, c.msg)
}

// Local implements Transport.
func (a *appendfile) Local() bool { return true }

// Credentials returns the uid and gid a delivery of d runs as.
func (a *appendfile) Credentials(d *Delivery) (Cred, error) {
	c, r := a.credentials(a.newEnv(d), d)
	if r != nil {
		return c, errors.New(r.Message)
	}
	return c, nil
}

// Deliver implements Transport.
func (a *appendfile) Deliver(ctx context.Context, d *Delivery) []Result {
	e := a.newEnv(d)
	rs := a.deliver(ctx, e, d)
	noteReturnPath(e, rs)
	return a.runShadow(ctx, e, d, rs)
}

func (a *appendfile) deliver(ctx context.Context, e *env, d *Delivery) []Result {
	cred, r := a.credentials(e, d)
	if r != nil {
		return results(d, *r)
	}
	if h, err := a.expandOpt(e, "home_directory"); err != nil {
		return results(d, deferErr(err))
	} else if h != "" {
		e.vars["home"] = h
	}
	if r := a.sizeLimit(e, d, d.BodySize); r != nil {
		return results(d, *r)
	}
	if r := a.applyReturnPath(e); r != nil {
		return results(d, *r)
	}
	path, isDir, r := a.target(e, d)
	if r != nil {
		return results(d, *r)
	}
	if isDir {
		return results(d, a.deliverDir(ctx, e, d, cred, path))
	}
	return results(d, a.deliverFile(ctx, e, d, cred, path))
}

func deferErr(err error) Result {
	return Result{Status: Defer, Err: err, Message: err.Error()}
}

// target returns the expanded file or directory to deliver to, and
// whether it is a directory (spec section "The file and directory
// options"). A relative name defers with (-21); a tainted one (from the
// message, as $local_part: spec chapter "String expansions", section
// "Tainted data") is refused as an internal error, logged to the panic
// log too (observed with Exim 4.96, which checks the name is absolute
// first).
func (a *appendfile) target(e *env, d *Delivery) (string, bool, *Result) {
	o := a.opts
	var path string
	isDir := false
	tainted := false
	switch {
	case o.IsSet("file"), o.IsSet("directory"):
		name := "file"
		if !o.IsSet("file") {
			name, isDir = "directory", true
		}
		raw := o.String(name)
		p, t, err := expand.StringTaint(raw, &e.ctx)
		if err != nil {
			r := deferErr(&optError{name: name, transport: a.name, raw: raw, err: err})
			return "", false, &r
		}
		path, tainted = p, t
	default:
		if len(d.Addresses) > 0 && d.Addresses[0].File != "" {
			path = d.Addresses[0].File
			isDir = strings.HasSuffix(path, "/") || o.Bool("maildir_format") || o.Bool("mailstore_format")
		} else {
			//lint:ignore ST1005 the text is Exim's
			r := deferErr(fmt.Errorf("Mandatory file or directory option missing from %s transport", a.name))
			return "", false, &r
		}
	}
	if !strings.HasPrefix(path, "/") {
		return "", false, &Result{Status: Defer, Errno: ErrnoNotAbsolute, Message: fmt.Sprintf("appendfile: file or directory name \"%s\" is not absolute", path)}
	}
	if tainted {
		return "", false, &Result{Status: Defer, Errno: -1, Panic: true, Message: fmt.Sprintf("Tainted '%s' (file or directory name for %s transport) not permitted", logPrintable(path), a.name)}
	}
	return path, isDir, nil
}

// logPrintable escapes the non-printing characters of s as Exim's log
// lines show them: \n, \r, \t, and others as a backslash and three
// octal digits (a header line folded into a file name, observed with
// Exim 4.96).
func logPrintable(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, "\\%03o", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// mboxOpts returns the write options for a mailbox file.
func (a *appendfile) writeOptions(e *env, d *Delivery) (*writeOpts, error) {
	wo := &writeOpts{crlf: a.opts.Bool("use_crlf")}
	var err error
	if wo.prefix, err = a.expandOpt(e, "message_prefix"); err != nil && !forced(err) {
		return nil, err
	}
	if wo.suffix, err = a.expandOpt(e, "message_suffix"); err != nil && !forced(err) {
		return nil, err
	}
	wo.check = a.opts.String("check_string")
	wo.escape = a.opts.String("escape_string")
	if a.opts.Bool("use_bsmtp") {
		a.bsmtp(e, d, wo)
	}
	if err := a.writeHeaderOpts(e, d, wo); err != nil {
		return nil, err
	}
	return wo, nil
}

// rcptAddress is the address sent in RCPT: without affixes unless
// rcpt_include_affixes is set.
// bsmtp wraps the message in batched SMTP (use_bsmtp): MAIL, RCPT and
// DATA before it, "." after it, dot-stuffing in between. Batched SMTP has
// no prefix or suffix unless they are set. Spec: "Generic options for
// transports" and the appendfile and pipe chapters, use_bsmtp.
func (g *generic) bsmtp(e *env, d *Delivery, wo *writeOpts) {
	wo.check, wo.escape, wo.endNL = ".", "..", true
	if !g.opts.IsSet("message_prefix") {
		wo.prefix = ""
	}
	if !g.opts.IsSet("message_suffix") {
		wo.suffix = ""
	}
	rp, _ := e.get("return_path")
	var b strings.Builder
	b.WriteString(wo.prefix)
	fmt.Fprintf(&b, "MAIL FROM:<%s>\n", rp)
	for _, ad := range d.Addresses {
		fmt.Fprintf(&b, "RCPT TO:<%s>\n", rcptAddress(g, ad))
	}
	b.WriteString("DATA\n")
	wo.prefix = b.String()
	wo.suffix = ".\n" + wo.suffix
}

func rcptAddress(g *generic, ad Address) string {
	if g.opts.Bool("rcpt_include_affixes") || ad.LocalPart == "" || (ad.Prefix == "" && ad.Suffix == "") {
		return ad.Address
	}
	return ad.LocalPart + "@" + ad.Domain
}

// deliverFile appends the message to the mailbox file path.
func (a *appendfile) deliverFile(ctx context.Context, e *env, d *Delivery, cred Cred, path string) Result {
	o := a.opts
	if path == "/dev/null" {
		return Result{Status: OK}
	}
	if o.Bool("create_directory") {
		if err := a.makeDirs(filepath.Dir(path), cred); err != nil {
			return dirFailure(err, "failed to create directories for "+path+": "+strerror.Text(err))
		}
	}
	if r := a.checkCreateFile(e, path); r != nil {
		return *r
	}
	var lock *lockFile
	if o.Bool("use_lockfile") {
		l, r := a.takeLockfile(ctx, path, cred)
		if r != nil {
			return *r
		}
		lock = l
		defer lock.release()
	}
	f, r := a.openMailbox(ctx, path, cred)
	if r != nil {
		return *r
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return deferErr(fmt.Errorf("fstat of %s: %w", path, err))
	}
	start := st.Size()
	if r := a.checkQuota(e, d, start, path, false); r != nil {
		return *r
	}
	wo, err := a.writeOptions(e, d)
	if err != nil {
		return deferErr(err)
	}
	if _, err := f.Seek(0, 2); err != nil {
		return deferErr(fmt.Errorf("seek in %s: %w", path, err))
	}
	n, err := writeMessage(f, d, wo)
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		// Take back a partly written message (spec 26.3).
		f.Truncate(start)
		return a.writeFailure(err, path)
	}
	if q, ok := a.quotaValue(e); ok && q > 0 && a.opts.Bool("quota_is_inclusive") && start+n > q {
		f.Truncate(start)
		f.Sync()
		return quotaResult(path)
	}
	e.vars["message_size"] = fmt.Sprint(n)
	a.quotaWarn(e, start, start+n)
	return Result{Status: OK}
}

// writeFailure turns a write error into a result: a full disk is a
// quota-like defer.
func (a *appendfile) writeFailure(err error, path string) Result {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		if errno == syscall.EDQUOT || errno == syscall.ENOSPC {
			return Result{Status: Defer, Errno: int(errno), ErrCode: ErrQuota, Err: err,
				Message: fmt.Sprintf("%s: error while writing to %s", errno.Error(), path)}
		}
		return Result{Status: Defer, Errno: int(errno), Err: err, Message: fmt.Sprintf("%s: error while writing to %s", errno.Error(), path)}
	}
	return deferErr(fmt.Errorf("error while writing to %s: %w", path, err))
}

// dirFailure is the deferral for a directory makeDirs could not create,
// with Exim's text: the C library's text for the errno, then what.
func dirFailure(err error, what string) Result {
	errno := strerror.Errno(err)
	if errno == 0 {
		return deferErr(err)
	}
	return Result{Status: Defer, Err: err, Errno: errno, Message: strerror.Text(err) + ": " + what}
}

// makeDirs creates the missing directories of dir with directory_mode,
// owned by the delivery user.
func (a *appendfile) makeDirs(dir string, cred Cred) error {
	mode, _ := a.opts.Int("directory_mode")
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		return nil
	}
	var missing []string
	for p := dir; p != "/" && p != "."; p = filepath.Dir(p) {
		if _, err := os.Stat(p); err == nil {
			break
		}
		missing = append(missing, p)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		p := missing[i]
		if err := os.Mkdir(p, fs.FileMode(mode)); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("failed to create directory %s: %w", p, err)
		}
		os.Chmod(p, fs.FileMode(mode))
		chown(p, cred)
	}
	return nil
}

// chown hands a file the process created as root to the delivery user.
func chown(p string, cred Cred) {
	if os.Geteuid() == 0 && cred.UID != 0 {
		os.Lchown(p, cred.UID, cred.GID)
	}
}

// checkCreateFile applies create_file to a file that does not exist yet.
func (a *appendfile) checkCreateFile(e *env, path string) *Result {
	cf := a.opts.String("create_file")
	if cf == "anywhere" {
		return nil
	}
	if _, err := os.Lstat(path); err == nil {
		return nil
	}
	home, _ := e.get("home")
	ok := false
	switch {
	case cf == "inhome":
		ok = home != "" && filepath.Dir(path) == filepath.Clean(home)
	case cf == "belowhome":
		ok = home != "" && strings.HasPrefix(path, filepath.Clean(home)+"/")
	default:
		ok = strings.HasPrefix(path, filepath.Clean(cf)+"/")
	}
	if !ok {
		return &Result{Status: Defer, Message: fmt.Sprintf("failed to create file %s: not in home directory", path)}
	}
	return nil
}

// openMailbox opens (or creates) the mailbox, checks its type, owner and
// mode, and takes the fcntl and flock locks (spec 26.3).
func (a *appendfile) openMailbox(ctx context.Context, path string, cred Cred) (*os.File, *Result) {
	o := a.opts
	mode, _ := o.Int("mode")
	retries, _ := o.Int("lock_retries")
	interval := o.Duration("lock_interval")
	timeout := o.Duration("lock_flock_timeout")
	if useFcntl(o) {
		timeout = o.Duration("lock_fcntl_timeout")
	}
	if timeout > 0 {
		// Blocking locks: (lock_retries * lock_interval) / timeout
		// attempts, rounded up, with no pause between them (spec
		// section "Operational details for appending").
		retries = int64((time.Duration(retries)*interval + timeout - 1) / timeout)
		interval = 0
	}
	for attempt := 0; ; attempt++ {
		f, r := a.openOnce(path, cred, fs.FileMode(mode))
		if r != nil {
			return nil, r
		}
		err := lockOpen(f, useFcntl(o), o.Bool("use_flock_lock"), o.Duration("lock_fcntl_timeout"), o.Duration("lock_flock_timeout"))
		if err == nil {
			return f, nil
		}
		f.Close()
		// lock_retries attempts (0 counts as 1), each failure followed
		// by lock_interval, the last one too (timed with Exim 4.96).
		if interval > 0 && !sleepCtx(ctx, interval) {
			return nil, &Result{Status: Defer, Err: ctx.Err(), Message: "delivery cancelled"}
		}
		if attempt+1 >= int(retries) {
			// Exim 4.96 names both kinds whichever it used.
			return nil, &Result{Status: Defer, Err: err, Errno: ErrnoLockFailed, Message: fmt.Sprintf("failed to lock mailbox %s (fcntl/flock)", path)}
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (a *appendfile) openOnce(path string, cred Cred, mode fs.FileMode) (*os.File, *Result) {
	o := a.opts
	for loop := 0; loop < 10; loop++ {
		fi, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) {
			if o.Bool("file_must_exist") {
				return nil, &Result{Status: Defer, Errno: int(syscall.ENOENT), Message: fmt.Sprintf("File %s does not exist", path)}
			}
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, mode)
			if errors.Is(err, fs.ErrExist) {
				continue
			}
			if err != nil {
				return nil, &Result{Status: Defer, Err: err, Errno: strerror.Errno(err), Message: fmt.Sprintf("while creating file %s: %s", path, strerror.Text(err))}
			}
			f.Chmod(mode)
			if os.Geteuid() == 0 && cred.UID != 0 {
				f.Chown(cred.UID, cred.GID)
			}
			return f, nil
		}
		if err != nil {
			return nil, &Result{Status: Defer, Err: err, Errno: strerror.Errno(err), Message: fmt.Sprintf("while checking %s: %s", path, strerror.Text(err))}
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			if !o.Bool("allow_symlink") {
				return nil, &Result{Status: Defer, Message: fmt.Sprintf("mailbox %s is a symbolic link", path)}
			}
			if fi, err = os.Stat(path); err != nil {
				return nil, &Result{Status: Defer, Err: err, Message: fmt.Sprintf("while checking %s: %s", path, strerror.Text(err))}
			}
		}
		if fi.Mode()&fs.ModeNamedPipe != 0 && o.Bool("allow_fifo") {
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				return nil, &Result{Status: Defer, Err: err, Message: fmt.Sprintf("while opening fifo %s: %s", path, strerror.Text(err))}
			}
			return f, nil
		}
		if !fi.Mode().IsRegular() {
			return nil, &Result{Status: Defer, Message: fmt.Sprintf("mailbox %s is not a regular file", path)}
		}
		sys := fi.Sys().(*syscall.Stat_t)
		if o.Bool("check_owner") && int(sys.Uid) != cred.UID {
			return nil, &Result{Status: Defer, Errno: ErrnoMailUid, Message: fmt.Sprintf("mailbox %s has wrong uid (%d != %d)", path, sys.Uid, cred.UID)}
		}
		if o.Bool("check_group") && int(sys.Gid) != cred.GID {
			return nil, &Result{Status: Defer, Errno: ErrnoMailUid - 1, Message: fmt.Sprintf("mailbox %s has wrong gid (%d != %d)", path, sys.Gid, cred.GID)}
		}
		have := fi.Mode().Perm()
		if have&^mode != 0 {
			os.Chmod(path, have&mode)
		} else if have != mode && o.Bool("mode_fail_narrower") {
			return nil, &Result{Status: Defer, Errno: ErrnoMailUid - 2, Message: fmt.Sprintf("mailbox %s has the wrong mode %o (%o expected)", path, have, mode)}
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, &Result{Status: Defer, Err: err, Errno: strerror.Errno(err), Message: fmt.Sprintf("while opening %s: %s", path, strerror.Text(err))}
		}
		if nfi, err := f.Stat(); err != nil || nfi.Sys().(*syscall.Stat_t).Ino != sys.Ino {
			f.Close()
			return nil, &Result{Status: Defer, Freeze: true, Message: fmt.Sprintf("file %s changed while it was being opened", path)}
		}
		return f, nil
	}
	return nil, &Result{Status: Defer, Freeze: true, Message: fmt.Sprintf("mailbox %s keeps appearing and disappearing", path)}
}
