package tools

import (
	"fmt"
	"io"
	"sort"
)

// This file prints eximstats' "Top N" tables. Spec: chapter "Exim
// utilities", section "Mail statistics (eximstats)".

// topLists prints every top table, in eximstats' order.
func (s *Eximstats) topLists(w io.Writer) {
	s.countTable(w, "mail rejection reason", s.rejectReasons)
	s.countTable(w, "mail temporary rejection reason", s.tempReasons)
	for k := range byKinds {
		if s.by[k] {
			s.volumeTables(w, "sending "+byNames[k].noun, s.sources[k], false)
		}
	}
	if len(s.localSenders) > 0 {
		s.volumeTables(w, "local sender", s.localSenders, false)
	}
	for k := range byKinds {
		if s.by[k] {
			s.volumeTables(w, byNames[k].noun+" destination", s.dests[k], true)
		}
	}
	if len(s.localDests) > 0 {
		s.volumeTables(w, "local destination", s.localDests, true)
	}
	if s.o.ByLocalDomain && len(s.localDomainDests) > 0 {
		s.volumeTables(w, "local domain destination", s.localDomainDests, true)
	}
	s.countTable(w, "rejected ip", s.rejectIPs)
	s.countTable(w, "temporarily rejected ip", s.tempRejectIPs)
	s.countTable(w, "non-rejected spamming ip", s.spamIPs)
}

// countTable prints a table of counts, largest first, when it has rows.
func (s *Eximstats) countTable(w io.Writer, noun string, m map[string]int) {
	if len(m) == 0 {
		return
	}
	keys := sortedKeys(m)
	sort.SliceStable(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] })
	underline(w, s.topTitle(noun, "message count"))
	fmt.Fprintf(w, "  Messages   %s\n", ucfirst(noun))
	for i, k := range keys {
		if i >= s.o.Top {
			break
		}
		fmt.Fprintf(w, "%10d   %s\n", m[k], k)
	}
	fmt.Fprint(w, "\n")
}

// volumeTables prints a table by message count and one by volume.
func (s *Eximstats) volumeTables(w io.Writer, noun string, t tallies, dest bool) {
	round := !s.o.NoVolumeRound
	var keys []string
	for _, k := range sortedKeys(t) {
		if t[k].count == 0 {
			continue
		}
		keys = append(keys, k)
	}
	addrs := dest && len(keys) > 0
	base := keys
	for _, byVol := range []bool{false, true} {
		keys := append([]string(nil), base...)
		sort.SliceStable(keys, func(i, j int) bool {
			a, b := t[keys[i]], t[keys[j]]
			if byVol {
				if a.bytes != b.bytes {
					return a.bytes > b.bytes
				}
				return a.count > b.count
			}
			if a.count != b.count {
				return a.count > b.count
			}
			return a.bytes > b.bytes
		})
		by := "message count"
		if byVol {
			by = "volume"
		}
		underline(w, s.topTitle(noun, by))
		if addrs {
			fmt.Fprintf(w, "  Messages  Addresses      Bytes    Average   %s\n", ucfirst(noun))
		} else {
			fmt.Fprintf(w, "  Messages      Bytes    Average   %s\n", ucfirst(noun))
		}
		for i, k := range keys {
			if i >= s.o.Top {
				break
			}
			e := t[k]
			avg := average(e.bytes, e.count, round)
			if addrs {
				fmt.Fprintf(w, "%10d %10d %10s %10s   %s\n", e.count, e.addrs, volume(e.bytes, round), avg, k)
			} else {
				fmt.Fprintf(w, "%10d %10s %10s   %s\n", e.count, volume(e.bytes, round), avg, k)
			}
		}
		fmt.Fprint(w, "\n")
	}
}

// average is eximstats' average volume: it keeps volumes as gigabytes
// and bytes (rounded to what the report shows) and divides the two
// apart, each in whole numbers.
func average(bytes int64, count int, round bool) string {
	g, rem := bytes/gig, bytes%gig
	if round {
		switch {
		case g == 0:
			rem = roundedBytes(rem, true)
		case g < 10:
			rem = (rem + 512*1024) / (1024 * 1024) * (1024 * 1024)
			if rem >= gig {
				g, rem = g+1, rem-gig
			}
		default:
			g, rem = g+(rem+gig/2)/gig, 0
		}
	}
	n := int64(count)
	return volumePair(g/n, rem/n, round)
}

// topTitle is a top table's title: "Top 50 sending hosts by volume", or
// "Top sending host by volume" with -t1.
func (s *Eximstats) topTitle(noun, by string) string {
	if s.o.Top == 1 {
		return fmt.Sprintf("Top %s by %s", noun, by)
	}
	return fmt.Sprintf("Top %d %ss by %s", s.o.Top, noun, by)
}
