package tools

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// EximstatsOptions are the eximstats options exigo implements. Spec:
// chapter "Exim utilities", section "Mail statistics (eximstats)".
type EximstatsOptions struct {
	Hist          int  // -h<n>: histogram divisions per hour (0: none; 1 by default)
	NoTransport   bool // -nt
	NoErrors      bool // -ne
	NoVolumeRound bool // -nvr
	Files         []string
}

// ParseEximstats parses eximstats' options. Options for sections exigo
// does not print yet (-nr, -q, -t, -tnl, -by*) are accepted and ignored.
func ParseEximstats(args []string) (EximstatsOptions, error) {
	o := EximstatsOptions{Hist: 1}
	for i, a := range args {
		switch {
		case a == "-nt":
			o.NoTransport = true
		case a == "-ne":
			o.NoErrors = true
		case a == "-nvr":
			o.NoVolumeRound = true
		case strings.HasPrefix(a, "-h") && len(a) > 2 && a[2] >= '0' && a[2] <= '9':
			n, err := strconv.Atoi(a[2:])
			if err != nil || (n != 0 && 60%n != 0) {
				return o, fmt.Errorf("bad -h value %q", a)
			}
			o.Hist = n
		case a == "-nr" || a == "-tnl" || a == "-byhost" || a == "-bydomain" || a == "-byemail" ||
			a == "-byedomain" || a == "-byemaildomain" || a == "-emptyok" || strings.HasPrefix(a, "-q") ||
			(strings.HasPrefix(a, "-t") && len(a) > 2 && a[2] >= '0' && a[2] <= '9'):
		case strings.HasPrefix(a, "-") && a != "-":
			return o, fmt.Errorf("unknown option %s", a)
		default:
			o.Files = args[i:]
			return o, nil
		}
	}
	return o, nil
}

// gig is the unit in which eximstats carries large volumes.
const gig = 1 << 30

// statMessage is what eximstats remembers of a message until Completed.
type statMessage struct {
	size             int64
	haveSize         bool
	delayed, errored bool
}

// Eximstats holds the totals gathered from log lines.
type Eximstats struct {
	begin, end        string
	received          int
	receivedVol       int64
	receivedHosts     map[string]bool
	delivered         int
	deliveredAddrs    int
	deliveredVol      int64
	deliveredHosts    map[string]bool
	delayed, failed   int
	transportCount    map[string]int
	transportVol      map[string]int64
	recvHist, delHist [24 * 60]int // per minute of the day
	errors            map[string]int
	rejectIPs         map[string]int
	tempRejectIPs     map[string]int
	messages          map[string]*statMessage
}

// NewEximstats returns empty totals.
func NewEximstats() *Eximstats {
	return &Eximstats{
		begin: "9999-99-99 99:99:99", end: "0000-00-00 00:00:00",
		receivedHosts: map[string]bool{}, deliveredHosts: map[string]bool{},
		transportCount: map[string]int{}, transportVol: map[string]int64{},
		errors: map[string]int{}, rejectIPs: map[string]int{}, tempRejectIPs: map[string]int{},
		messages: map[string]*statMessage{},
	}
}

var (
	statLineRE  = regexp.MustCompile(`^(\d{4}-\d\d-\d\d\s(\d\d):(\d\d):\d\d)(\.\d+)?(\s[-+]\d\d\d\d)?(\s\[\d+\])?`)
	statFlagRE  = regexp.MustCompile(`^([<>=*-]+|SA)$`)
	statRejRE   = regexp.MustCompile(`rejected|refused|dropped`)
	statIDRE    = regexp.MustCompile(`^[-0-9a-zA-Z]+$`)
	statWantRE  = regexp.MustCompile(`<=|=>|->|==|\*\*|Co|SA|Re`)
	statIP1RE   = regexp.MustCompile(`\bH=(?:|.*? )(\[[^]]+\])`)
	statIP2RE   = regexp.MustCompile(`Connection from (\[\S+\])`)
	statIP3RE   = regexp.MustCompile(`SMTP call from .*?(\[\S+\])`)
	statHostRE  = regexp.MustCompile(`\bH=(\S+)`)
	statSizeRE  = regexp.MustCompile(`\sS=(\d+)( |$)`)
	statTRE     = regexp.MustCompile(`\sT=(\S+)`)
	statHeloRE  = regexp.MustCompile(`^rejected [HE][HE]LO from .*?(\[.+?\]):`)
	statTemp1RE = regexp.MustCompile(`(temporarily rejected [A-Z]*) .*?(: .*?)(:|\s*$)`)
	statTemp2RE = regexp.MustCompile(`temporarily refused connection|temporarily rejected connection in .*?ACL`)
)

