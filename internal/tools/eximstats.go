package tools

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/exigo-mta/exigo/internal/strerror"
)

// EximstatsOptions are the eximstats options exigo implements (the plain
// text report only). Spec: chapter "Exim utilities", section "Mail
// statistics (eximstats)".
type EximstatsOptions struct {
	Hist          int            // -h<n>: histogram divisions per hour (0: none; 1 by default)
	NoTransport   bool           // -nt: no "Deliveries by transport"
	NoTransportRE *regexp.Regexp // -nt/pattern/: leave out the transports it matches
	NoErrors      bool           // -ne: no "List of errors"
	NoRelay       bool           // -nr: no "Relayed messages"
	NoRelayRE     *regexp.Regexp // -nr/pattern/: count but do not show the relays it matches
	NoVolumeRound bool           // -nvr: volumes in bytes, not KB/MB/GB
	QueueTimes    []int          // -q<list>: queue time buckets in seconds; empty: no queue times
	Top           int            // -t<n>: length of the top lists (0: none)
	TopNoLocal    bool           // -tnl: leave local sources and destinations out of the top lists
	RemoteUsers   bool           // -t_remote_users
	ByHost        bool           // -byhost (the default when no other -by option is given)
	ByDomain      bool           // -bydomain
	ByEmail       bool           // -byemail
	ByEdomain     bool           // -byedomain, -byemaildomain
	ByLocalDomain bool           // -bylocaldomain
	OrigDest      bool           // -include_original_destination
	EmptyOK       bool           // -emptyok: no valid line is not an error
	ShowRT        []int          // -show_rt<list>: receipt time buckets (nil: not shown)
	ShowDT        []int          // -show_dt<list>: delivery time buckets (nil: not shown)
	Patterns      []StatPattern  // -pattern "description" /pattern/
	TxtFile       string         // -txt=file: the report goes there ("-": stdout)
	Files         []string
}

// StatPattern is one -pattern option: lines its RE matches are counted
// under Desc.
type StatPattern struct {
	Desc string
	RE   *regexp.Regexp
}

// defaultQueueTimes are eximstats' queue time buckets: 1m 5m 15m 30m 1h
// 3h 6h 12h 1d.
var defaultQueueTimes = []int{60, 300, 900, 1800, 3600, 10800, 21600, 43200, 86400}

// parseTimeList parses a comma-separated list of seconds, sorted.
func parseTimeList(s string) ([]int, error) {
	var l []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("bad time %q in list %q", f, s)
		}
		l = append(l, n)
	}
	sort.Ints(l)
	for len(l) > 0 && l[0] == 0 { // a zero bucket would stay empty
		l = l[1:]
	}
	return l, nil
}

// slashPattern parses the /pattern/ of -nr/pattern/ and -nt/pattern/.
func slashPattern(opt, p string) (*regexp.Regexp, error) {
	if len(p) < 2 || p[0] != '/' || p[len(p)-1] != '/' {
		return nil, fmt.Errorf("bad option %s%s", opt, p)
	}
	re, err := regexp.Compile(p[1 : len(p)-1])
	if err != nil {
		return nil, fmt.Errorf("bad pattern in %s%s: %w", opt, p, err)
	}
	return re, nil
}

// malformed is eximstats' complaint about an option.
func malformed(a string) error {
	//lint:ignore ST1005 the text is eximstats'
	return fmt.Errorf("Unknown or malformed option %s", a)
}

// errUsage asks for the usage text without an error message.
var errUsage = errors.New("usage")

