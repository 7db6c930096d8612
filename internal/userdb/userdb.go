// Package userdb looks up users and groups the way Exim does, through
// the C library's name service switch (getpwnam, getpwuid, getgrnam,
// getgrgid, getgrouplist by way of os/user), and keeps each answer for
// a second.
//
// Every local delivery asks for the transport's user and group, the
// never_users list and, with initgroups, the user's groups: four
// look-ups that each open, read and parse /etc/passwd or /etc/group
// (and consult nsswitch.conf) when the answer is not kept. Exim forks a
// process per delivery and asks afresh each time; a system running nscd
// keeps answers for minutes. Here an answer, found or not found, is
// used for at most MaxAge after it was read, so a change to the user
// database is seen by deliveries that start a second later. Errors
// other than "unknown user/group" are not kept.
package userdb

import (
	"errors"
	"os/user"
	"sync"
	"time"
)

// MaxAge is how long an answer is used after it was read.
const MaxAge = time.Second

// maxEntries bounds each table; past it the table is emptied (answers
// are cheap to read again, and a flood of unknown names must not grow
// memory).
const maxEntries = 4096

// kind names what a key is looked up as.
type kind uint8

const (
	byName kind = iota
	byUID
	byGroupName
	byGID
	groupsOf
)

type key struct {
	k    kind
	name string
}

type entry struct {
	at     time.Time
	user   *user.User
	group  *user.Group
	groups []string
	err    error
}

// db is a cache over the lookup functions; the package uses one over
// os/user, tests their own.
type db struct {
	mu      sync.Mutex
	entries map[key]entry
	now     func() time.Time

	lookup      func(string) (*user.User, error)
	lookupID    func(string) (*user.User, error)
	lookupGroup func(string) (*user.Group, error)
	lookupGID   func(string) (*user.Group, error)
	groupIDs    func(*user.User) ([]string, error)
}

var std = &db{
	now:         time.Now,
	lookup:      user.Lookup,
	lookupID:    user.LookupId,
	lookupGroup: user.LookupGroup,
	lookupGID:   user.LookupGroupId,
	groupIDs:    (*user.User).GroupIds,
}

// Lookup is user.Lookup (getpwnam) with answers kept for MaxAge.
func Lookup(name string) (*user.User, error) { return std.user(byName, name) }

// LookupID is user.LookupId (getpwuid) with answers kept for MaxAge.
func LookupID(uid string) (*user.User, error) { return std.user(byUID, uid) }

// LookupGroup is user.LookupGroup (getgrnam) with answers kept for
// MaxAge.
func LookupGroup(name string) (*user.Group, error) { return std.group(byGroupName, name) }

// LookupGroupID is user.LookupGroupId (getgrgid) with answers kept for
// MaxAge.
func LookupGroupID(gid string) (*user.Group, error) { return std.group(byGID, gid) }

// GroupIDs is the group ids login belongs to, as user.User.GroupIds
// gives them for the user named login, with answers kept for MaxAge.
func GroupIDs(login string) ([]string, error) { return std.groupIDsOf(login) }

// get returns the kept answer for k, or reads it with read and keeps
// it.
func (d *db) get(k key, read func() entry) entry {
	now := d.now()
	d.mu.Lock()
	e, ok := d.entries[k]
	d.mu.Unlock()
	if ok && now.Sub(e.at) < MaxAge && now.Sub(e.at) >= 0 {
		return e
	}
	e = read()
	e.at = now
	if e.err == nil || unknown(e.err) {
		d.mu.Lock()
		if d.entries == nil || len(d.entries) >= maxEntries {
			d.entries = make(map[key]entry)
		}
		d.entries[k] = e
		d.mu.Unlock()
	}
	return e
}

func (d *db) user(k kind, s string) (*user.User, error) {
	e := d.get(key{k, s}, func() entry {
		var u *user.User
		var err error
		if k == byName {
			u, err = d.lookup(s)
		} else {
			u, err = d.lookupID(s)
		}
		return entry{user: u, err: err}
	})
	if e.err != nil {
		return nil, e.err
	}
	u := *e.user
	return &u, nil
}

func (d *db) group(k kind, s string) (*user.Group, error) {
	e := d.get(key{k, s}, func() entry {
		var g *user.Group
		var err error
		if k == byGroupName {
			g, err = d.lookupGroup(s)
		} else {
			g, err = d.lookupGID(s)
		}
		return entry{group: g, err: err}
	})
	if e.err != nil {
		return nil, e.err
	}
	g := *e.group
	return &g, nil
}

func (d *db) groupIDsOf(login string) ([]string, error) {
	e := d.get(key{groupsOf, login}, func() entry {
		u, err := d.user(byName, login)
		if err != nil {
			return entry{err: err}
		}
		ids, err := d.groupIDs(u)
		return entry{groups: ids, err: err}
	})
	if e.err != nil {
		return nil, e.err
	}
	return append([]string(nil), e.groups...), nil
}

// unknown reports whether err says the user or group does not exist
// (an answer worth keeping, unlike a failure to ask).
func unknown(err error) bool {
	var uu user.UnknownUserError
	var uid user.UnknownUserIdError
	var ug user.UnknownGroupError
	var ugid user.UnknownGroupIdError
	return errors.As(err, &uu) || errors.As(err, &uid) || errors.As(err, &ug) || errors.As(err, &ugid)
}
