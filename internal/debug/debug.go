// Package debug implements Exim's -d debugging output: a set of named
// categories selected on the command line (-d, -d+cat, -d-cat, -d+all,
// -d=NUMBER) and a writer that prints lines for enabled categories on
// stderr.
//
// The categories use Exim's own bit numbering, so the D= value in the
// first debug line ("Exim version 4.96 uid=0 gid=0 pid=N D=f7715cfd")
// reads the same as Exim's. Debug output never goes to the main log.
// Exim specification: chapter "The Exim command line", option -d.
package debug

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Category is one debugging category, as a bit in a selector. A selector
// is a Category value with several bits set.
type Category uint32

// The categories, in Exim's names and at Exim's bit positions.
const (
	// Verbose is the bit that -v and every -d setting imply; it has no
	// name of its own in a selector.
	Verbose Category = 1 << iota
	LocalScan
	ACL
	Auth
	Deliver
	DNS
	DNSBL
	Exec
	Expand
	Filter
	HintsLookup
	HostLookup
	Ident
	Interface
	Lists
	Load
	Lookup
	Memory
	NoUTF8
	PID
	ProcessInfo
	QueueRun
	Receive
	Resolver
	Retry
	Rewrite
	Route
	Timestamp
	TLS
	Transport
	UID
	Verify
)

// Noise is the category of the lines printed with any -d setting
// (start-up information); it is Exim's verbose bit.
const Noise = Verbose

// All is what "+all" selects: everything but memory and noutf8. ("-all"
// clears every bit, memory included.)
const All Category = 0xffffffff &^ (Memory | NoUTF8)

// Default is what a bare -d selects: everything in All but expand,
// filter, interface, load, local_scan, pid, resolver and timestamp.
const Default = All &^ (Expand | Filter | Interface | Load | LocalScan | PID | Resolver | Timestamp)

// names maps selector names to their bits. "all" is handled apart
// because "-all" clears more than "+all" sets.
var names = map[string]Category{
	"acl": ACL, "auth": Auth, "deliver": Deliver, "dns": DNS, "dnsbl": DNSBL,
	"exec": Exec, "expand": Expand, "filter": Filter, "hints_lookup": HintsLookup,
	"host_lookup": HostLookup, "ident": Ident, "interface": Interface,
	"lists": Lists, "load": Load, "local_scan": LocalScan, "lookup": Lookup,
	"memory": Memory, "noutf8": NoUTF8, "pid": PID, "process_info": ProcessInfo,
	"queue_run": QueueRun, "receive": Receive, "resolver": Resolver,
	"retry": Retry, "rewrite": Rewrite, "route": Route, "timestamp": Timestamp,
	"tls": TLS, "transport": Transport, "uid": UID, "verify": Verify,
}

// SelectorError is a malformed -d setting. Its text is Exim's, without the
// "exim: " prefix.
type SelectorError struct{ Msg string }

func (e *SelectorError) Error() string { return e.Msg }

// ParseSelector parses the text after "-d" (or "-dd") on the command line
// into a selector, as Exim does:
//   - "" gives Default;
//   - "=NUMBER" sets the bits directly (C strtoul syntax: decimal, 0x hex,
//     leading-0 octal, optional sign and leading blanks; too large saturates);
//   - otherwise a sequence of +name and -name applied to Default, where a
//     name is letters, digits and underscores, "+all" sets All and "-all"
//     clears everything.
//
// A result of 0 means no debugging output at all.
func ParseSelector(s string) (Category, error) {
	if strings.HasPrefix(s, "=") {
		v, ok := strtoul(s[1:])
		if !ok {
			return 0, &SelectorError{fmt.Sprintf("malformed numeric debug_selector setting: %s", s)}
		}
		return Category(v), nil
	}
	sel := Default
	for s != "" {
		op := s[0]
		if op != '+' && op != '-' {
			return 0, &SelectorError{fmt.Sprintf("malformed debug_selector setting: + or - expected but found %q", s)}
		}
		end := 1
		for end < len(s) && isNameByte(s[end]) {
			end++
		}
		item, name := s[:end], s[1:end]
		s = s[end:]
		var c Category
		switch name {
		case "all":
			if op == '+' {
				c = All
			} else {
				c = 0xffffffff
			}
		default:
			var ok bool
			if c, ok = names[name]; !ok {
				return 0, &SelectorError{"unknown debug_selector setting: " + item}
			}
		}
		if op == '+' {
			sel |= c
		} else {
			sel &^= c
		}
	}
	return sel, nil
}

