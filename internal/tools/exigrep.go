package tools

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/exigo-mta/exigo/internal/strerror"
)

// ExigrepOptions are exigrep's options. Spec: chapter "Exim utilities",
// section "Extracting specific information from the log (exigrep)".
type ExigrepOptions struct {
	Pattern   string
	Sensitive bool // -I: case-sensitive matching
	Literal   bool // -l: the pattern stands for itself
	Related   bool // -M: also show messages that mention a matched one
	Invert    bool // -v: messages that do not match
	QueueTime int  // -t: only messages at least this many seconds on the queue; -1 for all
	Files     []string
}

// exigrepUsage is what exigrep prints (on stderr) for a bad command line.
const exigrepUsage = "Usage:\n    exigrep [options] pattern [log] ...\n\n"

// exigrepLongOpts are the option names exigrep accepts with one or two
// dashes, abbreviated to any unique prefix.
var exigrepLongOpts = []string{"I", "sensitive", "l", "literal", "M", "related", "t", "queue-time", "pager", "nopager", "no-pager", "v", "invert", "h", "help", "m", "man", "version"}

// ParseExigrep parses exigrep's command line. Options may follow the
// pattern; "--" ends them. When ok is false, msg is the text for stderr
// (or stdout when code is 0) and code the exit code.
func ParseExigrep(args []string) (o ExigrepOptions, msg string, code int, ok bool) {
	o.QueueTime = -1
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			rest = append(rest, a)
			continue
		}
		name := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		name, val, hasVal := strings.Cut(name, "=")
		full := matchOpt(name, exigrepLongOpts)
		if full == "" {
			return o, "Unknown option: " + name + "\n" + exigrepUsage, 2, false
		}
		switch full {
		case "I", "sensitive":
			o.Sensitive = true
		case "l", "literal":
			o.Literal = true
		case "M", "related":
			o.Related = true
		case "v", "invert":
			o.Invert = true
		case "pager", "nopager", "no-pager":
		case "t", "queue-time":
			if !hasVal {
				if i+1 >= len(args) {
					return o, "Option " + name + " requires an argument\n" + exigrepUsage, 2, false
				}
				i++
				val = args[i]
			}
			n, err := strconv.Atoi(val)
			if err != nil {
				return o, "Value \"" + val + "\" invalid for option " + name + " (number expected)\n" + exigrepUsage, 2, false
			}
			o.QueueTime = n
		case "version":
			return o, "exigrep: exigrep\nbuild: " + version + "\n", 0, false
		default: // help, man
			return o, exigrepUsage, 0, false
		}
	}
	if len(rest) == 0 {
		return o, exigrepUsage, 2, false
	}
	o.Pattern, o.Files = rest[0], rest[1:]
	return o, "", 0, true
}

// version is the Exim release the tools claim to belong to.
const version = "4.96"

// matchOpt finds name among opts, exactly or as a unique prefix of a
// long name; it returns "" when there is none or the prefix is ambiguous.
func matchOpt(name string, opts []string) string {
	found := ""
	for _, o := range opts {
		if o == name {
			return o
		}
		if len(o) > 1 && name != "" && strings.HasPrefix(o, name) {
			if found != "" {
				return ""
			}
			found = o
		}
	}
	return found
}

// exigrep's line shapes. A log line starts with a timestamp (maybe with
// fractional seconds and a zone), maybe a [pid], maybe a message id.
var (
	exigrepLineRE     = lazyRegexp(`^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? (?:[+-]\d{4} )?)(?:\[\d+\] )?([A-Za-z0-9_]{6}-[A-Za-z0-9_]{6}-[A-Za-z0-9_]{2})?`)
	exigrepRejectedRE = lazyRegexp(`^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? (?:[+-]\d{4} )?)(?:\[\d+\] )?[A-Za-z0-9_]{6}-[A-Za-z0-9_]{6}-[A-Za-z0-9_]{2} rejected`)
	exigrepFirstRE    = lazyRegexp(`^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ([+-]\d{4} )?)`)
	exigrepStampRE    = lazyRegexp(`^(\d{4})-(\d\d)-(\d\d)\s(\d\d):(\d\d):(\d\d)(?:.\d+)?(?:\s([+-])(\d\d)(\d\d))?`)
	exigrepSyslogRE   = lazyRegexp(`^.*? exim\b.*?: `)
	exigrepDigitsRE   = lazyRegexp(`^\d{4}-`)
)

