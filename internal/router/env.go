package router

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os/user"
	"strconv"
	"time"

	"github.com/exigo-mta/exigo/internal/debug"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/lists"
)

// Env is what routing needs from its surroundings. Only Vars is required;
// every other nil field turns its feature off (no lookups, no DNS, no
// local users).
type Env struct {
	// Vars supplies the process's variables ($primary_hostname,
	// $qualify_recipient ...); routing adds the address's own on top.
	Vars expand.Vars
	// Lookups performs lookups in expansions and lists.
	Lookups lists.Lookuper
	// Resolver answers the DNS questions of dnslookup and of host lists.
	Resolver Resolver
	// Users finds local accounts for check_local_user; nil uses os/user.
	Users func(name string) (*User, error)
	// Interfaces are the local host's IP addresses: a host list entry
	// with one of them is "the local host" (the self option).
	Interfaces []netip.Addr
	// Message is the message being routed, for $h_ and $message_headers
	// in expansions and filter files; nil in address tests.
	Message expand.Message
	// Sender is the envelope sender ($sender_address, the senders option).
	Sender string
	// QualifyRecipient qualifies unqualified redirection items.
	QualifyRecipient string
	// PrimaryHostname is primary_hostname, for "@" in lists and the self
	// option.
	PrimaryHostname string
	// Debug receives -d+route lines.
	Debug *debug.Logger
	// DebugPrint receives debug_print output; -bt sends it to stderr.
	DebugPrint io.Writer
	// Log receives main log lines that routing writes (-bt shows them
	// on stderr as "LOG: MAIN").
	Log func(line string)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Run runs a queryprogram command: argv, uid, gid, and the command's
	// standard output. Nil runs it with os/exec as the current user.
	Run func(argv []string, uid, gid int, timeout time.Duration) (string, error)
}

// User is a local account, as check_local_user finds it.
type User struct {
	Name     string
	UID, GID int
	Home     string
}

// ErrNoUser is returned by Env.Users when there is no such account.
var ErrNoUser = errors.New("no such user")

func (e *Env) user(name string) (*User, error) {
	if e.Users != nil {
		return e.Users(name)
	}
	u, err := user.Lookup(name)
	if err != nil {
		var unk user.UnknownUserError
		if errors.As(err, &unk) {
			return nil, ErrNoUser
		}
		return nil, fmt.Errorf("looking up user %s: %w", name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &User{Name: u.Username, UID: uid, GID: gid, Home: u.HomeDir}, nil
}

// Mode says why an address is being routed.
type Mode struct {
	// Verify is set when verifying (-bv, ACL verify): routers with
	// no_verify_recipient (or no_verify_sender with Sender) are skipped,
	// and verify_only routers are used.
	Verify bool
	// Sender, with Verify, verifies the address as a sender (-bvs).
	Sender bool
	// AddressTest is set by -bt: routers with no_address_test are skipped.
	AddressTest bool
}

// vars layers the address's variables over the process's.
type vars struct {
	base expand.Vars
	m    map[string]string
}

// Var implements expand.Vars.
func (v *vars) Var(name string) (string, bool) {
	if s, ok := v.m[name]; ok {
		return s, true
	}
	if v.base == nil {
		return "", false
	}
	return v.base.Var(name)
}
