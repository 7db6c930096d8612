// appendfile delivery to new files: maildir, mailstore and plain
// directory delivery, and quotas (spec chapter "The appendfile
// transport", sections "Operational details for delivery to a new file"
// to "Non-special new file delivery").

package transport

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/exigo-mta/exigo/internal/spool"
	"github.com/exigo-mta/exigo/internal/strerror"
)

// deliverDir writes the message as a new file (or two) in dir.
func (a *appendfile) deliverDir(ctx context.Context, e *env, d *Delivery, cred Cred, dir string) Result {
	o := a.opts
	dir = strings.TrimSuffix(dir, "/")
	if o.Bool("create_directory") {
		if err := a.makeDirs(dir, cred); err != nil {
			// Exim 4.96 names the directory for a maildir, and the file
			// it was about to create for the other formats.
			what := "cannot create " + dir
			if !o.Bool("maildir_format") {
				what = "while creating file " + a.plainDirTemp(dir)
			}
			return dirFailure(err, what)
		}
	} else if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return Result{Status: Defer, Message: fmt.Sprintf("directory %s does not exist", dir)}
	}
	switch {
	case o.Bool("maildir_format"):
		return a.deliverMaildir(ctx, e, d, cred, dir)
	case o.Bool("mailstore_format"):
		return a.deliverMailstore(e, d, cred, dir)
	}
	return a.deliverPlainDir(e, d, cred, dir)
}

// newFile creates path exclusively with the transport's mode, owned by
// the delivery user.
func (a *appendfile) newFile(path string, cred Cred) (*os.File, error) {
	mode, _ := a.opts.Int("mode")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fs.FileMode(mode))
	if err != nil {
		return nil, err
	}
	f.Chmod(fs.FileMode(mode))
	if os.Geteuid() == 0 && cred.UID != 0 {
		f.Chown(cred.UID, cred.GID)
	}
	return f, nil
}

// spareFile opens a spare file lent by d.Spares for a new file in dir,
// made as newFile would make it: empty, with the transport's mode, owned
// by the delivery user, with the current times. It is nil when there is
// no spare to lend or it cannot be made so. The file keeps its name in
// the lender's directory until the caller links it into place and
// removes that name. Only a root process, which sets the owner and group
// explicitly, uses spares, and not where SELinux labels files (a spare
// keeps its spool label).
func (a *appendfile) spareFile(d *Delivery, dir string, cred Cred) *os.File {
	if d.Spares == nil || os.Geteuid() != 0 || a.selinux() {
		return nil
	}
	var f *os.File
	// The spool's files are root's business even in a run made with a
	// user's credentials; the file handed back is the user's.
	d.asRoot(func() {
		path, ok := d.Spares.TakeSpare(dir)
		if !ok {
			return
		}
		mode, _ := a.opts.Int("mode")
		// The spare may hold an old message: writeSynced cuts it to
		// what it writes.
		fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
		if err != nil {
			os.Remove(path)
			return
		}
		now := unix.NsecToTimeval(time.Now().UnixNano())
		if unix.Fchown(fd, cred.UID, cred.GID) != nil || unix.Fchmod(fd, uint32(mode)) != nil ||
			unix.Futimes(fd, []unix.Timeval{now, now}) != nil {
			unix.Close(fd)
			os.Remove(path)
			return
		}
		f = os.NewFile(uintptr(fd), path)
	})
	return f
}

// newAnonFile opens an unnamed file in dir (O_TMPFILE) with the
// transport's mode, owned by the delivery user. It returns nil and no
// error when the kernel or the file system has no unnamed files, or
// /proc is not there to name one later; the caller then creates a named
// file. An unnamed file needs no directory entry until it is complete
// (nothing to remove afterwards, and concurrent deliveries do not
// contend for tmp/), and a crash leaves nothing behind in tmp/.
func (a *appendfile) newAnonFile(dir string, cred Cred) (*os.File, error) {
	if !a.procFD() {
		return nil, nil
	}
	mode, _ := a.opts.Int("mode")
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, uint32(mode))
	if err != nil {
		if err == unix.EOPNOTSUPP || err == unix.EISDIR || err == unix.EINVAL {
			return nil, nil
		}
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	f := os.NewFile(uintptr(fd), dir)
	f.Chmod(fs.FileMode(mode))
	if os.Geteuid() == 0 && cred.UID != 0 {
		f.Chown(cred.UID, cred.GID)
	}
	return f, nil
}

