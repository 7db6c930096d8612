package tools

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// # Process activity files (exigo's departure from Exim)
//
// Exim's exiwhat signals every Exim process with SIGUSR1; each one then
// appends a line about what it is doing to exim-process.info. exigo
// serves connections in goroutines of one process and a Go program
// without a handler dies of SIGUSR1, so exigo works the other way
// round: each activity (the daemon itself, each incoming connection,
// each delivery) keeps a one-line file
//
//	SPOOL/exim-process.d/PID.SEQ      "%5d text\n" (PID, as Exim writes it)
//
// written when the activity starts and emptied when it ends (an empty
// file is kept for the next activity to reuse; see ProcessInfo). exiwhat
// reads the directory, drops files of processes that no longer exist,
// copies the lines into process_log_path (as Exim's exiwhat leaves
// them there) and prints them ordered by PID. Because several
// activities share a PID, exiwhat keeps every line of a PID where
// Exim's "sort -nu" would keep one. Spec: chapter "Exim utilities",
// section "Finding out what Exim processes are doing (exiwhat)".

// ProcessInfoDir is the directory, under the spool directory, that
// holds the activity files.
const ProcessInfoDir = "exim-process.d"

// ProcessInfo records the activities of one process for exiwhat.
type ProcessInfo struct {
	dir string
	pid int
	seq atomic.Int64

	// Activity files of ended activities, emptied and kept open for
	// reuse. Creating and removing a file per connection costs an inode
	// allocation and a directory update each time (the daemon's biggest
	// cost after the spool itself); writing into an open empty file
	// costs neither. exiwhat skips empty files.
	mu   sync.Mutex
	free []slot
}

// slot is one activity file, open for writing.
type slot struct {
	name string
	fd   int
}

// maxFreeSlots bounds the empty activity files kept for reuse; beyond
// it an ended activity's file is removed.
const maxFreeSlots = 256

// NewProcessInfo returns the recorder for this process under spool.
func NewProcessInfo(spool string) *ProcessInfo {
	return &ProcessInfo{dir: filepath.Join(spool, ProcessInfoDir), pid: os.Getpid()}
}

// Start records an activity ("daemon(4.96): -q30m, listening for SMTP
// on port 25", "handling incoming connection from [192.0.2.1]") and
// returns the function that ends it. Failures are ignored: exiwhat is
// a diagnostic aid and must never stop mail.
func (p *ProcessInfo) Start(text string) (end func()) {
	if p == nil {
		return func() {}
	}
	line := []byte(fmt.Sprintf("%5d %s\n", p.pid, strings.ReplaceAll(text, "\n", " ")))
	p.mu.Lock()
	sl := slot{fd: -1}
	if n := len(p.free); n > 0 {
		sl = p.free[n-1]
		p.free = p.free[:n-1]
	}
	p.mu.Unlock()
	if sl.fd < 0 {
		sl.name = filepath.Join(p.dir, fmt.Sprintf("%d.%d", p.pid, p.seq.Add(1)))
		fd, err := openSlot(sl.name)
		if err != nil {
			os.MkdirAll(p.dir, 0o750)
			fd, err = openSlot(sl.name)
		}
		if err != nil {
			return func() {}
		}
		sl.fd = fd
	}
	// An empty file is skipped by exiwhat, so the line needs no
	// temporary name: it appears whole or not at all in practice.
	unix.Pwrite(sl.fd, line, 0)
	return func() {
		keep := unix.Ftruncate(sl.fd, 0) == nil
		if keep {
			p.mu.Lock()
			if keep = len(p.free) < maxFreeSlots; keep {
				p.free = append(p.free, sl)
			}
			p.mu.Unlock()
		}
		if !keep {
			unix.Close(sl.fd)
			os.Remove(sl.name)
		}
	}
}

// openSlot creates an activity file with plain system calls (os.OpenFile
// would try the file with the network poller first).
func openSlot(name string) (int, error) {
	return unix.Open(name, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o640)
}

// procLine is one activity line with its sort keys.
type procLine struct {
	pid, seq int
	text     string
}

// Exiwhat collects the activity lines under spool, writes them to
// processLog (when not empty) and prints them by process number, or
// "No exim process data" when there are none.
func Exiwhat(spool, processLog string, stdout io.Writer) error {
	dir := filepath.Join(spool, ProcessInfoDir)
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("reading %s: %w", dir, err)
	}
	var lines []procLine
	for _, e := range ents {
		pidS, seqS, ok := strings.Cut(e.Name(), ".")
		pid, err1 := strconv.Atoi(pidS)
		seq, err2 := strconv.Atoi(seqS)
		if !ok || err1 != nil || err2 != nil || pid <= 0 {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if !alive(pid) {
			os.Remove(p)
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil || len(b) == 0 {
			continue
		}
		lines = append(lines, procLine{pid, seq, strings.TrimRight(string(b), "\n")})
	}
	sort.Slice(lines, func(i, j int) bool {
		if lines[i].pid != lines[j].pid {
			return lines[i].pid < lines[j].pid
		}
		return lines[i].seq < lines[j].seq
	})
	var sb strings.Builder
	for _, l := range lines {
		sb.WriteString(l.text + "\n")
	}
	if processLog != "" {
		os.Remove(processLog)
		if sb.Len() > 0 {
			os.WriteFile(processLog, []byte(sb.String()), 0o640)
		}
	}
	if sb.Len() == 0 {
		_, err := io.WriteString(stdout, "No exim process data\n")
		return err
	}
	_, err = io.WriteString(stdout, sb.String())
	return err
}

// alive tells whether a process exists.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
