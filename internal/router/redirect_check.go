package router

// The owner, group and mode checks of a redirect router's file. Exim
// specification chapter "The redirect router", options check_owner,
// owners, check_group, owngroups and modemask. Observed with Exim 4.96:
// the mode is checked first, then the owner, then the group; each
// failure defers the address ("bad mode (0100664) for PATH: 020 bit(s)
// unexpected", "bad owner for PATH", "bad group for PATH"); root is no
// owner of right; files that ":include:" names are not checked.

import (
	"strconv"
	"strings"

	"github.com/exigo-mta/exigo/internal/userdb"
)

// groupWriteBit is S_IWGRP: a modemask that leaves it permitted turns
// check_group on by default with check_local_user.
const groupWriteBit = 0o020

// checkFile applies the checks to the router's file as read; nil when
// it passes.
func (c *call) checkFile(path string, f *UserFile) *Result {
	o := c.r.opts
	mask := int64(0o022)
	if n, ok := o.Int("modemask"); ok {
		mask = n
	}
	if bad := int64(f.Mode) & mask & 0o7777; bad != 0 {
		r := deferf("bad mode (0%o) for %s: 0%o bit(s) unexpected", f.Mode, path, bad)
		return &r
	}
	localUser := o.Bool("check_local_user")
	uid, uidOK := c.localID("local_user_uid")
	gid, gidOK := c.localID("local_user_gid")
	checkOwner := localUser || strings.TrimSpace(o.String("owners")) != ""
	if o.IsSet("check_owner") {
		checkOwner = o.Bool("check_owner")
	}
	if checkOwner && !(localUser && uidOK && uid == f.UID) && !c.inIDList("owners", f.UID, true) {
		r := deferf("bad owner for %s", path)
		return &r
	}
	checkGroup := (localUser && mask&groupWriteBit == 0) || strings.TrimSpace(o.String("owngroups")) != ""
	if o.IsSet("check_group") {
		checkGroup = o.Bool("check_group")
	}
	if checkGroup && !(localUser && gidOK && gid == f.GID) && !c.inIDList("owngroups", f.GID, false) {
		r := deferf("bad group for %s", path)
		return &r
	}
	return nil
}

// localID returns $local_user_uid or $local_user_gid as check_local_user
// set it.
func (c *call) localID(name string) (int, bool) {
	s, ok := c.v.m[name]
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// inIDList reports whether id is in the owners (users) or owngroups
// option, a colon-separated list of names or numbers.
func (c *call) inIDList(opt string, id int, users bool) bool {
	for _, item := range strings.Split(c.r.opts.String(opt), ":") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if n, err := strconv.Atoi(item); err == nil {
			if n == id {
				return true
			}
			continue
		}
		if users {
			if u, err := c.s.env.user(item); err == nil && u.UID == id {
				return true
			}
			continue
		}
		if g, err := userdb.LookupGroup(item); err == nil && g.Gid == strconv.Itoa(id) {
			return true
		}
	}
	return false
}

// IncludedFiles returns the files that ":include:" items in the
// redirection list data name, and those that the files they name in
// turn name (nested no deeper than Exim allows), reading each with
// read; a file that cannot be read names none. The root supervisor
// uses it to accept a request to read an included file as a user only
// when the user's own redirection data names it.
func IncludedFiles(data string, read func(path string) (string, error)) []string {
	var out []string
	p := &rdParser{skipErrors: true}
	p.include = func(path string) (string, error) {
		out = append(out, path)
		text, err := read(path)
		if err != nil {
			return "", nil
		}
		return text, nil
	}
	p.parse(data)
	return out
}