// exigrepState is one search: the lines kept per message and which
// messages are selected.
type exigrepState struct {
	o         ExigrepOptions
	ci, cs    *regexp.Regexp // caseless (nil with -I) and case-sensitive pattern
	saved     map[string]*bytes.Buffer
	selected  map[string]bool
	order     []string // ids in the order they entered selected
	related   []string
	relatedRE *regexp.Regexp
	out       io.Writer
	loc       *time.Location
}

// Exigrep searches log lines from the readers and writes whole message
// groups that match, each followed by an empty line, as exigrep does.
// Groups of messages not yet completed come last, under a "+++ ID has
// not completed +++" line. loc is the zone for timestamps without one.
func Exigrep(out io.Writer, o ExigrepOptions, loc *time.Location, inputs ...io.Reader) error {
	st, err := newExigrep(out, o, loc)
	if err != nil {
		return err
	}
	for _, r := range inputs {
		if err := st.feed(r); err != nil {
			return err
		}
	}
	return st.finish()
}

func newExigrep(out io.Writer, o ExigrepOptions, loc *time.Location) (*exigrepState, error) {
	p := o.Pattern
	if o.Literal {
		p = regexp.QuoteMeta(p)
	}
	cs, err := regexp.Compile(p)
	if err != nil {
		return nil, fmt.Errorf("bad pattern: %w", err)
	}
	st := &exigrepState{o: o, cs: cs, saved: map[string]*bytes.Buffer{}, selected: map[string]bool{}, out: out, loc: loc}
	if !o.Sensitive {
		st.ci = regexp.MustCompile("(?i)" + p)
	}
	return st, nil
}

// match reports whether the pattern matches, caselessly unless -I.
func (st *exigrepState) match(s string) bool {
	if st.ci != nil && st.ci.MatchString(s) {
		return true
	}
	return st.cs.MatchString(s)
}

func (st *exigrepState) feed(r io.Reader) error {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			if werr := st.line(line); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading log: %w", err)
		}
	}
}

func (st *exigrepState) setSelected(id string, v bool) {
	if _, ok := st.selected[id]; !ok {
		st.order = append(st.order, id)
	}
	st.selected[id] = v
}

// line handles one log line, newline included.
func (st *exigrepState) line(line string) error {
	if !exigrepDigitsRE().MatchString(line) {
		// A syslog line: drop everything up to the "exim...: " tag.
		if loc := exigrepSyslogRE().FindStringIndex(line); loc != nil {
			line = line[loc[1]:]
		}
	}
	m := exigrepLineRE().FindStringSubmatch(line)
	if m == nil {
		return nil
	}
	text := strings.TrimSuffix(line, "\n")
	date, id := m[1], m[2]
	if id == "" {
		var show bool
		if st.o.Invert {
			show = !st.cs.MatchString(text)
		} else {
			show = st.match(text)
		}
		if show {
			_, err := io.WriteString(st.out, line+"\n")
			return err
		}
		return nil
	}
	buf := st.saved[id]
	if buf == nil {
		buf = &bytes.Buffer{}
		st.saved[id] = buf
	}
	buf.WriteString(line)
	if st.o.Invert {
		if _, ok := st.selected[id]; !ok {
			st.setSelected(id, true)
		}
		if st.match(text) {
			st.setSelected(id, false)
		}
	} else {
		if _, ok := st.selected[id]; ok || st.match(text) {
			st.setSelected(id, true)
			if st.o.Related {
				st.addRelated(id)
			}
		} else if st.o.Related && st.relatedRE != nil && st.relatedRE.MatchString(text) {
			st.setSelected(id, true)
		}
	}
	if strings.Contains(line, "Completed") || strings.Contains(line, "SMTP data timeout") ||
		(strings.Contains(line, "rejected") && exigrepRejectedRE().MatchString(line)) {
		if st.o.QueueTime != -1 && st.selected[id] {
			if f := exigrepFirstRE().FindStringSubmatch(buf.String()); f != nil {
				if st.seconds(date)-st.seconds(f[1]) <= int64(st.o.QueueTime) {
					st.selected[id] = false
				}
			}
		}
		if st.selected[id] {
			buf.WriteString("\n")
			if _, err := st.out.Write(buf.Bytes()); err != nil {
				return err
			}
		}
		st.forget(id)
	}
	return nil
}

// forget drops a completed message.
func (st *exigrepState) forget(id string) {
	delete(st.saved, id)
	if _, ok := st.selected[id]; ok {
		delete(st.selected, id)
		for i, x := range st.order {
			if x == id {
				st.order = append(st.order[:i], st.order[i+1:]...)
				break
			}
		}
	}
}

