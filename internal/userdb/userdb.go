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
	at  time.Time
	val any // *user.User, *user.Group or []string
	err error
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

// kept returns the answer kept for k, or reads it with read and keeps
// it.
func kept[T any](d *db, k key, read func() (T, error)) (T, error) {
	now := d.now()
	d.mu.Lock()
	e, ok := d.entries[k]
	d.mu.Unlock()
	if ok && now.Sub(e.at) < MaxAge && now.Sub(e.at) >= 0 {
		v, _ := e.val.(T)
		return v, e.err
	}
	v, err := read()
	if err == nil || unknown(err) {
		d.mu.Lock()
		if d.entries == nil || len(d.entries) >= maxEntries {
			d.entries = make(map[key]entry)
		}
		d.entries[k] = entry{at: now, val: v, err: err}
		d.mu.Unlock()
	}
	return v, err
}

// user and group return copies: callers may change what they get.
func (d *db) user(k kind, s string) (*user.User, error) {
	read := d.lookupID
	if k == byName {
		read = d.lookup
	}
	u, err := kept(d, key{k, s}, func() (*user.User, error) { return read(s) })
	if err != nil {
		return nil, err
	}
	c := *u
	return &c, nil
}

func (d *db) group(k kind, s string) (*user.Group, error) {
	read := d.lookupGID
	if k == byGroupName {
		read = d.lookupGroup
	}
	g, err := kept(d, key{k, s}, func() (*user.Group, error) { return read(s) })
	if err != nil {
		return nil, err
	}
	c := *g
	return &c, nil
}

func (d *db) groupIDsOf(login string) ([]string, error) {
	ids, err := kept(d, key{groupsOf, login}, func() ([]string, error) {
		u, err := d.user(byName, login)
		if err != nil {
			return nil, err
		}
		return d.groupIDs(u)
	})
	if err != nil {
		return nil, err
	}
	return append([]string(nil), ids...), nil
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
