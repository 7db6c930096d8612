package tools

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// This file prints eximstats' plain text report. Spec: chapter "Exim
// utilities", section "Mail statistics (eximstats)".

// volume formats a byte count as eximstats does: up to 9999 bytes as is,
// then KB, MB or GB, rounded; raw with -nvr.
func volume(x int64, round bool) string {
	g := x / gig
	x -= g * gig
	if x == 0 && g > 0 { // eximstats keeps a whole gigabyte in the bytes
		g--
		x = gig
	}
	return volumePair(g, x, round)
}

// volumePair formats a volume eximstats keeps as gigabytes and bytes.
func volumePair(g, x int64, round bool) string {
	if !round {
		return strconv.FormatInt(g*gig+x, 10)
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

// roundedBytes is the volume volume() shows, back in bytes: averages are
// worked out from it.
func roundedBytes(x int64, round bool) int64 {
	v := strings.TrimSpace(volume(x, round))
	n, _ := strconv.ParseInt(strings.TrimRight(v, "KMGB"), 10, 64)
	switch {
	case strings.HasSuffix(v, "KB"):
		return n << 10
	case strings.HasSuffix(v, "MB"):
		return n << 20
	case strings.HasSuffix(v, "GB"):
		return n << 30
	}
	return n
}

// underline prints a title and its row of dashes.
func underline(w io.Writer, title string) {
	fmt.Fprintf(w, "%s\n%s\n", title, strings.Repeat("-", len(title)))
}

// Report writes the text report.
func (s *Eximstats) Report(w io.Writer) {
	o := s.o
	fmt.Fprintf(w, "\nExim statistics from %s to %s\n", s.begin, s.end)
	s.grandTotal(w)
	if len(o.Patterns) > 0 {
		fmt.Fprint(w, "User Specified Patterns\n-----------------------\n                       Total\n")
		for i, p := range o.Patterns {
			fmt.Fprintf(w, "  %-18s  %6d\n", p.Desc, s.patternCount[i])
		}
		fmt.Fprint(w, "\n")
		if o.Hist > 0 {
			for i, p := range o.Patterns {
				histogram(w, p.Desc, "occurence", s.patternHist[i][:], o.Hist)
			}
		}
	}
	if !o.NoTransport {
		fmt.Fprint(w, "Deliveries by transport\n-----------------------\n                      Volume    Messages\n")
		for _, t := range sortedKeys(s.transportCount) {
			if o.NoTransportRE != nil && o.NoTransportRE.MatchString(t) {
				continue
			}
			fmt.Fprintf(w, "  %-18s  %6s      %6d\n", t, volume(s.transportVol[t], !o.NoVolumeRound), s.transportCount[t])
		}
		fmt.Fprint(w, "\n")
	}
	if o.Hist > 0 {
		histogram(w, "Messages received", "message", s.recvHist[:], o.Hist)
		histogram(w, "Deliveries", "delivery", s.delHist[:], o.Hist)
	}
	if len(o.QueueTimes) > 0 {
		timeTable(w, "Time spent on the queue: all messages", o.QueueTimes, s.queueAll, false)
		timeTable(w, "Time spent on the queue: messages with at least one remote delivery", o.QueueTimes, s.queueRemote, false)
	}
	if o.ShowDT != nil {
		timeTable(w, "Delivery times: all messages", o.ShowDT, s.dtAll, false)
		timeTable(w, "Delivery times: messages with at least one remote delivery", o.ShowDT, s.dtRemote, false)
	}
	if o.ShowRT != nil {
		timeTable(w, "Receipt times: all messages", o.ShowRT, s.rtAll, true)
		for _, p := range sortedKeys(s.rtProto) {
			timeTable(w, "Receipt times: "+p+" messages", o.ShowRT, s.rtProto[p], true)
		}
	}
	if !o.NoRelay {
		s.relayList(w)
	}
	if o.Top > 0 {
		s.topLists(w)
	}
	if !o.NoErrors && len(s.errors) > 0 {
		s.errorList(w)
	}
}

// grandTotal prints the "Grand total summary".
func (s *Eximstats) grandTotal(w io.Writer) {
	round := !s.o.NoVolumeRound
	var kinds []int
	for k, on := range s.by {
		if on {
			kinds = append(kinds, k)
		}
	}
	head, recv, del := "", "", ""
	for i, k := range kinds {
		f := "%9s"
		if i == 0 {
			f = "%10s"
		}
		head += fmt.Sprintf(f, byNames[k].column)
		recv += fmt.Sprintf(f, strconv.Itoa(len(s.sources[k])))
		del += fmt.Sprintf(f, strconv.Itoa(countKeys(s.dests[k])))
	}
	fmt.Fprint(w, "\nGrand total summary\n-------------------\n")
	fmt.Fprintf(w, "%s At least one address\n", strings.Repeat(" ", 56+9*len(kinds)))
	fmt.Fprintf(w, "  TOTAL               Volume   Messages Addresses%s      Delayed       Failed\n", head)
	pct := func(n int) float64 {
		if s.received == 0 {
			return 0
		}
		return float64(n) * 100 / float64(s.received)
	}
	fmt.Fprintf(w, "  %-16s %9s     %6d    %6s%s  %6d %4.1f%% %6d %4.1f%%\n", "Received", volume(s.receivedVol, round), s.received, "",
		recv, s.delayed, pct(s.delayed), s.failed, pct(s.failed))
	fmt.Fprintf(w, "  %-16s %9s     %6d    %6d%s\n", "Delivered", volume(s.deliveredVol, round), s.delivered, s.deliveredAddrs, del)
	for _, r := range []struct {
		name string
		ips  map[string]int
	}{{"Rejects", s.rejectIPs}, {"Temp Rejects", s.tempRejectIPs}, {"Ham", s.hamIPs}, {"Spam", s.spamIPs}} {
		n := 0
		for _, c := range r.ips {
			n += c
		}
		if n == 0 {
			continue
		}
		cols := ""
		for i, k := range kinds {
			v := ""
			if k == byHost {
				v = strconv.Itoa(len(r.ips))
			}
			if i == 0 {
				cols += fmt.Sprintf("%10s", v)
			} else {
				cols += fmt.Sprintf("%9s", v)
			}
		}
		fmt.Fprintf(w, "  %-16s %9s     %6d    %6s%s\n", r.name, "", n, "", cols)
	}
	fmt.Fprint(w, "\n")
}

// countKeys counts the keys that stand for at least one message.
func countKeys(t tallies) int {
	n := 0
	for _, e := range t {
		if e.count > 0 {
			n++
		}
	}
	return n
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// timeLabel writes seconds as eximstats does: 1w2d3h4m5s, zero units left out.
func timeLabel(t int) string {
	if t == 0 {
		return "0s"
	}
	var b strings.Builder
	for _, u := range []struct {
		n    int
		unit string
	}{{604800, "w"}, {86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}} {
		if t >= u.n {
			fmt.Fprintf(&b, "%d%s", t/u.n, u.unit)
			t %= u.n
		}
	}
	return b.String()
}

// timeTable prints a table of times against buckets (queue, receipt or
// delivery times). The first row says "Under", or every row but "Over"
// with allUnder (receipt times).
func timeTable(w io.Writer, title string, limits []int, counts []int, allUnder bool) {
	underline(w, title)
	fmt.Fprint(w, "\n")
	total := 0
	for _, c := range counts {
		total += c
	}
	cum, cumPct := 0, 0.0
	for i, c := range counts {
		if c == 0 {
			continue
		}
		cum += c
		var label string
		switch {
		case i == len(limits):
			label = "Over  " + fmt.Sprintf("%4s", timeLabel(limits[i-1]))
		case cum == c:
			label = "Under " + fmt.Sprintf("%4s", timeLabel(limits[i]))
		default:
			label = "      " + fmt.Sprintf("%4s", timeLabel(limits[i]))
		}
		pct := float64(c) * 100 / float64(total)
		cumPct += pct // eximstats adds up the percentages, not the counts
		fmt.Fprintf(w, "%s %8d %5.1f%%  %5.1f%%\n", label, c, pct, cumPct)
	}
	fmt.Fprint(w, "\n")
}

// relayList prints "Relayed messages".
func (s *Eximstats) relayList(w io.Writer) {
	if len(s.relayed) == 0 && s.relayHidden == 0 {
		fmt.Fprint(w, "No relayed messages\n-------------------\n\n")
		return
	}
	fmt.Fprint(w, "Relayed messages\n----------------\n\n")
	total := 0
	for _, k := range sortedKeys(s.relayed) {
		fmt.Fprintf(w, "%7d %s\n", s.relayed[k], k)
		total += s.relayed[k]
	}
	if total > 0 {
		fmt.Fprint(w, "\n")
	}
	fmt.Fprintf(w, "Total: %d (plus %d unshown)\n\n", total, s.relayHidden)
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
	underline(w, fmt.Sprintf("%s per %s (each dot is %d %s)", text, per, scale, unit))
	fmt.Fprint(w, "\n")
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

var spacesRE = lazyRegexp(`\s\s+`)

// wrapRE splits an over-long error text after at least 50 characters.
var wrapRE = lazyRegexp(`^(.{50}\S*)\s+(.+)`)

// errorList prints "List of errors", long texts folded as eximstats does.
func (s *Eximstats) errorList(w io.Writer) {
	fmt.Fprint(w, "List of errors\n--------------\n\n")
	total := 0
	for _, k := range sortedKeys(s.errors) {
		text := spacesRE().ReplaceAllString(k, " ")
		total += s.errors[k]
		fmt.Fprintf(w, "%5d ", s.errors[k])
		for len(text) > 65 {
			m := wrapRE().FindStringSubmatch(text)
			if m == nil {
				break
			}
			fmt.Fprintf(w, "%s\n\t    ", m[1])
			text = m[2]
		}
		fmt.Fprintf(w, "%s\n\n", text)
	}
	underline(w, fmt.Sprintf("Errors encountered: %d", total))
}