// addRelated remembers a selected message id so that later lines that
// mention it select their own message too (-M).
func (st *exigrepState) addRelated(id string) {
	for _, x := range st.related {
		if x == id {
			return
		}
	}
	st.related = append(st.related, id)
	quoted := make([]string, len(st.related))
	for i, x := range st.related {
		quoted[i] = regexp.QuoteMeta(x)
	}
	st.relatedRE = regexp.MustCompile(strings.Join(quoted, "|"))
}

// seconds turns a log timestamp into seconds since the epoch, in the
// local zone unless the stamp carries one.
func (st *exigrepState) seconds(s string) int64 {
	m := exigrepStampRE().FindStringSubmatch(s)
	if m == nil {
		return 0
	}
	n := make([]int, 9)
	for i := 1; i <= 9; i++ {
		if i != 7 {
			n[i-1], _ = strconv.Atoi(m[i])
		}
	}
	t := time.Date(n[0], time.Month(n[1]), n[2], n[3], n[4], n[5], 0, st.loc).Unix()
	off := int64(n[7]*3600 + n[8]*60)
	switch m[7] {
	case "+":
		t -= off
	case "-":
		t += off
	}
	return t
}

// finish writes the messages that never completed.
func (st *exigrepState) finish() error {
	for _, id := range st.order {
		text := ""
		if b := st.saved[id]; b != nil {
			text = b.String()
		}
		if _, err := fmt.Fprintf(st.out, "+++ %s has not completed +++\n%s\n", id, text); err != nil {
			return err
		}
	}
	return nil
}

// openLog opens a log file for exigrep, decompressing .gz and .bz2
// itself and .xz, .lzma and .zst through the usual commands.
func openLog(name string) (io.ReadCloser, error) {
	ext := name[strings.LastIndexByte(name, '.')+1:]
	cmds := map[string][]string{"xz": {"xzcat"}, "lzma": {"lzma", "-dc"}, "zst": {"zstdcat"}}
	if c, ok := cmds[ext]; ok && strings.Contains(name, ".") {
		bin, err := exec.LookPath(c[0])
		if err != nil {
			//lint:ignore ST1005 the text is exigrep's
			return nil, fmt.Errorf("Didn't find %s decompressor for %s", ext, name)
		}
		out, err := exec.Command(bin, append(c[1:], name)...).Output()
		if err != nil {
			//lint:ignore ST1005 the text is exigrep's
			return nil, fmt.Errorf("Unable to decompress %s: %w", name, err)
		}
		return io.NopCloser(bytes.NewReader(out)), nil
	}
	f, err := os.Open(name)
	if err != nil {
		//lint:ignore ST1005 the text is exigrep's
		return nil, fmt.Errorf("Unable to open %s: %s", name, strerror.Text(err))
	}
	switch {
	case strings.HasSuffix(name, ".gz"):
		z, err := gzip.NewReader(f)
		if err != nil {
			f.Close()
			//lint:ignore ST1005 the text is exigrep's
			return nil, fmt.Errorf("Unable to decompress %s: %w", name, err)
		}
		return struct {
			io.Reader
			io.Closer
		}{z, f}, nil
	case strings.HasSuffix(name, ".bz2"):
		return struct {
			io.Reader
			io.Closer
		}{bzip2.NewReader(f), f}, nil
	}
	return f, nil
}

// RunExigrep is the exigrep command: it parses args, reads the named
// log files (or stdin) and prints matching message groups.
func RunExigrep(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, msg, code, ok := ParseExigrep(args)
	if !ok {
		if code == 0 {
			io.WriteString(stdout, msg)
		} else {
			io.WriteString(stderr, msg)
		}
		return code
	}
	bw := bufio.NewWriter(stdout)
	defer bw.Flush()
	st, err := newExigrep(bw, o, time.Local)
	if err != nil {
		fmt.Fprintf(stderr, "exigrep: %v\n", err)
		return 255
	}
	if len(o.Files) == 0 {
		if err := st.feed(stdin); err != nil {
			fmt.Fprintf(stderr, "exigrep: %v\n", err)
			return 1
		}
	}
	for _, name := range o.Files {
		r, err := openLog(name)
		if err != nil {
			bw.Flush()
			fmt.Fprintf(stderr, "%v\n", err)
			return 2
		}
		err = st.feed(r)
		r.Close()
		if err != nil {
			fmt.Fprintf(stderr, "exigrep: %v\n", err)
			return 1
		}
	}
	if err := st.finish(); err != nil {
		fmt.Fprintf(stderr, "exigrep: %v\n", err)
		return 1
	}
	return 0
}
