package cli

import (
	"net"
	"strings"
	"time"
)

// queueOption parses -q[q][i][f[f]][l][G<name>[/<time>]][<time>], and
// -q[q]R/-q[q]S (synonyms of -R/-S, two-stage with qq), then the optional
// start and end message ids that follow as arguments. A second -q
// option with flags is refused unless a -bp option came before the first
// (then it only names the queue); -qqR and -qqS add two-stage to it, and
// a later -R or -S replaces an earlier one (observed with Exim 4.96).
// Spec: chapter "The Exim command line", option -q and its flags,
// options -qR and -qS.
func (p *parser) queueOption(a, rest string) error {
	q := &p.inv.Queue
	if sel, ok := strings.CutPrefix(rest, "q"); ok && sel != "" && (sel[0] == 'R' || sel[0] == 'S') {
		// -qqR and -qqS: a two-stage run with a selection, as Exim 4.96
		// accepts; the other flags may not come before R or S.
		q.TwoStage = true
		return p.selectOption(a, sel[0], sel[1:])
	}
	if rest != "" && (rest[0] == 'R' || rest[0] == 'S') {
		return p.selectOption(a, rest[0], rest[1:])
	}
	if p.seen["-q"] {
		return usagef("exim: -q specified more than once")
	}
	if p.listingQueue() {
		// After a -bp option a -q option only names the queue to list
		// (spec: option -qG<name>); Exim 4.96 checks nothing else in it.
		if _, g, ok := strings.Cut(rest, "G"); ok {
			q.QueueName, _, _ = strings.Cut(g, "/")
			q.NameSet = true
		}
		return nil
	}
	p.seen["-q"], q.Set = true, true
	s := rest
	if strings.HasPrefix(s, "q") {
		q.TwoStage, s = true, s[1:]
	}
	if strings.HasPrefix(s, "i") {
		q.Initial, s = true, s[1:]
	}
	for n := 0; n < 2 && strings.HasPrefix(s, "f"); n++ {
		q.Force, s = q.Force+1, s[1:]
	}
	if strings.HasPrefix(s, "l") {
		q.LocalOnly, s = true, s[1:]
	}
	if strings.HasPrefix(s, "G") {
		name, t, _ := strings.Cut(s[1:], "/")
		q.QueueName, q.NameSet, s = name, true, t
	}
	if s != "" {
		d, ok := parseTime(s)
		if !ok || d <= 0 {
			return usagef("exim: bad time value %s: abandoned", a)
		}
		q.Interval = d
		return nil
	}
	// Without a time, message ids may follow: -q <start id> [<end id>].
	if p.i+1 < len(p.args) && IsMessageID(p.args[p.i+1]) {
		p.i++
		q.StartID = p.args[p.i]
		if p.i+1 < len(p.args) && IsMessageID(p.args[p.i+1]) {
			p.i++
			q.EndID = p.args[p.i]
		}
		return nil
	}
	if p.i+1 < len(p.args) && !strings.HasPrefix(p.args[p.i+1], "-") {
		p.i++
		d, ok := parseTime(p.args[p.i])
		if !ok || d <= 0 {
			return usagef("exim: bad time value %s: abandoned", p.args[p.i])
		}
		q.Interval = d
	}
	return nil
}

// listingQueue reports whether a -bp option came before the current one.
func (p *parser) listingQueue() bool {
	for _, m := range []string{"-bp", "-bpa", "-bpc", "-bpr", "-bpra", "-bpru", "-bpu"} {
		if p.seen[m] {
			return true
		}
	}
	return false
}

// selectOption parses -R<rsflags> <string> and -S<rsflags> <string>
// (kind 'R' or 'S'). The flags are r, f, ff, rf or rff; with flags, or
// with none, the string is the next argument; anything else after the
// letter is itself the string. Spec: options -R and -S.
func (p *parser) selectOption(a string, kind byte, rest string) error {
	sel := &Selection{}
	switch rest {
	case "", "f", "ff", "r", "rf", "rff":
		v, ok := p.next()
		if !ok {
			return usagef("exim: string expected after -%c", kind)
		}
		sel.Regex = strings.HasPrefix(rest, "r")
		sel.Force = strings.Count(rest, "f")
		sel.String = v
	default:
		sel.String = rest
	}
	p.inv.Queue.Set = true
	if kind == 'R' {
		p.inv.Queue.Recipient = sel
	} else {
		p.inv.Queue.Sender = sel
	}
	return nil
}

// parseTime reads an Exim time on the command line: one or more
// <number><unit> with units s, m, h, d and w ("1h30m"). A bare number is
// refused. Spec: section "Time values" of chapter "The Exim runtime
// configuration file".
func parseTime(s string) (time.Duration, bool) {
	if s == "" {
		return 0, false
	}
	var total time.Duration
	for s != "" {
		n := 0
		for n < len(s) && s[n] >= '0' && s[n] <= '9' {
			n++
		}
		if n == 0 || n == len(s) || n > 9 {
			return 0, false
		}
		v := time.Duration(0)
		for _, c := range s[:n] {
			v = v*10 + time.Duration(c-'0')
		}
		var unit time.Duration
		switch s[n] {
		case 's':
			unit = time.Second
		case 'm':
			unit = time.Minute
		case 'h':
			unit = time.Hour
		case 'd':
			unit = 24 * time.Hour
		case 'w':
			unit = 7 * 24 * time.Hour
		default:
			return 0, false
		}
		if v > (1<<62)/unit || total > 1<<62 {
			return 0, false
		}
		total += v * unit
		s = s[n+1:]
	}
	return total, true
}

// IsMessageID reports whether s has the shape of an Exim 4.96 message
// id: three groups of base-62 characters, 6-6-2, joined by hyphens
// ("1xWrFa-0004rv-2F").
func IsMessageID(s string) bool {
	if len(s) != 16 || s[6] != '-' || s[13] != '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if i == 6 || i == 13 {
			continue
		}
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// isHostAddress reports whether s is an IP address as -bh and -oMa take
// it: optionally followed by ".port", or written "[address]:port".
func isHostAddress(s string) bool {
	if strings.HasPrefix(s, "[") {
		addr, port, ok := strings.Cut(s[1:], "]")
		if !ok || net.ParseIP(addr) == nil {
			return false
		}
		return port == "" || strings.HasPrefix(port, ":") && allDigits(port[1:])
	}
	if net.ParseIP(s) != nil {
		return true
	}
	if i := strings.LastIndexByte(s, '.'); i > 0 && allDigits(s[i+1:]) {
		return net.ParseIP(s[:i]) != nil
	}
	return false
}
