package router

// The redirect router. Exim specification chapter "The redirect router".

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"syscall"

	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/filter"
	"github.com/exigo-mta/exigo/internal/strerror"
)

type redirectDriver struct{}

// redirectExpandDefer is the defer of a redirect router whose data or
// file option (raw) failed to expand. Exim words it `failed to expand
// "RAW": ERR`, without the router's name; when a lookup deferred, the
// defer has no message (the delivery log and -bt say NoMessage, a bounce
// after the retry timeout says only "retry timeout exceeded") and a
// verification logs the lookup's own text, for a lookup that failed as
// well (observed with Exim 4.96: an
// LDAP server down while routing); -bh's commentary still shows the
// whole text on its ">>>   message:" line.
func redirectExpandDefer(raw string, err error) Result {
	text := fmt.Sprintf("failed to expand \"%s\": %s", raw, err)
	r := Result{Status: Defer, Message: text}
	r.LookupMessage, _ = expand.LookupText(err)
	if expand.IsDefer(err) {
		r.Message, r.traced = "", text
	}
	return r
}

// maxRedirectData caps the size of redirection data read from a file.
const maxRedirectData = 4 << 20

func (redirectDriver) route(c *call) Result {
	o, a := c.r.opts, c.addr
	var data string
	if o.IsSet("data") {
		c.debugf("rda_interpret (string): '%s'", o.String("data"))
		v, err := c.expand(o.String("data"))
		if expand.IsForced(err) {
			c.debugf("forced failure in expansion of \"%s\"", o.String("data"))
			return Result{Status: Decline}
		}
		if err != nil {
			return redirectExpandDefer(o.String("data"), err)
		}
		data = v
	} else {
		c.debugf("rda_interpret (file): '%s'", o.String("file"))
		path, err := c.expand(o.String("file"))
		if expand.IsForced(err) {
			return Result{Status: Decline}
		}
		if err != nil {
			return redirectExpandDefer(o.String("file"), err)
		}
		f, err := c.readUserFile(path, "")
		if errors.Is(err, fs.ErrNotExist) {
			c.debugf("%s does not exist", path)
			return Result{Status: Decline}
		}
		if err != nil {
			return deferf("failed to open %s: %s", path, strerror.Text(err))
		}
		if f.Mode&syscall.S_IFMT != syscall.S_IFREG {
			return deferf("%s is not a regular file", path)
		}
		if r := c.checkFile(path, f); r != nil {
			return *r
		}
		data = string(f.Data)
		c.file = path
	}
	c.debugf("expanded: '%s'", data)
	l, res := c.redirectList(data)
	if res != nil {
		return *res
	}
	children, cres := c.children(l)
	if cres != nil {
		return *cres
	}
	switch l.special {
	case ":fail:", ":defer:":
		allow := "allow_fail"
		st := Fail
		if l.special == ":defer:" {
			allow, st = "allow_defer", Defer
		}
		if !o.Bool(allow) {
			txt := l.special
			if l.message != "" {
				txt += " " + l.message
			}
			return c.redirectErr("\"%s\" is not permitted", txt)
		}
		return Result{Status: st, Message: l.message, Children: children, Public: st == Defer && l.message != ""}
	case ":blackhole:":
		if o.Bool("forbid_blackhole") {
			return c.redirectErr("\":blackhole:\" is not permitted")
		}
		c.debugf("address :blackhole:d")
		return Result{Status: Discard}
	}
	if len(children) == 0 {
		if len(l.syntaxErrors) > 0 {
			// Every item was a skipped error: the router declines,
			// and when no router takes the address that is the
			// reason it gives (observed with Exim 4.96).
			c.cannotRoute = "syntax error in redirection data"
		}
		return Result{Status: Decline}
	}
	for i := len(children) - 1; i >= 0; i-- {
		ch := children[i]
		kind, ids := "", "uid=unset gid=unset"
		if ch.Kind != Mailbox {
			kind = "\n  pipe, file, or autoreply"
		}
		if ch.UID >= 0 {
			ids = fmt.Sprintf("uid=%d gid=%d", ch.UID, ch.GID)
		}
		c.debugf("%s router generated %s%s\n  errors_to=%s transport=%s\n  %s home=%s",
			c.r.Name, ch.Address, kind, nullable(a.ErrorsTo), nullable(ch.Transport), ids, nullable(ch.Home))
	}
	return Result{Status: Redirect, Children: children}
}

// children turns the parsed items into child addresses.
func (c *call) children(l *rdList) ([]*Address, *Result) {
	o, a := c.r.opts, c.addr
	var out []*Address
	for _, it := range l.items {
		if it.kind != rdAddress {
			ch := a.child(it.text)
			ch.LocalPart, ch.Domain = a.LocalPart, a.Domain
			// A pipe, file or reply runs as the local user that
			// check_local_user found (spec chapter "The redirect
			// router", section "Redirection data"; chapter
			// "Environment for running local transports").
			if a.UID >= 0 {
				ch.UID, ch.GID, ch.Home = a.UID, a.GID, a.Home
			}
			opt, forbid := "pipe_transport", "forbid_pipe"
			ch.Kind = Pipe
			switch it.kind {
			case rdFile:
				opt, forbid, ch.Kind = "file_transport", "forbid_file", File
			case rdDirectory:
				opt, forbid, ch.Kind = "directory_transport", "forbid_file", Directory
			case rdReply:
				opt, forbid, ch.Kind = "reply_transport", "forbid_filter_reply", Autoreply
				ch.Reply = it.reply
			}
			if !o.IsSet(opt) {
				ch.setupErr = fmt.Sprintf("%s unset in %s router", opt, c.r.Name)
			} else if o.Bool(forbid) {
				ch.forbidden = true
			} else {
				t, err := c.expandOpt(opt)
				if err != nil {
					ch.setupErr = err.Error()
				} else if c.s.cfg.Transport(t) == nil {
					ch.setupErr = fmt.Sprintf("transport \"%s\" not found in %s router", t, c.r.Name)
				} else {
					ch.Transport = t
				}
			}
			out = append(out, ch)
			continue
		}
		addr := it.text
		if !containsAt(addr) {
			dom := c.s.env.QualifyRecipient
			if it.local || o.Bool("qualify_preserve_domain") {
				dom = a.Domain
			}
			addr += "@" + dom
		}
		if o.Bool("check_ancestor") && sameAsAncestor(c.orig, addr) {
			c.debugf("generated address %s is same as ancestor: using %s", addr, c.orig.Address)
			addr = c.orig.Address
		}
		out = append(out, a.child(addr))
	}
	return out, nil
}