// writeNew writes the message to f, syncs and closes it; quota is the
// limit on the mailbox after the write (0 none) given the size used.
func (a *appendfile) writeNew(f *os.File, e *env, d *Delivery, used, quota int64) (int64, error) {
	n, err := a.writeSynced(f, e, d, used, quota, false)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// writeSynced writes the message to f from its start and makes it
// durable, leaving f open. A file lent by the spool (spare set) is cut
// where the message ends, not where its last use did.
func (a *appendfile) writeSynced(f *os.File, e *env, d *Delivery, used, quota int64, spare bool) (int64, error) {
	wo, err := a.writeOptions(e, d)
	if err != nil {
		return 0, err
	}
	n, err := writeMessage(f, d, wo)
	if err == nil && quota > 0 && used+n > quota {
		err = errQuota
	}
	if err == nil && spare {
		err = f.Truncate(n)
	}
	if err == nil {
		d.asRoot(func() { err = a.files.Sync(f) })
	}
	return n, err
}

// syncDir makes dir's entries durable, sharing the fsync with the
// deliveries finishing at the same time. A run with a user's credentials
// waits for the shared round as the process itself (Delivery.AsRoot),
// not tied to its thread.
func (a *appendfile) syncDir(d *Delivery, dir string) error {
	var err error
	d.asRoot(func() { err = a.dirs.Sync(dir) })
	return err
}

var errQuota = errors.New("quota exceeded")

// deliverMaildir writes tmp/<sec>.M<usec>P<pid>.<host>, then renames it
// into new/ with maildir_tag added (spec sections "Maildir delivery",
// "Using tags to record message sizes"). Exim 4.96 writes ".M" before
// the microseconds, not the ".H" the specification shows.
func (a *appendfile) deliverMaildir(ctx context.Context, e *env, d *Delivery, cred Cred, dir string) Result {
	o := a.opts
	for _, sub := range []string{"tmp", "new", "cur"} {
		if err := a.makeDirs(filepath.Join(dir, sub), cred); err != nil {
			return deferErr(err)
		}
	}
	if re := o.String("maildirfolder_create_regex"); re != "" {
		if ok, _ := regexp.MatchString(re, dir); ok {
			mf := filepath.Join(dir, "maildirfolder")
			if f, err := a.newFile(mf, cred); err == nil {
				f.Close()
			} else if !errors.Is(err, fs.ErrExist) {
				return deferErr(fmt.Errorf("failed to create %s: %w", mf, err))
			}
		}
	}
	quota, hasQuota := a.quotaValue(e)
	var used int64
	sizeFile := ""
	if o.Bool("maildir_use_size_file") {
		sizeFile = filepath.Join(a.maildirTop(dir), "maildirsize")
		u, err := a.maildirSize(sizeFile, a.maildirTop(dir), quota, cred)
		if err != nil {
			return deferErr(err)
		}
		used = u
	} else if hasQuota && quota > 0 {
		used = a.dirSize(e, a.maildirTop(dir))
	}
	if !hasQuota {
		quota = 0
	}
	retries, _ := o.Int("maildir_retries")
	if f := a.spareFile(d, dir, cred); f != nil {
		return a.finishMaildir(ctx, e, d, f, f.Name(), dir, int(retries), used, quota, sizeFile)
	}
	f, err := a.newAnonFile(filepath.Join(dir, "tmp"), cred)
	if err != nil {
		tmp := filepath.Join(dir, "tmp")
		return Result{Status: Defer, Err: err, Errno: strerror.Errno(err), Message: fmt.Sprintf("while creating file in %s: %s", tmp, strerror.Text(err))}
	}
	if f != nil {
		return a.finishMaildir(ctx, e, d, f, "", dir, int(retries), used, quota, sizeFile)
	}
	name := a.maildirName(d)
	tmp := filepath.Join(dir, "tmp", name)
	for try := 0; f == nil; try++ {
		var err error
		f, err = a.newFile(tmp, cred)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || try >= int(retries) {
			return Result{Status: Defer, Err: err, Errno: strerror.Errno(err), Message: fmt.Sprintf("while creating file %s: %s", tmp, strerror.Text(err))}
		}
		// Exim waits 2 seconds; within one process a microsecond is
		// enough for a new name.
		if !sleepCtx(ctx, time.Microsecond) {
			return Result{Status: Defer, Message: "delivery cancelled"}
		}
		name = a.maildirName(d)
		tmp = filepath.Join(dir, "tmp", name)
	}
	n, err := a.writeNew(f, e, d, used, quota)
	if err != nil {
		os.Remove(tmp)
		if errors.Is(err, errQuota) {
			return quotaResult("tmp/" + name)
		}
		return a.writeFailure(err, tmp)
	}
	e.vars["message_size"] = strconv.FormatInt(n, 10)
	tag, res := a.maildirTag(e)
	if res != nil {
		os.Remove(tmp)
		return *res
	}
	dst := filepath.Join(dir, "new", name+tag)
	// link, not rename: never replace an existing message.
	if err := os.Link(tmp, dst); err != nil {
		os.Remove(tmp)
		return Result{Status: Defer, Err: err, Errno: strerror.Errno(err), Message: fmt.Sprintf("failed to rename %s as %s: %s", tmp, dst, strerror.Text(err))}
	}
	os.Remove(tmp)
	return a.maildirDone(d, dir, sizeFile, e, n, used)
}

// maildirName is a new maildir file name, <sec>.M<usec>P<pid>.<host>.
func (a *appendfile) maildirName(d *Delivery) string {
	now := a.uniqueTime(d.now())
	return fmt.Sprintf("%d.M%dP%d.%s", now.Unix(), now.Nanosecond()/1000, os.Getpid(), a.hostname)
}

// maildirTag is the expanded maildir_tag, cleaned and with its leading
// colon; res is set when the expansion failed.
func (a *appendfile) maildirTag(e *env) (string, *Result) {
	raw := a.opts.String("maildir_tag")
	if raw == "" {
		return "", nil
	}
	tag, err := e.expand(raw)
	if err != nil && !forced(err) {
		//lint:ignore ST1005 the text is Exim's
		r := deferErr(fmt.Errorf("Expansion of \"%s\" (maildir_tag for %s transport) failed: %w", raw, a.name, err))
		return "", &r
	}
	tag = cleanTag(tag)
	if tag != "" && isAlnum(tag[0]) {
		tag = ":" + tag
	}
	return tag, nil
}

// finishMaildir writes the message to f, an unnamed file in the
// maildir's tmp/ or a spare file whose name spare is removed at the
// end, makes it durable and gives it its name in new/.
func (a *appendfile) finishMaildir(ctx context.Context, e *env, d *Delivery, f *os.File, spare, dir string, retries int, used, quota int64, sizeFile string) Result {
	if spare != "" {
		defer d.asRoot(func() { os.Remove(spare) })
	}
	name := a.maildirName(d)
	n, err := a.writeSynced(f, e, d, used, quota, spare != "")
	if err != nil {
		f.Close()
		if errors.Is(err, errQuota) {
			return quotaResult("tmp/" + name)
		}
		return a.writeFailure(err, filepath.Join(dir, "tmp", name))
	}
	e.vars["message_size"] = strconv.FormatInt(n, 10)
	tag, res := a.maildirTag(e)
	if res != nil {
		f.Close()
		return *res
	}
	proc := "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
	for try := 0; ; try++ {
		dst := filepath.Join(dir, "new", name+tag)
		// linkat never replaces an existing message.
		err := unix.Linkat(unix.AT_FDCWD, proc, unix.AT_FDCWD, dst, unix.AT_SYMLINK_FOLLOW)
		if err == nil {
			break
		}
		if err != unix.EEXIST || try >= retries || !sleepCtx(ctx, time.Microsecond) {
			f.Close()
			tmp := filepath.Join(dir, "tmp", name)
			return Result{Status: Defer, Err: err, Errno: strerror.Errno(err), Message: fmt.Sprintf("failed to rename %s as %s: %s", tmp, dst, strerror.Text(err))}
		}
		name = a.maildirName(d)
	}
	if err := f.Close(); err != nil {
		return deferErr(fmt.Errorf("closing %s: %w", name, err))
	}
	return a.maildirDone(d, dir, sizeFile, e, n, used)
}

// maildirDone makes the new name durable and updates maildirsize.
func (a *appendfile) maildirDone(d *Delivery, dir, sizeFile string, e *env, n, used int64) Result {
	// The file is durable; now its name, with one fsync of new/ shared
	// by the deliveries finishing at the same time.
	if err := a.syncDir(d, filepath.Join(dir, "new")); err != nil {
		return deferErr(fmt.Errorf("syncing %s/new: %w", dir, err))
	}
	if sizeFile != "" {
		appendSizeLine(sizeFile, n, 1)
	}
	a.quotaWarn(e, used, used+n)
	return Result{Status: OK, Size: n}
}

func cleanTag(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] > ' ' && s[i] < 0x7f && s[i] != '/' {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// maildirTop is the top maildir: the parent of a maildir++ folder (one
// with a maildirfolder file), else dir itself.
func (a *appendfile) maildirTop(dir string) string {
	if _, err := os.Stat(filepath.Join(dir, "maildirfolder")); err == nil {
		return filepath.Dir(dir)
	}
	return dir
}

// maildirSize reads (or creates) the maildirsize file and returns the
// mailbox size it records. The first line is rewritten when the quota
// changed (spec section "Using a maildirsize file"); Exim writes
// "<bytes>S,<files>C" and then one "size count" line per change.
func (a *appendfile) maildirSize(path, top string, quota int64, cred Cred) (int64, error) {
	first := fmt.Sprintf("%dS,0C\n", max(quota, 0))
	data, err := os.ReadFile(path)
	if err == nil {
		lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
		var total int64
		for _, l := range lines[1:] {
			f := strings.Fields(l)
			if len(f) >= 1 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				total += n
			}
		}
		if lines[0]+"\n" != first {
			rest := strings.Join(lines[1:], "\n")
			if rest != "" {
				rest += "\n"
			}
			if err := a.replaceFile(path, first+rest, cred); err != nil {
				return 0, err
			}
		}
		return total, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("reading %s: %w", path, err)
	}
	size, count := maildirCount(top, a.opts.String("maildir_quota_directory_regex"))
	if err := a.replaceFile(path, fmt.Sprintf("%s%d %d\n", first, size, count), cred); err != nil {
		return 0, err
	}
	return size, nil
}

func (a *appendfile) replaceFile(path, content string, cred Cred) error {
	tmp := fmt.Sprintf("%s.tmp.%d", path, os.Getpid())
	f, err := a.newFile(tmp, cred)
	if err != nil {
		return fmt.Errorf("creating %s: %w", tmp, err)
	}
	_, err = f.WriteString(content)
	if err == nil {
		err = f.Sync()
	}
	f.Close()
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func appendSizeLine(path string, size int64, count int) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return
	}
	fmt.Fprintf(f, "%d %d\n", size, count)
	f.Sync()
	f.Close()
}