// Line adds one log line (without its newline) to the totals. Lines
// that are not about messages or rejections are ignored. Spec: chapter
// "Log files", section "Log line flags".
func (s *Eximstats) Line(line string) {
	if len(line) == 0 || line[0] < '0' || line[0] > '9' {
		if loc := exigrepSyslogRE.FindStringIndex(line); loc != nil {
			line = line[loc[1]:]
		} else {
			return
		}
	}
	length := len(line) + 1 // eximstats counts the newline
	if length < 38 {
		return
	}
	m := statLineRE.FindStringSubmatch(line)
	if m == nil {
		return
	}
	tod := m[1] + m[5]
	hour, _ := strconv.Atoi(m[2])
	minute, _ := strconv.Atoi(m[3])
	extra := 0
	if m[5] != "" {
		extra = 6
		if length < 44 {
			return
		}
	}
	if m[4] != "" {
		extra += len(m[4])
		if length < 38+extra {
			return
		}
	}
	if m[6] != "" {
		extra += len(m[6])
		if length < 38+extra {
			return
		}
	}
	id := substr(line, 20+extra, 16)
	flag := substr(line, 37+extra, 2)
	if !statFlagRE.MatchString(flag) && statRejRE.MatchString(line) {
		flag = "Re"
		extra -= 3
		if !statIDRE.MatchString(id) {
			id = ""
			extra -= 17
		}
	}
	if !statWantRE.MatchString(flag) {
		return
	}
	rest := substr(line, 40+extra, len(line))
	msg := s.messages[id]
	if msg == nil && id != "" {
		msg = &statMessage{}
		s.messages[id] = msg
	}
	if msg == nil {
		msg = &statMessage{}
	}
	ip := "local"
	for _, re := range []*regexp.Regexp{statIP1RE, statIP2RE, statIP3RE} {
		if f := re.FindStringSubmatch(rest); f != nil {
			ip = f[1]
			break
		}
	}
	host := "local"
	if f := statHostRE.FindStringSubmatch(rest); f != nil {
		host = f[1]
	}
	if tod < s.begin {
		s.begin = tod
	} else if tod > s.end {
		s.end = tod
	}
	slot := hour*60 + minute // the log may hold hours past 23 and minutes past 59
	switch flag {
	case "<=":
		var size int64
		if f := statSizeRE.FindStringSubmatch(rest); f != nil {
			size, _ = strconv.ParseInt(f[1], 10, 64)
		}
		msg.size, msg.haveSize = size, true
		s.receivedHosts[host] = true
		s.received++
		s.receivedVol += size
		if slot < len(s.recvHist) {
			s.recvHist[slot]++
		}
	case "=>":
		s.deliveredHosts[host] = true
		s.delivered++
		s.deliveredAddrs++
		s.deliveredVol += msg.size
		t := ":blackhole:"
		if f := statTRE.FindStringSubmatch(rest); f != nil {
			t = f[1]
		}
		s.transportCount[t]++
		s.transportVol[t] += msg.size
		if slot < len(s.delHist) {
			s.delHist[slot]++
		}
	case "->":
		s.deliveredAddrs++
	case "==":
		if msg.haveSize && !msg.delayed {
			s.delayed++
			msg.delayed = true
		}
	case "**":
		if msg.haveSize && !msg.errored {
			s.failed++
			msg.errored = true
		}
		s.errors[rest]++
	case "Co":
		delete(s.messages, id)
	}
	if flag == "Re" || (flag == "=>" && !statTRE.MatchString(rest)) {
		if f := statHeloRE.FindStringSubmatch(rest); ip == "local" && f != nil {
			ip = f[1]
		}
		if !strings.Contains(rest, "SpamAssassin") && (statTemp1RE.MatchString(rest) || statTemp2RE.MatchString(rest)) {
			s.tempRejectIPs[ip]++
		} else {
			s.rejectIPs[ip]++
		}
	}
}