func isNameByte(b byte) bool {
	return b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

// strtoul reads an unsigned number the way C's strtoul with base 0 does
// on a 64-bit system (leading blanks, optional sign, 0x hex, 0 octal,
// saturation on overflow), requires that nothing follows, and keeps the
// low 32 bits as Exim's selector does.
func strtoul(s string) (uint64, bool) {
	orig := s
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	base := uint64(10)
	switch {
	case len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") && digit(s[2], 16) >= 0:
		base, s = 16, s[2:]
	case len(s) > 1 && s[0] == '0':
		base = 8
	}
	if s == "" {
		// Nothing converted: C leaves the end pointer at the start, so
		// only a wholly empty setting is accepted (as 0).
		return 0, orig == ""
	}
	var v uint64
	over := false
	for i := 0; i < len(s); i++ {
		d := digit(s[i], base)
		if d < 0 {
			return 0, false
		}
		if v > (^uint64(0)-uint64(d))/base {
			over = true
		}
		v = v*base + uint64(d)
	}
	if over {
		v = ^uint64(0)
	} else if neg {
		v = -v
	}
	return v & 0xffffffff, true
}

func digit(b byte, base uint64) int {
	var d int
	switch {
	case b >= '0' && b <= '9':
		d = int(b - '0')
	case b >= 'a' && b <= 'z':
		d = int(b-'a') + 10
	case b >= 'A' && b <= 'Z':
		d = int(b-'A') + 10
	default:
		return -1
	}
	if uint64(d) >= base {
		return -1
	}
	return d
}

// Logger writes debug lines for the enabled categories. The zero value and
// a nil *Logger write nothing.
type Logger struct {
	mu  sync.Mutex
	sel Category
	w   io.Writer
	pid int
	now func() time.Time
}

// New returns a Logger writing the categories in sel to w.
func New(sel Category, w io.Writer) *Logger {
	return &Logger{sel: sel, w: w, pid: os.Getpid(), now: time.Now}
}

// Selector returns the logger's selector (0 for a nil Logger).
func (l *Logger) Selector() Category {
	if l == nil {
		return 0
	}
	return l.sel
}

// On reports whether category c is enabled. It is safe on a nil Logger.
func (l *Logger) On(c Category) bool {
	return l != nil && l.w != nil && l.sel&c != 0
}

// Printf writes one debug line (a newline is added when missing) if c is
// enabled. With the timestamp and pid selectors each line starts with
// "HH:MM:SS " and the process id, as in Exim.
func (l *Logger) Printf(c Category, format string, args ...any) {
	if !l.On(c) {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if !strings.HasSuffix(msg, "\n") {
		msg += "\n"
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, line := range strings.SplitAfter(strings.TrimSuffix(msg, "\n"), "\n") {
		if l.sel&Timestamp != 0 {
			b.WriteString(l.now().Format("15:04:05 "))
		}
		if l.sel&PID != 0 {
			fmt.Fprintf(&b, "%5d ", l.pid)
		}
		b.WriteString(line)
	}
	b.WriteString("\n")
	io.WriteString(l.w, b.String())
}

// Start writes the block that opens Exim's debug output for any non-zero
// selector: the version line in Exim's shape
// ("Exim version 4.96 uid=0 gid=0 pid=123 D=f7715cfd") and the
// configuration file in use.
func (l *Logger) Start(version, configFile string) {
	if !l.On(0xffffffff) {
		return
	}
	l.Printf(l.sel, "Exim version %s uid=%d gid=%d pid=%d D=%x", version, os.Getuid(), os.Getgid(), l.pid, uint32(l.sel))
	if configFile != "" {
		l.Printf(l.sel, "configuration file is %s", configFile)
	}
}

// End writes Exim's closing debug line for a process exiting with rc.
func (l *Logger) End(rc int) {
	if !l.On(0xffffffff) {
		return
	}
	l.Printf(l.sel, ">>>>>>>>>>>>>>>> Exim pid=%d (fresh-exec) terminating with rc=%d >>>>>>>>>>>>>>>>", l.pid, rc)
}
