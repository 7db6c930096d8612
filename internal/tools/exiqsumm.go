package tools

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ExiqsummOptions are exiqsumm's options: -a sorts by oldest message,
// -c by count; -b, -f and -s split a domain's line by bounce, frozen and
// sender. Spec: chapter "Exim utilities", section "Summarizing the queue".
type ExiqsummOptions struct {
	ByAge, ByCount         bool
	Bounce, Frozen, Sender bool
}

// ParseExiqsumm parses exiqsumm's options.
func ParseExiqsumm(args []string) (ExiqsummOptions, bool) {
	var o ExiqsummOptions
	for _, a := range args {
		for _, c := range strings.TrimPrefix(a, "-") {
			switch c {
			case 'a':
				o.ByAge = true
			case 'c':
				o.ByCount = true
			case 'b':
				o.Bounce = true
			case 'f':
				o.Frozen = true
			case 's':
				o.Sender = true
			default:
				return o, false
			}
		}
	}
	return o, true
}

type summLine struct {
	key            string
	count          int
	volume         float64
	oldest, newest int64 // ages in seconds
}

// parseAge turns a -bp age column ("25m", " 2h", "3d") into seconds.
func parseAge(s string) int64 {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0
	}
	n, _ := strconv.ParseInt(s[:len(s)-1], 10, 64)
	switch s[len(s)-1] {
	case 'h':
		return n * 3600
	case 'd':
		return n * 86400
	}
	return n * 60
}

// parseSize turns a -bp size column ("283", "2.2K", "1.1M") into bytes.
func parseSize(s string) float64 {
	mult := 1.0
	switch {
	case strings.HasSuffix(s, "K"):
		mult, s = 1024, s[:len(s)-1]
	case strings.HasSuffix(s, "M"):
		mult, s = 1024*1024, s[:len(s)-1]
	}
	v, _ := strconv.ParseFloat(s, 64)
	return v * mult
}

// printAge renders seconds back in the age column's units.
func printAge(sec int64) string {
	switch {
	case sec >= 86400 && sec%86400 == 0 || sec >= 3*86400:
		return strconv.FormatInt(sec/86400, 10) + "d"
	case sec >= 3600 && sec%3600 == 0 || sec >= 3*3600:
		return strconv.FormatInt(sec/3600, 10) + "h"
	}
	return strconv.FormatInt(sec/60, 10) + "m"
}

// printVolume renders a byte total: bytes, then KB, then MB.
func printVolume(v float64) string {
	switch {
	case v < 10000:
		return strconv.FormatInt(int64(v+0.5), 10)
	case v < 10000*1024:
		return strconv.FormatInt(int64(v/1024+0.5), 10) + "KB"
	}
	return strconv.FormatInt(int64(v/1024/1024+0.5), 10) + "MB"
}

// Exiqsumm reads a -bp listing and writes the summary by domain.
func Exiqsumm(w io.Writer, r io.Reader, o ExiqsummOptions, now time.Time) error {
	lines := map[string]*summLine{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var age int64
	var size float64
	var sender string
	var frozen, inMsg bool
	for sc.Scan() {
		l := sc.Text()
		f := strings.Fields(l)
		switch {
		case len(f) >= 4 && len(f[2]) == 16 && strings.HasPrefix(f[3], "<"):
			age, size, sender = parseAge(f[0]), parseSize(f[1]), f[3]
			frozen, inMsg = strings.HasSuffix(l, "*** frozen ***"), true
		case inMsg && len(f) == 1:
			at := strings.LastIndexByte(f[0], '@')
			dom := f[0][at+1:]
			key := dom
			if o.Bounce && sender == "<>" {
				key += " (b)"
			}
			if o.Frozen && frozen {
				key += " (f)"
			}
			if o.Sender {
				key += " " + sender
			}
			s := lines[key]
			if s == nil {
				s = &summLine{key: key, oldest: age, newest: age}
				lines[key] = s
			}
			s.count++
			s.volume += size
			s.oldest, s.newest = max(s.oldest, age), min(s.newest, age)
		case len(f) == 0:
			inMsg = false
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	var all []*summLine
	tot := &summLine{key: "TOTAL"}
	for _, s := range lines {
		all = append(all, s)
		if tot.count == 0 {
			tot.oldest, tot.newest = s.oldest, s.newest
		}
		tot.count += s.count
		tot.volume += s.volume
		tot.oldest, tot.newest = max(tot.oldest, s.oldest), min(tot.newest, s.newest)
	}
	sort.Slice(all, func(i, j int) bool {
		switch {
		case o.ByAge && all[i].oldest != all[j].oldest:
			return all[i].oldest > all[j].oldest
		case o.ByCount && all[i].count != all[j].count:
			return all[i].count > all[j].count
		}
		return all[i].key < all[j].key
	})
	bw := bufio.NewWriter(w)
	fmt.Fprint(bw, "\nCount  Volume  Oldest  Newest  Domain\n-----  ------  ------  ------  ------\n\n")
	row := func(s *summLine) {
		fmt.Fprintf(bw, "%5d  %6s  %6s  %6s  %s\n", s.count, printVolume(s.volume), printAge(s.oldest), printAge(s.newest), s.key)
	}
	for _, s := range all {
		row(s)
	}
	fmt.Fprintln(bw, "---------------------------------------------------------------")
	row(tot)
	fmt.Fprintln(bw)
	return bw.Flush()
}
