package tools

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ExicyclogOptions are exicyclog's settings. Spec: chapter "Exim
// utilities", section "Cycling log files (exicyclog)".
type ExicyclogOptions struct {
	// LogFilePath is -l, or else log_file_path from the configuration.
	LogFilePath string
	// DefaultLogFilePath is the compiled-in log_file_path, used when the
	// configured one names only syslog alongside nothing else.
	DefaultLogFilePath string
	// SpoolDirectory holds log/ when log_file_path is empty.
	SpoolDirectory string
	// Keep is how many old logs are kept (-k; 10 by default).
	Keep int
}

// ParseExicyclog parses exicyclog's options (-l path, -k count,
// --version). haveL tells whether -l was given. On error msg is the text
// for stdout and code the exit code.
func ParseExicyclog(args []string) (o ExicyclogOptions, haveL bool, msg string, code int, ok bool) {
	o.Keep = 10
	for i := 0; i < len(args); i++ {
		next := ""
		if i+1 < len(args) {
			next = args[i+1]
		}
		switch args[i] {
		case "-l":
			o.LogFilePath, haveL = next, next != ""
			i++
		case "-k":
			n, err := strconv.Atoi(next)
			if err != nil {
				return o, haveL, fmt.Sprintf("exicyclog: bad -k value %q\n", next), 1, false
			}
			o.Keep = n
			i++
		case "--version":
			return o, haveL, "exicyclog: exicyclog\nbuild: " + version + "\n", 0, false
		default:
			return o, haveL, "** exicyclog: unknown option " + args[i] + "\n", 1, false
		}
	}
	return o, haveL, "", 0, true
}

// stripSyslog removes "syslog" items from a log_file_path list, as
// exicyclog does before it looks for files.
func stripSyslog(p string) string {
	items := strings.Split(p, ":")
	var keep []string
	for _, it := range items {
		if strings.TrimSpace(it) != "syslog" {
			keep = append(keep, it)
		}
	}
	return strings.TrimSpace(strings.Join(keep, ":"))
}

// Exicyclog rotates the main, reject and panic logs: NAME.01 (or .001
// when more than 99 are kept) is the log just closed, older ones move up
// one number and are gzipped, and the one numbered Keep is removed. The
// new empty logs get the owner of the old main log and mode 0640.
func Exicyclog(o ExicyclogOptions, stdout, stderr io.Writer) int {
	path := o.LogFilePath
	if path == "syslog" {
		fmt.Fprintln(stdout, "*** Exim is logging to syslog - no log files to cycle ***")
		return 1
	}
	path = stripSyslog(path)
	if path == "" {
		path = stripSyslog(o.DefaultLogFilePath)
	}
	if path == "" {
		return cycle(filepath.Join(o.SpoolDirectory, "log"), []string{"mainlog", "rejectlog", "paniclog"}, o.Keep, stderr)
	}
	dir, base := path, path
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		dir, base = path[:i], path[i+1:]
	}
	if dir == "" {
		dir = "/"
	}
	logs := []string{
		strings.Replace(base, "%s", "main", 1),
		strings.Replace(base, "%s", "reject", 1),
		strings.Replace(base, "%s", "panic", 1),
	}
	return cycle(dir, logs, o.Keep, stderr)
}

// number formats a generation number: two digits, three when more than
// 99 are kept.
func number(n, keep int) string {
	if keep > 99 {
		return fmt.Sprintf("%03d", n)
	}
	return fmt.Sprintf("%02d", n)
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

func cycle(dir string, logs []string, keep int, stderr io.Writer) int {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		fmt.Fprintf(stderr, "exicyclog: can't cd to %s\n", dir)
		return 1
	}
	at := func(name string) string { return filepath.Join(dir, name) }
	if !isFile(at(logs[0])) {
		return 0
	}
	uid, gid := -1, -1
	if fi, err := os.Stat(at(logs[0])); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			uid, gid = int(st.Uid), int(st.Gid)
		}
	}
	// The oldest generation goes.
	last := strconv.Itoa(keep)
	if keep < 10 {
		last = "0" + last
	}
	for _, l := range logs {
		for _, n := range []string{l + "." + last, l + "." + last + ".gz"} {
			if isFile(at(n)) {
				os.Remove(at(n))
			}
		}
	}
	// Every other generation moves up one.
	countt := last
	for count := keep; count > 1; count-- {
		oldt := number(count-1, keep)
		for _, l := range logs {
			if isFile(at(l + "." + oldt)) {
				os.Rename(at(l+"."+oldt), at(l+"."+countt))
			} else if isFile(at(l + "." + oldt + ".gz")) {
				os.Rename(at(l+"."+oldt+".gz"), at(l+"."+countt+".gz"))
			}
		}
		countt = oldt
	}
	// The live logs become generation one; new empty ones replace them.
	first := number(1, keep)
	for _, l := range logs {
		if !isFile(at(l)) {
			continue
		}
		if err := os.Rename(at(l), at(l+"."+first)); err != nil {
			fmt.Fprintf(stderr, "exicyclog: %v\n", err)
			return 1
		}
		os.Chown(at(l+"."+first), uid, gid)
		tmp := at(fmt.Sprintf("%s.%d", l, os.Getpid()))
		f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY, 0o640)
		if err != nil {
			fmt.Fprintf(stderr, "exicyclog: %v\n", err)
			return 1
		}
		f.Close()
		os.Chown(tmp, uid, gid)
		os.Chmod(tmp, 0o640)
		if err := os.Rename(tmp, at(l)); err != nil {
			fmt.Fprintf(stderr, "exicyclog: %v\n", err)
			return 1
		}
	}
	// Generations two and up are compressed.
	for count := 2; count <= keep; count++ {
		c := number(count, keep)
		for _, l := range logs {
			if isFile(at(l + "." + c)) {
				if err := gzipFile(at(l + "." + c)); err != nil {
					fmt.Fprintf(stderr, "gzip: %v\n", err)
				}
			}
			if isFile(at(l + "." + c + ".gz")) {
				os.Chown(at(l+"."+c+".gz"), uid, gid)
			}
		}
	}
	return 0
}

// gzipFile replaces name by name.gz as gzip(1) does, keeping the mode and
// the modification time; an existing name.gz is left alone.
func gzipFile(name string) error {
	fi, err := os.Stat(name)
	if err != nil {
		return fmt.Errorf("compressing %s: %w", name, err)
	}
	if _, err := os.Stat(name + ".gz"); err == nil {
		return fmt.Errorf("%s.gz already exists; not overwritten", name)
	}
	in, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("compressing %s: %w", name, err)
	}
	defer in.Close()
	out, err := os.OpenFile(name+".gz", os.O_CREATE|os.O_EXCL|os.O_WRONLY, fi.Mode().Perm())
	if err != nil {
		return fmt.Errorf("compressing %s: %w", name, err)
	}
	z, _ := gzip.NewWriterLevel(out, gzip.DefaultCompression)
	z.Name, z.ModTime = filepath.Base(name), fi.ModTime()
	if _, err := io.Copy(z, in); err != nil {
		out.Close()
		os.Remove(name + ".gz")
		return fmt.Errorf("compressing %s: %w", name, err)
	}
	if err := z.Close(); err != nil {
		out.Close()
		return fmt.Errorf("compressing %s: %w", name, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("compressing %s: %w", name, err)
	}
	os.Chtimes(name+".gz", fi.ModTime(), fi.ModTime())
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		os.Chown(name+".gz", int(st.Uid), int(st.Gid))
	}
	return os.Remove(name)
}