// ParseEximstats parses eximstats' options. Its errors are eximstats'
// texts; errUsage stands for -help.
func ParseEximstats(args []string) (EximstatsOptions, error) {
	o := EximstatsOptions{Hist: 1, Top: 50, QueueTimes: defaultQueueTimes}
	var err error
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-pattern":
			if i+2 >= len(args) {
				return o, malformed(a)
			}
			re, err := slashPattern("-pattern ", args[i+2])
			if err != nil {
				return o, malformed(a)
			}
			o.Patterns = append(o.Patterns, StatPattern{Desc: args[i+1], RE: re})
			i += 2
		case a == "-nt":
			o.NoTransport = true
		case strings.HasPrefix(a, "-nt/"):
			if o.NoTransportRE, err = slashPattern("-nt", a[3:]); err != nil {
				o.NoTransport = true
			}
		case a == "-ne":
			o.NoErrors = true
		case a == "-nr":
			o.NoRelay = true
		case strings.HasPrefix(a, "-nr/"):
			if o.NoRelayRE, err = slashPattern("-nr", a[3:]); err != nil {
				o.NoRelay = true
			}
		case a == "-nvr":
			o.NoVolumeRound = true
		case a == "-tnl":
			o.TopNoLocal = true
		case a == "-t_remote_users":
			o.RemoteUsers = true
		case a == "-byhost":
			o.ByHost = true
		case a == "-bydomain":
			o.ByDomain = true
		case a == "-byemail":
			o.ByEmail = true
		case a == "-byedomain" || a == "-byemaildomain":
			o.ByEdomain = true
		case a == "-bylocaldomain":
			o.ByLocalDomain = true
		case a == "-include_original_destination":
			o.OrigDest = true
		case a == "-emptyok":
			o.EmptyOK = true
		case a == "-txt" || a == "-txt=-":
		case strings.HasPrefix(a, "-txt="):
			o.TxtFile = a[5:]
		case strings.HasPrefix(a, "-show_rt"), strings.HasPrefix(a, "-show_dt"):
			l := defaultQueueTimes
			if len(a) > 8 {
				if l, err = parseTimeList(a[8:]); err != nil {
					return o, malformed(a)
				}
			}
			if a[6] == 'r' {
				o.ShowRT = l
			} else {
				o.ShowDT = l
			}
		case strings.HasPrefix(a, "-h") && len(a) > 2 && a[2] >= '0' && a[2] <= '9':
			n, err := strconv.Atoi(a[2:])
			if err != nil {
				return o, malformed(a)
			}
			if n != 0 && 60%n != 0 {
				return o, errors.New("-h must specify a factor of 60")
			}
			o.Hist = n
		case strings.HasPrefix(a, "-t") && len(a) > 2 && a[2] >= '0' && a[2] <= '9':
			n, err := strconv.Atoi(a[2:])
			if err != nil {
				return o, malformed(a)
			}
			o.Top = n
		case strings.HasPrefix(a, "-q") && len(a) > 2:
			l, err := parseTimeList(a[2:])
			if err != nil {
				return o, malformed(a)
			}
			o.QueueTimes = l
		case a == "-help" || a == "--help" || a == "-h":
			return o, errUsage
		case strings.HasPrefix(a, "-"):
			return o, malformed(a)
		default:
			o.Files = args[i:]
			return o, nil
		}
	}
	return o, nil
}

// RunEximstats is the eximstats command: it reads the named logs (or
// stdin) and writes the text report.
func RunEximstats(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, err := ParseEximstats(args)
	if err != nil {
		if err != errUsage {
			fmt.Fprintf(stderr, "Eximstats: %v\n", err)
		}
		if err == errUsage || strings.HasPrefix(err.Error(), "Unknown") {
			fmt.Fprint(stdout, eximstatsUsage)
		}
		return 1
	}
	s := NewEximstats(o)
	if len(o.Files) == 0 {
		if err := s.Read(stdin); err != nil {
			fmt.Fprintf(stderr, "eximstats: %v\n", err)
			return 1
		}
	}
	for _, name := range o.Files {
		if f, err := os.Open(name); err != nil {
			fmt.Fprintf(stderr, "Failed to read %s: %s", name, strerror.Text(err))
			continue
		} else {
			f.Close()
		}
		r, err := openLog(name)
		if err != nil {
			fmt.Fprintf(stderr, "Failed to read %s: %v", name, err)
			continue
		}
		err = s.Read(r)
		r.Close()
		if err != nil {
			fmt.Fprintf(stderr, "eximstats: %v\n", err)
			return 1
		}
	}
	if s.lines == 0 && !o.EmptyOK {
		fmt.Fprint(stderr, "**** No valid log lines read\n")
		return 1
	}
	if o.TxtFile == "" {
		return writeReport(s, stdout, stderr)
	}
	f, err := os.Create(o.TxtFile)
	if err != nil {
		fmt.Fprintf(stderr, "new IO::File %s failed: %s\n", o.TxtFile, strerror.Text(err))
		return 2
	}
	code := writeReport(s, f, stderr)
	if err := f.Close(); err != nil && code == 0 {
		fmt.Fprintf(stderr, "eximstats: %v\n", err)
		return 1
	}
	return code
}

// writeReport writes the report to w and returns the exit code.
func writeReport(s *Eximstats, w, stderr io.Writer) int {
	bw := bufio.NewWriter(w)
	s.Report(bw)
	if err := bw.Flush(); err != nil {
		fmt.Fprintf(stderr, "eximstats: writing the report: %v\n", err)
		return 1
	}
	return 0
}
