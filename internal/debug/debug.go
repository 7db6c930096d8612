// Package debug implements Exim's -d debugging output: a set of named
// categories selected on the command line (-d, -d+cat, -d-cat, -d+all) and
// a writer that prints lines for enabled categories on stderr.
//
// Debug output never goes to the main log. Exim specification: chapter
// "The Exim command line", option -d.
package debug

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
)

// Category is one debugging category, as a bit in a Selector.
type Category uint64

// The categories, in Exim's names.
const (
	ACL Category = 1 << iota
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
	LocalScan
	Lookup
	Memory
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
	// Noise is the always-on category used for lines that Exim prints with
	// any -d setting (start-up information).
	Noise
)

// All is every category except Memory, as Exim's "+all".
const All = (Noise<<1 - 1) &^ Memory

// Default is what a bare -d selects: everything but expand, filter,
// interface, load, memory, pid, resolver and timestamp.
const Default = All &^ (Expand | Filter | Interface | Load | PID | Resolver | Timestamp)

var names = map[string]Category{
	"acl": ACL, "auth": Auth, "deliver": Deliver, "dns": DNS, "dnsbl": DNSBL,
	"exec": Exec, "expand": Expand, "filter": Filter, "hints_lookup": HintsLookup,
	"host_lookup": HostLookup, "ident": Ident, "interface": Interface,
	"lists": Lists, "load": Load, "local_scan": LocalScan, "lookup": Lookup,
	"memory": Memory, "pid": PID, "process_info": ProcessInfo,
	"queue_run": QueueRun, "receive": Receive, "resolver": Resolver,
	"retry": Retry, "rewrite": Rewrite, "route": Route, "timestamp": Timestamp,
	"tls": TLS, "transport": Transport, "uid": UID, "verify": Verify,
	"noise": Noise, "all": All,
}

// ParseSelector parses the text after "-d" on the command line, such as
// "", "+all", "+expand-acl" or "-all+lookup", into a Selector. An empty
// string gives Default.
func ParseSelector(s string) (Category, error) {
	sel := Default
	if s == "" {
		return sel, nil
	}
	// Exim starts from the default set when the first item adds, and
	// from nothing only where "-all" says so.
	for s != "" {
		op := s[0]
		if op != '+' && op != '-' {
			return 0, fmt.Errorf("unknown debug selector %q", s)
		}
		s = s[1:]
		end := strings.IndexAny(s, "+-")
		if end < 0 {
			end = len(s)
		}
		name := s[:end]
		s = s[end:]
		c, ok := names[name]
		if !ok {
			return 0, fmt.Errorf("unknown debug selector %q", name)
		}
		if op == '+' {
			sel |= c
		} else {
			sel &^= c
		}
	}
	return sel | Noise, nil
}

// Logger writes debug lines for the enabled categories. The zero value and
// a nil *Logger write nothing.
type Logger struct {
	mu  sync.Mutex
	sel Category
	w   io.Writer
	pid int
}

// New returns a Logger writing the categories in sel to w.
func New(sel Category, w io.Writer) *Logger {
	return &Logger{sel: sel, w: w, pid: os.Getpid()}
}

// On reports whether category c is enabled. It is safe on a nil Logger.
func (l *Logger) On(c Category) bool {
	return l != nil && l.w != nil && l.sel&c != 0
}

// Printf writes one debug line (a newline is added when missing) if c is
// enabled.
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
	if l.sel&PID != 0 {
		fmt.Fprintf(l.w, "%5d ", l.pid)
	}
	io.WriteString(l.w, msg)
}