// substr is Perl's substr on a byte string: out-of-range starts give "".
func substr(s string, start, n int) string {
	if start < 0 {
		start += len(s)
		if start < 0 {
			start = 0
		}
	}
	if start >= len(s) {
		return ""
	}
	if start+n > len(s) {
		n = len(s) - start
	}
	return s[start : start+n]
}

// Read adds every line of r.
func (s *Eximstats) Read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	for sc.Scan() {
		s.Line(sc.Text())
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading log: %w", err)
	}
	return nil
}

// volume formats a byte count as eximstats does: up to 9999 bytes as is,
// then KB, MB or GB, rounded; raw with -nvr.
func volume(x int64, round bool) string {
	if !round {
		return strconv.FormatInt(x, 10)
	}
	g := x / gig
	x -= g * gig
	if x == 0 && g > 0 { // eximstats keeps a whole gigabyte in the bytes
		g--
		x = gig
	}
	switch {
	case g <= 0 && x < 10000:
		return fmt.Sprintf("%6d", x)
	case g <= 0 && x < 10000000:
		return fmt.Sprintf("%4dKB", (x+512)/1024)
	case g <= 0:
		return fmt.Sprintf("%4dMB", (x+512*1024)/(1024*1024))
	case g < 10:
		return fmt.Sprintf("%4dMB", g*1024+(x+512*1024)/(1024*1024))
	}
	return fmt.Sprintf("%4dGB", g+(x+gig/2)/gig)
}

