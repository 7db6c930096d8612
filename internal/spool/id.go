package spool

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// # Message ids
//
// Exim 4.96 message ids are sixteen characters in three parts,
// TTTTTT-PPPPPP-FF (spec chapter 3, "How Exim receives and delivers mail",
// section 4 "Message identification"):
//
//   - TTTTTT: the arrival time in whole seconds, base 62;
//   - PPPPPP: the id of the receiving process, base 62;
//   - FF: the fraction of the second, in units of 1/2000 s; when
//     localhost_number is set, localhost_number*200 plus the fraction in
//     units of 1/200 s.
//
// Exim makes ids unique by waiting, after each message, for the clock to
// move past the current fraction, so a process never sees the same
// (second, fraction) twice and pids are not reused within one tick.
//
// exigo is one long-lived process receiving on many goroutines, so one pid
// would allow only 2,000 ids a second. The Generator keeps the last tick it
// handed out; while the clock still shows that tick it counts a sequence
// number and folds it into the pid part as pid + seq*2^22. Linux pids never
// reach 2^22 (pid_max is at most 4,194,304), so an id with seq > 0 cannot
// be produced by any other process on the host, real Exim included; with
// seq = 0 the id is exactly what Exim would produce for that pid and time.
// Ids still carry the true second of arrival in their first six characters
// and therefore sort by time to the second, as Exim's do (within one second
// Exim's ids sort by pid, then fraction; exigo's by sequence, then
// fraction). The pid part holds 62^6 values, room for 13,500 sequence
// numbers per tick: 27 million ids a second. When the Generator is closed
// it waits for the clock to leave the last tick it used, as Exim does, so a
// later process with the same pid cannot repeat an id.

// IDLen is the length of an Exim 4.96 message id.
const IDLen = 16

// base62 is Exim's digit alphabet; in ASCII order, so ids sort as numbers.
const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// pidMaxLinux bounds real pids; sequence numbers are folded in above it.
const pidMaxLinux = 1 << 22

// maxPidField is the largest value of the six-character pid part.
const maxPidField = 62*62*62*62*62*62 - 1

// ErrBadID is returned when a string is not a well-formed message id.
var ErrBadID = errors.New("malformed message id")

// ID is a message id such as 1xWrH7-0006GA-2j.
type ID string

// ParseID checks that s has the shape of an Exim 4.96 message id.
func ParseID(s string) (ID, error) {
	if !ValidID(s) {
		return "", fmt.Errorf("%w: %q", ErrBadID, s)
	}
	return ID(s), nil
}

// ValidID reports whether s has the shape of a message id: six, six and
// two base-62 digits separated by hyphens.
func ValidID(s string) bool {
	if len(s) != IDLen || s[6] != '-' || s[13] != '-' {
		return false
	}
	for i := 0; i < IDLen; i++ {
		if i == 6 || i == 13 {
			continue
		}
		if digit62(s[i]) < 0 {
			return false
		}
	}
	return true
}

func digit62(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 36
	}
	return -1
}

func put62(dst []byte, v int64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = base62[v%62]
		v /= 62
	}
}

func get62(s string) int64 {
	var v int64
	for i := 0; i < len(s); i++ {
		v = v*62 + int64(digit62(s[i]))
	}
	return v
}

// FormatID builds the id for the given second, pid-part value and
// fraction-part value.
func FormatID(sec int64, pid int64, frac int) ID {
	var b [IDLen]byte
	put62(b[0:6], sec)
	b[6] = '-'
	put62(b[7:13], pid)
	b[13] = '-'
	put62(b[14:16], int64(frac))
	return ID(b[:])
}

// Time returns the arrival second encoded in the id.
func (id ID) Time() time.Time { return time.Unix(get62(string(id[0:6])), 0) }

// Pid returns the value of the id's process part.
func (id ID) Pid() int64 { return get62(string(id[7:13])) }

// Frac returns the value of the id's last part.
func (id ID) Frac() int { return int(get62(string(id[14:16]))) }

// SplitChar returns the sixth character of the id, the name of its
// sub-directory when split_spool_directory is set (spec chapter 14,
// split_spool_directory).
func (id ID) SplitChar() string { return string(id[5:6]) }

// Generator hands out message ids unique within the host. It is safe for
// concurrent use.
type Generator struct {
	pid       int64
	localhost int // -1 when localhost_number is unset
	now       func() time.Time

	mu       sync.Mutex
	lastSec  int64
	lastFrac int
	seq      int64
}

// NewGenerator returns a Generator for process id pid. localhost is the
// value of localhost_number (0–16) or -1 when it is unset. now is the
// clock; nil means time.Now.
func NewGenerator(pid int, localhost int, now func() time.Time) (*Generator, error) {
	if pid <= 0 || pid >= pidMaxLinux {
		return nil, fmt.Errorf("message id generator: pid %d out of range", pid)
	}
	if localhost < -1 || localhost > 16 {
		return nil, fmt.Errorf("message id generator: localhost_number %d not in 0-16", localhost)
	}
	if now == nil {
		now = time.Now
	}
	return &Generator{pid: int64(pid), localhost: localhost, now: now, lastSec: -1}, nil
}

// tick returns the (second, fraction) of t at the id's resolution.
func (g *Generator) tick(t time.Time) (int64, int) {
	usec := t.Nanosecond() / 1000
	if g.localhost >= 0 {
		return t.Unix(), g.localhost*200 + usec/5000
	}
	return t.Unix(), usec / 500
}

// New returns a fresh id.
func (g *Generator) New() ID {
	g.mu.Lock()
	defer g.mu.Unlock()
	for {
		sec, frac := g.tick(g.now())
		if sec > g.lastSec || (sec == g.lastSec && frac > g.lastFrac) {
			g.lastSec, g.lastFrac, g.seq = sec, frac, 0
			return FormatID(sec, g.pid, frac)
		}
		// Same tick, or the clock stepped back: stay on the last tick
		// and count, so no id repeats.
		sec, frac = g.lastSec, g.lastFrac
		if p := g.pid + (g.seq+1)*pidMaxLinux; p <= maxPidField {
			g.seq++
			return FormatID(sec, p, frac)
		}
		// 13,500 ids in one tick: wait for the clock.
		time.Sleep(100 * time.Microsecond)
	}
}

// Close waits until the clock has left the last tick used, so that another
// process given the same pid cannot repeat an id.
func (g *Generator) Close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for {
		sec, frac := g.tick(g.now())
		if sec > g.lastSec || (sec == g.lastSec && frac > g.lastFrac) {
			return
		}
		time.Sleep(100 * time.Microsecond)
	}
}