// sameAsAncestor reports whether addr equals a or one of its ancestors
// (redirect option check_ancestor).
func sameAsAncestor(a *Address, addr string) bool {
	for p := a; p != nil; p = p.Parent {
		if strings.EqualFold(p.Address, addr) {
			return true
		}
	}
	return false
}

// isFilter reports whether redirection data is an Exim or Sieve filter.
func isFilter(data string) bool {
	t := strings.TrimLeft(data, " \t\r\n")
	return filter.IsEximFilter(t) || filter.IsSieveFilter(t)
}

// readUserFile reads the router's file (include empty) or a file that
// an ":include:" item names (include is then the router's file, empty
// for data), as the local user when check_local_user found one and
// Env.UserFiles is set.
func (c *call) readUserFile(path, include string) (*UserFile, error) {
	uf := c.s.env.UserFiles
	if uf == nil || c.addr.UID < 0 {
		return readFileAttr(path)
	}
	a := c.addr
	f, err := uf.ReadFile(FileRead{Router: c.r.Name, LocalPart: c.lp, Domain: a.Domain, Prefix: a.Prefix, Suffix: a.Suffix,
		UID: a.UID, GID: a.GID, Path: path, Include: include, Limit: maxRedirectData})
	if err == nil && len(f.Data) > maxRedirectData {
		return nil, fmt.Errorf("%s: file too large", path)
	}
	return f, err
}

// readFileAttr reads path as the process, with its attributes; a file
// that is not a regular file is not read (its Mode says what it is).
func readFileAttr(path string) (*UserFile, error) {
	// O_NONBLOCK: opening a FIFO does not wait for a writer.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	uf := &UserFile{Mode: syscall.S_IFREG}
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		uf.UID, uf.GID, uf.Mode = int(sys.Uid), int(sys.Gid), sys.Mode
	}
	if !st.Mode().IsRegular() {
		// Not read: the caller reports it.
		return uf, nil
	}
	b, err := io.ReadAll(io.LimitReader(f, maxRedirectData+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxRedirectData {
		return nil, fmt.Errorf("%s: file too large", path)
	}
	uf.Data = b
	return uf, nil
}

// readLimited reads the regular file path as the process.
func readLimited(path string) ([]byte, error) {
	f, err := readFileAttr(path)
	if err != nil {
		return nil, err
	}
	if f.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return nil, &fs.PathError{Op: "read", Path: path, Err: syscall.EISDIR}
	}
	return f.Data, nil
}

// redirectErr is the defer of an error in the redirection data: "error
// in redirect file: ..." when the router read it from its file option,
// "error in redirect data: ..." for its data option, with Exim's error
// number -17 in the log (observed with Exim 4.96).
func (c *call) redirectErr(format string, args ...any) Result {
	where := "redirect data"
	if !c.r.opts.IsSet("data") {
		where = "redirect file"
	}
	return Result{Status: Defer, Errno: -17, Message: "error in " + where + ": " + fmt.Sprintf(format, args...)}
}

// redirectList parses the redirection data: an Exim filter (with
// allow_filter) or a list of addresses, files and pipes.
func (c *call) redirectList(data string) (*rdList, *Result) {
	o := c.r.opts
	if isFilter(data) {
		if !o.Bool("allow_filter") {
			r := c.redirectErr("filtering not enabled")
			r.Message = strings.Replace(r.Message, "error in redirect", "error in filter", 1)
			return nil, &r
		}
		return c.runFilter(data)
	}
	c.debugf("file is not a filter file")
	c.debugf("parse_forward_list: %s", data)
	p := &rdParser{skipErrors: o.Bool("skip_syntax_errors"), domainLiterals: c.s.cfg.Main.Bool("allow_domain_literals")}
	p.include = func(path string) (string, error) {
		if o.Bool("forbid_include") {
			return "", errors.New("included files not permitted")
		}
		f, err := c.readUserFile(path, c.file)
		if err != nil {
			return "", fmt.Errorf("failed to open included file %s: %s", path, strerror.Text(err))
		}
		if f.Mode&syscall.S_IFMT != syscall.S_IFREG {
			return "", fmt.Errorf("error while reading included file %s: %s", path, strerror.Text(syscall.EISDIR))
		}
		return string(f.Data), nil
	}
	l, err := p.parse(data)
	if err != nil {
		r := c.redirectErr("%s", err)
		return nil, &r
	}
	// skip_syntax_errors: each skipped item is logged (spec chapter
	// "The redirect router", skip_syntax_errors; the text observed with
	// Exim 4.96).
	for _, e := range l.syntaxErrors {
		c.debugf("skipped syntax error: %s", e)
		c.s.logf("%s router: skipped error: %s", c.r.Name, e)
	}
	return l, nil
}