// maildirCount adds up the messages in the maildir's new and cur and in
// the folders whose names match the quota directory regex.
func maildirCount(top, dirRegex string) (int64, int) {
	re, err := regexp.Compile(dirRegex)
	if err != nil || dirRegex == "" {
		re = regexp.MustCompile(`^(?:cur|new|\..*)$`)
	}
	var size int64
	count := 0
	var walk func(dir string, depth int)
	walk = func(dir string, depth int) {
		if depth > 4 {
			return
		}
		ents, _ := os.ReadDir(dir)
		for _, ent := range ents {
			p := filepath.Join(dir, ent.Name())
			if ent.IsDir() {
				if re.MatchString(ent.Name()) {
					walk(p, depth+1)
				}
				continue
			}
			if depth == 0 || ent.Name() == "maildirfolder" || ent.Name() == "maildirsize" {
				continue
			}
			if fi, err := ent.Info(); err == nil && fi.Mode().IsRegular() {
				size += fi.Size()
				count++
			}
		}
	}
	walk(top, 0)
	return size, count
}

// deliverMailstore writes <id>-<pid>.msg and .env (spec section
// "Mailstore delivery").
func (a *appendfile) deliverMailstore(e *env, d *Delivery, cred Cred, dir string) Result {
	id := ""
	if d.Header != nil {
		id = string(d.Header.ID)
	}
	base := filepath.Join(dir, id+"-"+pid62(os.Getpid()))
	e.vars["mailstore_basename"] = base
	var env strings.Builder
	for _, opt := range []string{"mailstore_prefix", "sender"} {
		if opt == "sender" {
			rp, _ := e.get("return_path")
			env.WriteString(rp + "\n")
			for _, ad := range d.Addresses {
				env.WriteString(ad.Address + "\n")
			}
			continue
		}
		v, err := a.expandOpt(e, opt)
		if err != nil && !forced(err) {
			return deferErr(err)
		}
		if v != "" {
			env.WriteString(v)
			if !strings.HasSuffix(v, "\n") {
				env.WriteByte('\n')
			}
		}
	}
	if v, err := a.expandOpt(e, "mailstore_suffix"); err != nil && !forced(err) {
		return deferErr(err)
	} else if v != "" {
		env.WriteString(v)
		if !strings.HasSuffix(v, "\n") {
			env.WriteByte('\n')
		}
	}
	tf, err := a.newFile(base+".tmp", cred)
	if err != nil {
		return Result{Status: Defer, Err: err, Errno: strerror.Errno(err), Message: fmt.Sprintf("while creating file %s.tmp: %s", base, strerror.Text(err))}
	}
	_, err = tf.WriteString(env.String())
	if err == nil {
		err = tf.Sync()
	}
	tf.Close()
	if err != nil {
		os.Remove(base + ".tmp")
		return a.writeFailure(err, base+".tmp")
	}
	mf, err := a.newFile(base+".msg", cred)
	if err != nil {
		os.Remove(base + ".tmp")
		return Result{Status: Defer, Err: err, Errno: strerror.Errno(err), Message: fmt.Sprintf("while creating file %s.msg: %s", base, strerror.Text(err))}
	}
	quota, _ := a.quotaValue(e)
	used := int64(0)
	if quota > 0 {
		used = a.dirSize(e, dir)
	}
	if _, err := a.writeNew(mf, e, d, used, quota); err != nil {
		os.Remove(base + ".tmp")
		os.Remove(base + ".msg")
		if errors.Is(err, errQuota) {
			return quotaResult(base + ".msg")
		}
		return a.writeFailure(err, base+".msg")
	}
	if err := os.Rename(base+".tmp", base+".env"); err != nil {
		return deferErr(fmt.Errorf("renaming %s.tmp: %w", base, err))
	}
	if err := a.syncDir(d, dir); err != nil {
		return deferErr(fmt.Errorf("syncing %s: %w", dir, err))
	}
	return Result{Status: OK}
}

