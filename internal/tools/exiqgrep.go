package tools

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/dlclark/regexp2"
)

// ExiqgrepHelp is exiqgrep's usage text, printed for -h, for a call
// without a selection or -c, and for a malformed option.
const ExiqgrepHelp = `Exim message queue display utility.

	-h		This help message.
	-C		Specify which exim.conf to use.
	-E		Specify exim binary to use.

Selection criteria:
	-f <regexp>	Match sender address sender (field is "< >" wrapped)
	-r <regexp>	Match recipient address
	-s <regexp>	Match against the size field from long output
	-y <seconds>	Message younger than
	-o <seconds>	Message older than
	-z		Frozen messages only (exclude non-frozen)
	-x		Non-frozen messages only (exclude frozen)
	-G <queuename>	Match in given queue only

[ NB: for regexps, provided string sits in /<string>/ ]

Display options:
	-c		Display match count
	-l		Long Format [Default]
	-i		Message IDs only
	-b		Brief Format
	-R		Reverse order
	-a		All recipients (including delivered)
`

// Exiqgrep holds exiqgrep's parsed options.
type Exiqgrep struct {
	Sender, Recipient, Size *regexp2.Regexp
	Younger, Older          int64 // seconds; 0 means unset
	Frozen, NotFrozen       bool
	Queue                   string // -G
	Count, IDs, Brief       bool
	Reverse, All            bool
	Config, Exim            string // -C, -E
	Help                    bool
	selected                bool
}

// ParseExiqgrep parses exiqgrep's options. ok is false when the usage
// text should be printed instead (exit code in code).
func ParseExiqgrep(args []string) (x *Exiqgrep, code int, ok bool) {
	x = &Exiqgrep{}
	re := func(s string) (*regexp2.Regexp, error) {
		return regexp2.Compile(s, regexp2.IgnoreCase)
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if len(a) < 2 || a[0] != '-' {
			continue
		}
		// Single-letter flags may be bundled ("-zi").
		for j := 1; j < len(a); j++ {
			c := a[j]
			arg := func() (string, bool) {
				if j+1 < len(a) {
					v := a[j+1:]
					j = len(a)
					return v, true
				}
				if i+1 < len(args) {
					i++
					j = len(a)
					return args[i], true
				}
				return "", false
			}
			switch c {
			case 'h':
				return x, 0, false
			case 'z':
				x.Frozen, x.selected = true, true
			case 'x':
				x.NotFrozen, x.selected = true, true
			case 'c':
				x.Count = true
			case 'l':
			case 'i':
				x.IDs = true
			case 'b':
				x.Brief = true
			case 'R':
				x.Reverse = true
			case 'a':
				x.All = true
			case 'f', 'r', 's', 'y', 'o', 'G', 'C', 'E':
				v, has := arg()
				if !has {
					return x, 0, false
				}
				var err error
				switch c {
				case 'f':
					x.Sender, err = re(v)
				case 'r':
					x.Recipient, err = re(v)
				case 's':
					x.Size, err = re(v)
				case 'y', 'o':
					n, perr := strconv.ParseInt(v, 10, 64)
					if perr != nil {
						n = 0
					}
					if c == 'y' {
						x.Younger = n
					} else {
						x.Older = n
					}
				case 'G':
					x.Queue = v
				case 'C':
					x.Config = v
				case 'E':
					x.Exim = v
				}
				if err != nil {
					return x, 1, false
				}
				if c != 'C' && c != 'E' {
					x.selected = true
				}
			default:
				return x, 0, false
			}
		}
	}
	if !x.selected && !x.Count {
		return x, 1, false
	}
	return x, 0, true
}

// ListingMode is the -bp option exiqgrep reads: -bp with -a, else -bpu.
func (x *Exiqgrep) ListingMode() string {
	if x.All {
		return "-bp"
	}
	return "-bpu"
}

// qmsg is one message of a -bp listing.
type qmsg struct {
	id, sender, size string
	frozen           bool
	first            string
	rcpts            []string
}

// parseListing splits -bp output into messages.
func parseListing(r io.Reader) []*qmsg {
	var out []*qmsg
	var cur *qmsg
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		switch {
		case len(f) >= 4 && len(f[2]) == 16 && strings.HasPrefix(f[3], "<"):
			cur = &qmsg{id: f[2], size: f[1], first: line}
			s := f[3]
			if !strings.HasSuffix(s, ">") {
				// A sender with spaces: up to the closing bracket.
				rest := line[strings.Index(line, "<"):]
				if k := strings.Index(rest, ">"); k >= 0 {
					s = rest[:k+1]
				}
			}
			cur.sender = s
			cur.frozen = strings.HasSuffix(line, "*** frozen ***")
			out = append(out, cur)
		case cur != nil && strings.TrimSpace(line) != "":
			cur.rcpts = append(cur.rcpts, strings.TrimLeft(line, " \t"))
		case strings.TrimSpace(line) == "":
			cur = nil
		}
	}
	return out
}

// idTime decodes the arrival second from a message id's first six
// base-62 characters (exiqgrep's -y and -o use the id, not the age
// column).
func idTime(id string) int64 {
	var v int64
	for i := 0; i < 6 && i < len(id); i++ {
		c := id[i]
		var d int64
		switch {
		case c >= '0' && c <= '9':
			d = int64(c - '0')
		case c >= 'A' && c <= 'Z':
			d = int64(c-'A') + 10
		case c >= 'a' && c <= 'z':
			d = int64(c-'a') + 36
		}
		v = v*62 + d
	}
	return v
}

func match(re *regexp2.Regexp, s string) bool {
	ok, err := re.MatchString(s)
	return err == nil && ok
}

// Run filters a -bp listing read from listing and writes exiqgrep's
// output.
func (x *Exiqgrep) Run(w io.Writer, listing io.Reader, now time.Time) error {
	msgs := parseListing(listing)
	var sel []*qmsg
	for _, m := range msgs {
		if x.Sender != nil && !match(x.Sender, m.sender) {
			continue
		}
		if x.Recipient != nil {
			hit := false
			for _, r := range m.rcpts {
				if match(x.Recipient, r) {
					hit = true
					break
				}
			}
			if !hit {
				continue
			}
		}
		if x.Size != nil && !match(x.Size, m.size) {
			continue
		}
		age := now.Unix() - idTime(m.id)
		if x.Younger > 0 && age >= x.Younger {
			continue
		}
		if x.Older > 0 && age <= x.Older {
			continue
		}
		if x.Frozen && !m.frozen || x.NotFrozen && m.frozen {
			continue
		}
		sel = append(sel, m)
	}
	if x.Reverse {
		for i, j := 0, len(sel)-1; i < j; i, j = i+1, j-1 {
			sel[i], sel[j] = sel[j], sel[i]
		}
	}
	var b bytes.Buffer
	switch {
	case x.Count:
		fmt.Fprintf(&b, "%d matches out of %d messages\n", len(sel), len(msgs))
	case x.IDs:
		for _, m := range sel {
			b.WriteString(m.id + "\n")
		}
	case x.Brief:
		for _, m := range sel {
			fmt.Fprintf(&b, "%s From: %s To: %s\n", m.id, m.sender, strings.Join(m.rcpts, ";"))
		}
	default:
		for _, m := range sel {
			b.WriteString(m.first + "\n")
			for _, r := range m.rcpts {
				b.WriteString("\t  " + r + "\n")
			}
			b.WriteString("\n")
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}
