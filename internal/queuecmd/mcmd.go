package queuecmd

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/exigo-mta/exigo/internal/mainlog"
	"github.com/exigo-mta/exigo/internal/smtp"
	"github.com/exigo-mta/exigo/internal/spool"
	"github.com/exigo-mta/exigo/internal/strerror"
)

// Commander runs the -M message commands on one spool. Texts, log lines
// and exit codes are Exim 4.96's, found by running it (the spec,
// chapter "The Exim command line", describes the effects only).
type Commander struct {
	// Spool is the spool the messages are in.
	Spool *spool.Spool
	// Log receives the main log lines ("frozen by root", ...).
	Log *mainlog.Logger
	// Stdout and Stderr are the command's output streams.
	Stdout, Stderr io.Writer
	// Admin says whether the caller is an admin user.
	Admin bool
	// UID is the caller's uid (a non-admin may remove its own messages).
	UID int
	// Login is the caller's login name, logged as "by <login>".
	Login string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Commands lists the -M options Run handles.
var Commands = []string{"-Mrm", "-Mf", "-Mt", "-Mar", "-Mmd", "-Mmad", "-Mes", "-Mvh", "-Mvb", "-Mvc", "-Mvl"}

// Run executes one -M option with its arguments (message ids, or an id
// and addresses for -Mar, -Mmd and -Mes) and returns the exit code.
func (c *Commander) Run(mode string, args []string) int {
	if c.Now == nil {
		c.Now = time.Now
	}
	switch mode {
	case "-Mvh", "-Mvb", "-Mvc", "-Mvl":
		return c.view(mode, args)
	case "-Mar", "-Mmd", "-Mes":
		if len(args) == 0 {
			return 1
		}
		ok := c.edit(mode, args[0], args[1:])
		return exit(ok)
	}
	rc := 0
	for _, id := range args {
		if !c.edit(mode, id, nil) {
			rc = 1
		}
	}
	if mode == "-Mmad" {
		fmt.Fprintln(c.Stdout)
	}
	return rc
}

func exit(ok bool) int {
	if ok {
		return 0
	}
	return 1
}

func (c *Commander) out(format string, args ...any) {
	fmt.Fprintf(c.Stdout, format+"\n", args...)
}

func (c *Commander) log(id, format string, args ...any) {
	if c.Log != nil {
		c.Log.Mainf("%s %s", id, fmt.Sprintf(format, args...))
	}
}

// edit locks one message and applies mode to it. It reports success.
func (c *Commander) edit(mode, id string, addrs []string) bool {
	l, err := c.Spool.Lock(spool.ID(id))
	switch {
	case errors.Is(err, spool.ErrLocked):
		c.out("Message %s is locked", id)
		c.log(id, "Spool file for %s is locked (another process is handling this message)", id)
		return false
	case errors.Is(err, fs.ErrNotExist):
		c.log(id, "Spool file %s-D not found", id)
		c.out("Spool data file for %s does not exist", id)
		if mode == "-Mrm" {
			c.out("Continuing, to ensure all files removed")
			c.out("Spool read error for %s-H: No such file or directory", id)
			c.out("Continuing to ensure all files removed")
			c.removeLeftovers(spool.ID(id))
			c.out("Message %s has been removed or did not exist", id)
		}
		return false
	case err != nil:
		c.out("Couldn't open spool file for %s: %s", id, strerror.Text(unwrapErrno(err)))
		return false
	}
	defer l.Unlock()
	h, err := c.Spool.ReadHeader(spool.ID(id))
	if err != nil {
		c.out("Spool read error for %s-H: %s", id, strerror.Text(unwrapErrno(err)))
		return false
	}
	if !c.Admin && !(mode == "-Mrm" && h.UID == c.UID) {
		c.out("Permission denied")
		return false
	}
	switch mode {
	case "-Mrm":
		if err := c.Spool.Remove(l); err != nil {
			c.out("Error while removing %s: %v", id, err)
			return false
		}
		c.out("Message %s has been removed", id)
		c.log(id, "removed by %s", c.Login)
		c.log(id, "Completed")
		return true
	case "-Mf":
		if !h.Frozen.IsZero() {
			c.out("Message %s is already frozen", id)
			return false
		}
		h.Frozen = time.Unix(c.Now().Unix(), 0)
		h.ManualThaw = false
		if !c.rewrite(l, h) {
			return false
		}
		c.out("Message %s is now frozen", id)
		c.log(id, "frozen by %s", c.Login)
		return true
	case "-Mt":
		if h.Frozen.IsZero() {
			c.out("Message %s is not frozen", id)
			return false
		}
		h.Frozen = time.Time{}
		h.ManualThaw = true
		if !c.rewrite(l, h) {
			return false
		}
		c.out("Message %s is no longer frozen", id)
		c.log(id, "unfrozen by %s", c.Login)
		return true
	case "-Mmad":
		var add []string
		// Exim logs every recipient, delivered ones included.
		for _, r := range h.Recipients {
			add = append(add, r.Address)
			c.log(id, "address <%s> marked delivered by %s", r.Address, c.Login)
		}
		h.NonRecipients = addDelivered(h.NonRecipients, add)
		if !c.rewrite(l, h) {
			return false
		}
		c.out("Message %s has been modified", id)
		return true
	case "-Mmd":
		var add []string
		for _, a := range addrs {
			found := false
			for _, r := range h.Recipients {
				if r.Address == a {
					found = true
					break
				}
			}
			if !found {
				c.out("Message %s - error while marking as delivered:", id)
				c.out("  %s is not a recipient: message not updated", a)
				return false
			}
			add = append(add, a)
			c.log(id, "address <%s> marked delivered by %s", a, c.Login)
		}
		h.NonRecipients = addDelivered(h.NonRecipients, add)
		if !c.rewrite(l, h) {
			return false
		}
		c.out("Message %s has been modified", id)
		return true
	case "-Mar":
		var add []string
		for _, a := range addrs {
			r, err := parseAdminAddress(a, false)
			if err != nil {
				c.out("Message %s - error while adding recipient:", id)
				c.out("  bad address %s: %s", a, err)
				return false
			}
			add = append(add, r)
		}
		for _, r := range add {
			h.Recipients = append(h.Recipients, spool.NewRecipient(r))
			c.log(id, "recipient <%s> added by %s", r, c.Login)
		}
		if !c.rewrite(l, h) {
			return false
		}
		c.out("Message %s has been modified", id)
		return true
	case "-Mes":
		if len(addrs) != 1 {
			c.out("Message %s - only one sender address can be specified", id)
			return false
		}
		s, err := parseAdminAddress(addrs[0], true)
		if err != nil {
			c.out("Message %s - error while editing sender:", id)
			c.out("  bad address %s: %s", addrs[0], err)
			return false
		}
		h.Sender = s
		if !c.rewrite(l, h) {
			return false
		}
		c.out("Message %s has been modified", id)
		c.log(id, "sender address changed to <%s> by %s", s, c.Login)
		return true
	}
	return false
}

// rewrite stores an edited -H file.
func (c *Commander) rewrite(l *spool.Lock, h *spool.Header) bool {
	if err := c.Spool.Rewrite(l, h); err != nil {
		c.out("Error while writing the spool file for %s: %v", l.ID, err)
		return false
	}
	return true
}

// removeLeftovers deletes whatever files of a message remain when its
// -D file is gone, as Exim's -Mrm does ("Continuing to ensure all files
// removed").
func (c *Commander) removeLeftovers(id spool.ID) {
	for _, dir := range []string{c.Spool.InputDir(id), filepath.Join(filepath.Dir(c.Spool.InputDir(id)), "input")} {
		for _, suf := range []string{"-H", "-J"} {
			os.Remove(filepath.Join(dir, string(id)+suf))
		}
	}
	os.Remove(c.Spool.MsglogPath(id))
}

// parseAdminAddress parses an address given to -Mar or -Mes: it must be
// fully qualified; -Mes also takes "<>".
func parseAdminAddress(s string, allowEmpty bool) (string, error) {
	if allowEmpty && strings.TrimSpace(s) == "<>" {
		return "", nil
	}
	a, err := smtp.ParseAddress(s, false)
	if err != nil {
		return "", err
	}
	if !strings.Contains(a, "@") {
		return "", errors.New("domain missing")
	}
	return a, nil
}

// view implements -Mvh, -Mvb, -Mvc and -Mvl: no lock is taken.
func (c *Commander) view(mode string, args []string) int {
	if len(args) != 1 {
		c.out("*** Only one message can be listed at once")
		return 1
	}
	if !c.Admin {
		c.out("Permission denied")
		return 1
	}
	id := spool.ID(args[0])
	dir, err := c.Spool.Locate(id)
	if err != nil {
		dir = c.Spool.InputDir(id)
	}
	var path, what string
	switch mode {
	case "-Mvh", "-Mvc":
		path, what = filepath.Join(dir, string(id)+"-H"), "input file for "+string(id)+"-H"
	case "-Mvb":
		path, what = filepath.Join(dir, string(id)+"-D"), "input file for "+string(id)+"-D"
	case "-Mvl":
		path, what = c.Spool.MsglogPath(id), "msglog file for "+string(id)
	}
	f, err := os.Open(path)
	if err != nil {
		c.out("Failed to open %s: %s", what, strerror.Text(unwrapErrno(err)))
		return 1
	}
	defer f.Close()
	if mode != "-Mvc" {
		if _, err := io.Copy(c.Stdout, f); err != nil {
			return 1
		}
		return 0
	}
	// -Mvc: the message as RFC 2822 text: the headers that are not
	// deleted, a blank line, the body.
	h, err := spool.ReadHeader(f)
	if err != nil {
		c.out("Failed to read %s: %v", what, err)
		return 1
	}
	for _, hd := range h.Headers {
		if hd.Type != '*' {
			io.WriteString(c.Stdout, hd.Text)
		}
	}
	io.WriteString(c.Stdout, "\n")
	d, err := os.Open(filepath.Join(dir, string(id)+"-D"))
	if err != nil {
		c.out("Failed to open input file for %s-D: %s", id, strerror.Text(unwrapErrno(err)))
		return 1
	}
	defer d.Close()
	if _, err := d.Seek(spool.DataOffset, io.SeekStart); err != nil {
		return 1
	}
	if _, err := io.Copy(c.Stdout, d); err != nil {
		return 1
	}
	return 0
}

// unwrapErrno returns the errno inside err, or err.
func unwrapErrno(err error) error {
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return err
}