// pid62 is a pid in the six base-62 digits of a message id's middle part.
func pid62(pid int) string {
	id := spool.FormatID(0, int64(pid), 0)
	return string(id[7:13])
}

// plainDirTemp is the temporary file name Exim reports for a delivery
// into dir that failed before its file was made.
func (a *appendfile) plainDirTemp(dir string) string {
	return filepath.Join(dir, fmt.Sprintf("temp.%d.%s", os.Getpid(), a.hostname))
}

// deliverPlainDir writes a temporary file, then renames it to the
// expansion of directory_file, in which $inode is the file's inode
// (spec section "Non-special new file delivery").
func (a *appendfile) deliverPlainDir(e *env, d *Delivery, cred Cred, dir string) Result {
	now := d.now()
	tmp := filepath.Join(dir, fmt.Sprintf("temp.%d.%s.%d", os.Getpid(), a.hostname, now.UnixNano()))
	f, err := a.newFile(tmp, cred)
	if err != nil {
		return Result{Status: Defer, Err: err, Errno: strerror.Errno(err), Message: fmt.Sprintf("while creating file %s: %s", tmp, strerror.Text(err))}
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err == nil {
		e.vars["inode"] = strconv.FormatUint(st.Ino, 10)
	}
	quota, _ := a.quotaValue(e)
	used := int64(0)
	if quota > 0 {
		used = a.dirSize(e, dir)
	}
	n, err := a.writeNew(f, e, d, used, quota)
	if err != nil {
		os.Remove(tmp)
		if errors.Is(err, errQuota) {
			return quotaResult(tmp)
		}
		return a.writeFailure(err, tmp)
	}
	e.vars["message_size"] = strconv.FormatInt(n, 10)
	name, err := a.expandOpt(e, "directory_file")
	if err != nil || name == "" || strings.Contains(name, "/") {
		os.Remove(tmp)
		if err == nil {
			err = fmt.Errorf("directory_file for %s transport expanded to \"%s\"", a.name, name)
		}
		return deferErr(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		os.Remove(tmp)
		return deferErr(fmt.Errorf("renaming %s: %w", tmp, err))
	}
	if err := a.syncDir(d, dir); err != nil {
		return deferErr(fmt.Errorf("syncing %s: %w", dir, err))
	}
	return Result{Status: OK}
}

// quotaValue expands quota; ok is false when unset.
func (a *appendfile) quotaValue(e *env) (int64, bool) {
	raw := a.opts.String("quota")
	if raw == "" {
		return 0, false
	}
	v, err := e.expand(raw)
	if err != nil {
		return 0, false
	}
	n, ok := parseSize(v)
	return n, ok
}

// checkQuota is the check before writing: a mailbox already over quota
// when quota_is_inclusive is false (spec, quota option).
func (a *appendfile) checkQuota(e *env, d *Delivery, used int64, path string, _ bool) *Result {
	q, ok := a.quotaValue(e)
	if !ok || q <= 0 {
		return nil
	}
	if !a.opts.Bool("quota_is_inclusive") && used > q {
		r := quotaResult(path)
		return &r
	}
	return nil
}

func quotaResult(path string) Result {
	return Result{Status: Defer, Errno: ErrnoQuota, ErrCode: ErrQuota,
		Message: fmt.Sprintf("mailbox is full (MTA-imposed quota exceeded while writing to %s)", path)}
}

// dirSize adds up the sizes of the files below dir (or quota_directory),
// using quota_size_regex on names when set.
func (a *appendfile) dirSize(e *env, dir string) int64 {
	if qd, err := a.expandOpt(e, "quota_directory"); err == nil && qd != "" {
		dir = qd
	}
	var re *regexp.Regexp
	if s := a.opts.String("quota_size_regex"); s != "" {
		re, _ = regexp.Compile(s)
	}
	var total int64
	filepath.WalkDir(dir, func(p string, ent fs.DirEntry, err error) error {
		if err != nil || ent.IsDir() {
			return nil
		}
		if re != nil {
			if m := re.FindStringSubmatch(ent.Name()); len(m) > 1 {
				if n, err := strconv.ParseInt(m[1], 10, 64); err == nil {
					total += n
					return nil
				}
			}
		}
		if fi, err := ent.Info(); err == nil {
			total += fi.Size()
		}
		return nil
	})
	return total
}

// quotaWarn would send quota_warn_message when the mailbox crosses
// quota_warn_threshold; it only records the crossing in
// $quota_warn_crossed for now (the delivery code sends the warning).
func (a *appendfile) quotaWarn(e *env, before, after int64) {
	raw := a.opts.String("quota_warn_threshold")
	if raw == "" {
		return
	}
	v, err := e.expand(raw)
	if err != nil {
		return
	}
	var th int64
	if strings.HasSuffix(v, "%") {
		q, _ := a.quotaValue(e)
		p, _ := strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64)
		th = int64(float64(q) * p / 100)
	} else {
		th, _ = parseSize(v)
	}
	if th > 0 && before < th && after >= th {
		e.vars["quota_warn_crossed"] = "1"
	}
}

// uniqueTime returns t, or a microsecond after the last time handed out
// when t is not later.
func (a *appendfile) uniqueTime(t time.Time) time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	us := t.UnixMicro()
	if us <= a.last {
		us = a.last + 1
	}
	a.last = us
	return time.UnixMicro(us)
}
