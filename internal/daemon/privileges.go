package daemon

import (
	"fmt"
	"os/user"
	"strconv"
	"syscall"
)

// DropPrivileges switches the whole process (every thread: Go 1.16 and
// later apply setuid to all threads) to the exim_user and exim_group
// named or numbered, after the daemon has bound its ports and written
// its pid file. It is a no-op when not running as root. group "" means
// the user's primary group.
//
// A daemon started from the command line as root does not use it: it
// keeps a root Supervisor and runs as exim_user in a process of its own.
// DropPrivileges serves --run-local, whose deliveries all run as its
// exim_user.
func DropPrivileges(userName, groupName string) error {
	if syscall.Getuid() != 0 {
		return nil
	}
	uid, gid, err := lookupUser(userName)
	if err != nil {
		return err
	}
	if groupName != "" {
		if gid, err = lookupGroup(groupName); err != nil {
			return err
		}
	}
	if err := syscall.Setgroups([]int{gid}); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return fmt.Errorf("setgid(%d): %w", gid, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return fmt.Errorf("setuid(%d): %w", uid, err)
	}
	return nil
}

// EximIDs returns the uid and gid of exim_user and exim_group (group ""
// means the user's primary group).
func EximIDs(userName, groupName string) (uid, gid int, err error) {
	uid, gid, err = lookupUser(userName)
	if err != nil || groupName == "" {
		return uid, gid, err
	}
	gid, err = lookupGroup(groupName)
	return uid, gid, err
}

func lookupUser(name string) (int, int, error) {
	if n, err := strconv.Atoi(name); err == nil {
		u, err := user.LookupId(name)
		if err != nil {
			return n, n, nil
		}
		g, _ := strconv.Atoi(u.Gid)
		return n, g, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return 0, 0, fmt.Errorf("exim_user %q: %w", name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return uid, gid, nil
}

func lookupGroup(name string) (int, error) {
	if n, err := strconv.Atoi(name); err == nil {
		return n, nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, fmt.Errorf("exim_group %q: %w", name, err)
	}
	return strconv.Atoi(g.Gid)
}
