package mainlog

import (
	"fmt"
	"log/syslog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Which names one of the three logs.
type Which int

// The three logs.
const (
	Main Which = iota
	Reject
	Panic
)

func (w Which) String() string {
	return [...]string{"main", "reject", "panic"}[w]
}

// Options configures a Logger.
type Options struct {
	// FilePath is log_file_path: a colon-separated list whose items are
	// "syslog" or a path containing "%s" (replaced by main, reject or
	// panic) and optionally %D (YYYYMMDD) or %M (YYYYMM). Empty means
	// SpoolDir/log/%slog.
	FilePath string
	// SpoolDir is spool_directory, for the default FilePath.
	SpoolDir string
	// Selector is the parsed log_selector.
	Selector Selector
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// PID is written with +pid; zero means the process id.
	PID int
	// SyslogTag is the tag for syslog lines ("exim" by default).
	SyslogTag string
	// UTC writes UTC time stamps (log_timezone would add the zone).
	UTC bool
	// Chown, when set, gives the log files this Logger creates to
	// OwnerUID and OwnerGID, as Exim does when it runs as root and
	// creates a log (its files belong to exim_user).
	Chown              bool
	OwnerUID, OwnerGID int
}

// Logger writes the three logs. It is safe for concurrent use; each line
// is written with a single append so lines of concurrent writers never mix.
type Logger struct {
	opts   Options
	mu     sync.Mutex
	files  map[string]*os.File // by resolved path
	paths  []string            // file patterns from log_file_path
	syslog bool
	sys    *syslog.Writer
}

// New returns a Logger. Files are opened on first use.
func New(opts Options) (*Logger, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.PID == 0 {
		opts.PID = os.Getpid()
	}
	if opts.SyslogTag == "" {
		opts.SyslogTag = "exim"
	}
	l := &Logger{opts: opts, files: map[string]*os.File{}}
	fp := opts.FilePath
	if fp == "" {
		fp = filepath.Join(opts.SpoolDir, "log", "%slog")
	}
	for _, item := range strings.Split(fp, ":") {
		item = strings.TrimSpace(item)
		switch {
		case item == "syslog":
			l.syslog = true
		case item == "":
			// An empty item means the default path.
			l.paths = append(l.paths, filepath.Join(opts.SpoolDir, "log", "%slog"))
		default:
			if !strings.Contains(item, "%s") {
				return nil, fmt.Errorf("log_file_path %q does not contain \"%%s\"", item)
			}
			l.paths = append(l.paths, item)
		}
	}
	return l, nil
}

// Selector returns the log_selector in force.
func (l *Logger) Selector() Selector { return l.opts.Selector }

// Stamp returns the time stamp that starts a log line, with the process id
// when +pid is selected.
func (l *Logger) Stamp(t time.Time) string {
	if l.opts.UTC {
		t = t.UTC()
	}
	var b strings.Builder
	if l.opts.Selector.Has(SelMillisec) {
		b.WriteString(t.Format("2006-01-02 15:04:05.000"))
	} else {
		b.WriteString(t.Format("2006-01-02 15:04:05"))
	}
	if l.opts.Selector.Has(SelPID) {
		b.WriteString(" [")
		b.WriteString(strconv.Itoa(l.opts.PID))
		b.WriteString("]")
	}
	return b.String()
}

// Write writes one line (without time stamp) to the given logs. Lines for
// the panic log are also written to the main log, as Exim does.
func (l *Logger) Write(text string, to ...Which) error {
	now := l.opts.Now()
	line := l.Stamp(now) + " " + strings.TrimSuffix(text, "\n") + "\n"
	l.mu.Lock()
	defer l.mu.Unlock()
	var firstErr error
	for _, w := range to {
		if err := l.writeLocked(w, now, line); err != nil && firstErr == nil {
			firstErr = err
		}
		if w == Panic && !contains(to, Main) {
			if err := l.writeLocked(Main, now, line); err != nil && firstErr == nil {
				firstErr = err
			}
		}
	}
	return firstErr
}

func contains(ws []Which, w Which) bool {
	for _, x := range ws {
		if x == w {
			return true
		}
	}
	return false
}

// Mainf writes a formatted line to the main log.
func (l *Logger) Mainf(format string, args ...any) error {
	return l.Write(fmt.Sprintf(format, args...), Main)
}

// Rejectf writes a formatted line to the main and reject logs.
func (l *Logger) Rejectf(format string, args ...any) error {
	return l.Write(fmt.Sprintf(format, args...), Main, Reject)
}

// Panicf writes a formatted line to the panic and main logs.
func (l *Logger) Panicf(format string, args ...any) error {
	return l.Write(fmt.Sprintf(format, args...), Panic)
}

// RejectWithHeaders writes a rejection line to the main log, and the line
// followed by extra lines (envelope and headers, already prefixed as Exim
// prefixes them) to the reject log.
func (l *Logger) RejectWithHeaders(text string, extra []string) error {
	now := l.opts.Now()
	line := l.Stamp(now) + " " + strings.TrimSuffix(text, "\n") + "\n"
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writeLocked(Main, now, line); err != nil {
		return err
	}
	full := line
	if !l.opts.Selector.Has(SelRejectedHeader) {
		// Spec chapter "Log files", rejected_header: without it the
		// reject log has the line alone.
		extra = nil
	}
	for _, e := range extra {
		full += strings.TrimSuffix(e, "\n") + "\n"
	}
	return l.writeLocked(Reject, now, full)
}

func (l *Logger) writeLocked(w Which, now time.Time, line string) error {
	if l.syslog {
		if err := l.writeSyslog(w, line); err != nil {
			return err
		}
	}
	for _, pattern := range l.paths {
		path := l.resolve(pattern, w, now)
		f, err := l.open(path)
		if err != nil {
			return err
		}
		if _, err := f.WriteString(line); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
	}
	return nil
}

// resolve turns a log_file_path item into the file name for log w at time
// now.
func (l *Logger) resolve(pattern string, w Which, now time.Time) string {
	if l.opts.UTC {
		now = now.UTC()
	}
	r := strings.NewReplacer("%s", w.String(), "%D", now.Format("20060102"), "%M", now.Format("200601"))
	return r.Replace(pattern)
}

func (l *Logger) open(path string) (*os.File, error) {
	if f, ok := l.files[path]; ok {
		return f, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("creating log directory: %w", err)
	}
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("failed to open %s: %w", path, err)
	}
	if l.opts.Chown && os.IsNotExist(statErr) {
		if err := f.Chown(l.opts.OwnerUID, l.opts.OwnerGID); err != nil {
			f.Close()
			return nil, fmt.Errorf("failed to give %s to the Exim user: %w", path, err)
		}
	}
	// A dated file replaces the previous day's: close files no longer used.
	for p, old := range l.files {
		if p != path && sameLogOtherDate(p, path) {
			old.Close()
			delete(l.files, p)
		}
	}
	l.files[path] = f
	return f, nil
}

func sameLogOtherDate(a, b string) bool {
	return filepath.Dir(a) == filepath.Dir(b) && len(a) == len(b) && a != b
}

func (l *Logger) writeSyslog(w Which, line string) error {
	if l.sys == nil {
		s, err := syslog.New(syslog.LOG_MAIL|syslog.LOG_INFO, l.opts.SyslogTag)
		if err != nil {
			return fmt.Errorf("connecting to syslog: %w", err)
		}
		l.sys = s
	}
	// Syslog adds its own time stamp: drop Exim's.
	text := line
	if i := strings.IndexByte(line, ' '); i >= 0 {
		if j := strings.IndexByte(line[i+1:], ' '); j >= 0 {
			text = line[i+1+j+1:]
		}
	}
	switch w {
	case Panic:
		return l.sys.Alert(text)
	case Reject:
		return l.sys.Notice(text)
	}
	return l.sys.Info(text)
}

// Close closes the open log files.
func (l *Logger) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var firstErr error
	for p, f := range l.files {
		if err := f.Close(); err != nil && firstErr == nil {
			firstErr = err
		}
		delete(l.files, p)
	}
	if l.sys != nil {
		l.sys.Close()
	}
	return firstErr
}