// Report writes the text report: header, grand total summary,
// deliveries by transport, the per-hour histograms and the list of
// errors. Spec: chapter "Exim utilities", section "Mail statistics".
func (s *Eximstats) Report(w io.Writer, o EximstatsOptions) {
	round := !o.NoVolumeRound
	fmt.Fprintf(w, "\nExim statistics from %s to %s\n", s.begin, s.end)
	fmt.Fprint(w, "\nGrand total summary\n-------------------\n")
	fmt.Fprint(w, "                                                                  At least one address\n")
	fmt.Fprint(w, "  TOTAL               Volume   Messages Addresses     Hosts      Delayed       Failed\n")
	const f1 = "  %-16s %9s     %6d    %6s    %6s"
	pct := func(n int) float64 {
		if s.received == 0 {
			return 0
		}
		return float64(n) * 100 / float64(s.received)
	}
	fmt.Fprintf(w, f1+"  %6d %4.1f%% %6d %4.1f%%\n", "Received", volume(s.receivedVol, round), s.received, "",
		strconv.Itoa(len(s.receivedHosts)), s.delayed, pct(s.delayed), s.failed, pct(s.failed))
	fmt.Fprintf(w, f1+"\n", "Delivered", volume(s.deliveredVol, round), s.delivered, strconv.Itoa(s.deliveredAddrs), strconv.Itoa(len(s.deliveredHosts)))
	for _, r := range []struct {
		name string
		ips  map[string]int
	}{{"Rejects", s.rejectIPs}, {"Temp Rejects", s.tempRejectIPs}} {
		n := 0
		for _, c := range r.ips {
			n += c
		}
		if n > 0 {
			fmt.Fprintf(w, f1+"\n", r.name, "", n, "", strconv.Itoa(len(r.ips)))
		}
	}
	fmt.Fprint(w, "\n")
	if !o.NoTransport {
		fmt.Fprint(w, "Deliveries by transport\n-----------------------\n                      Volume    Messages\n")
		for _, t := range sortedKeys(s.transportCount) {
			fmt.Fprintf(w, "  %-18s  %6s      %6d\n", t, volume(s.transportVol[t], round), s.transportCount[t])
		}
		fmt.Fprint(w, "\n")
	}
	if o.Hist > 0 {
		histogram(w, "Messages received", "message", s.recvHist[:], o.Hist)
		histogram(w, "Deliveries", "delivery", s.delHist[:], o.Hist)
	}
	if !o.NoErrors && len(s.errors) > 0 {
		s.errorList(w)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// histogram prints one "per hour" histogram with hist divisions an hour.
func histogram(w io.Writer, text, unit string, perMinute []int, hist int) {
	interval := 60 / hist
	counts := make([]int, 24*60/interval)
	for i, c := range perMinute {
		counts[i/interval] += c
	}
	maxd := 0
	for _, c := range counts {
		maxd = max(maxd, c)
	}
	scale := (maxd + 25) / 50
	if scale == 0 {
		scale = 1
	}
	if scale != 1 {
		if strings.HasSuffix(unit, "y") {
			unit = unit[:len(unit)-1] + "ies"
		} else {
			unit += "s"
		}
	}
	per := fmt.Sprintf("%d minutes", interval)
	switch interval {
	case 60:
		per = "hour"
	case 1:
		per = "minute"
	}
	title := fmt.Sprintf("%s per %s (each dot is %d %s)", text, per, scale, unit)
	fmt.Fprintf(w, "%s\n%s\n\n", title, strings.Repeat("-", len(title)))
	for i, c := range counts {
		h, m := i*interval/60, i*interval%60
		switch {
		case hist == 1:
			fmt.Fprintf(w, "%02d-%02d", h, h+1)
		case m == 0:
			fmt.Fprintf(w, "%02d:%02d", h, m)
		default:
			fmt.Fprintf(w, "  :%02d", m)
		}
		fmt.Fprintf(w, " %6d %s\n", c, strings.Repeat(".", c/scale))
	}
	fmt.Fprint(w, "\n")
}

var spacesRE = regexp.MustCompile(`\s\s+`)

// wrapRE splits an over-long error text after at least 50 characters.
var wrapRE = regexp.MustCompile(`^(.{50}\S*)\s+(.+)`)

// errorList prints "List of errors", long texts folded as eximstats does.
func (s *Eximstats) errorList(w io.Writer) {
	fmt.Fprint(w, "List of errors\n--------------\n\n")
	total := 0
	for _, k := range sortedKeys(s.errors) {
		text := spacesRE.ReplaceAllString(k, " ")
		total += s.errors[k]
		fmt.Fprintf(w, "%5d ", s.errors[k])
		for len(text) > 65 {
			m := wrapRE.FindStringSubmatch(text)
			if m == nil {
				break
			}
			fmt.Fprintf(w, "%s\n\t    ", m[1])
			text = m[2]
		}
		fmt.Fprintf(w, "%s\n\n", text)
	}
	t := fmt.Sprintf("Errors encountered: %d", total)
	fmt.Fprintf(w, "%s\n%s\n", t, strings.Repeat("-", len(t)))
}

// RunEximstats is the eximstats command: it reads the named logs (or
// stdin) and writes the text report.
func RunEximstats(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, err := ParseEximstats(args)
	if err != nil {
		fmt.Fprintf(stderr, "eximstats: %v\n", err)
		return 1
	}
	s := NewEximstats()
	if len(o.Files) == 0 {
		if err := s.Read(stdin); err != nil {
			fmt.Fprintf(stderr, "eximstats: %v\n", err)
			return 1
		}
	}
	for _, name := range o.Files {
		r, err := openLog(name)
		if err != nil {
			fmt.Fprintf(stderr, "eximstats: %v\n", err)
			return 1
		}
		err = s.Read(r)
		r.Close()
		if err != nil {
			fmt.Fprintf(stderr, "eximstats: %v\n", err)
			return 1
		}
	}
	bw := bufio.NewWriter(stdout)
	s.Report(bw, o)
	bw.Flush()
	return 0
}
