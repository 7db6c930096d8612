package tools

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/exigo-mta/exigo/internal/queuecmd"
)

// picker runs one exipick selection.
type picker struct {
	x     *Exipick
	rules []*pickRule
	now   int64
	// freeze, when set, receives the selected messages (--freeze).
	freeze io.Writer
	// evals numbers the tests made as Perl numbers its evals; the
	// first test of Debian's exipick is eval 25.
	evals int
	out   io.Writer
	errw  io.Writer
}

// wantsBody reports whether $message_body is named by a criterion, a
// sort key or --show-vars.
func (p *picker) wantsBody() bool {
	for _, r := range p.rules {
		if r.key == "message_body" {
			return true
		}
	}
	for _, v := range append(append([]string(nil), p.x.Sort...), p.x.ShowVars...) {
		if v == "message_body" {
			return true
		}
	}
	return false
}

// run selects and prints the messages of ids, or those thawed from a
// cache file (thawed, when ids is nil).
func (p *picker) run(ids []pickEntry, thawed []*pickMsg) int {
	x := p.x
	switch {
	case x.Random:
		rand.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	case !x.Unsorted:
		sort.Slice(ids, func(i, j int) bool { return ids[i].id < ids[j].id })
	}
	w := bufio.NewWriter(p.out)
	defer w.Flush()
	body := p.wantsBody()
	// Without sorting, each message is printed as soon as it is
	// selected (after its --show-tests lines).
	stream := len(x.Sort) == 0 && !x.Reverse && !x.Count && !x.BPC && !x.Sum
	var matched []*pickMsg
	total := 0
	next := func(i int) (*pickMsg, bool) {
		if ids == nil {
			return thawed[i], true
		}
		return loadPick(ids[i], p.now, body)
	}
	n := len(ids)
	if ids == nil {
		n = len(thawed)
	}
	for i := 0; i < n; i++ {
		m, ok := next(i)
		if !ok {
			continue
		}
		total++
		if p.selects(w, m) {
			if stream {
				p.print(w, m)
			}
			matched = append(matched, m)
		}
	}
	if p.freeze != nil {
		if err := freezePick(p.freeze, matched); err != nil {
			fmt.Fprintf(p.errw, "exipick: %v\n", err)
			return 2
		}
	}
	if len(x.Sort) > 0 {
		sort.SliceStable(matched, func(i, j int) bool { return pickLess(matched[i], matched[j], x.Sort) })
	}
	if x.Reverse {
		for i, j := 0, len(matched)-1; i < j; i, j = i+1, j-1 {
			matched[i], matched[j] = matched[j], matched[i]
		}
	}
	var sum int64
	for _, m := range matched {
		sum += m.size
	}
	size := ""
	if x.Sum {
		size = " (" + strconv.FormatInt(sum, 10) + ")"
	}
	switch {
	case x.Count:
		fmt.Fprintf(w, "%d matches out of %d messages%s\n", len(matched), total, size)
		return 0
	case x.BPC:
		fmt.Fprintf(w, "%d%s\n", len(matched), size)
		return 0
	case x.Sum:
		fmt.Fprintf(w, "%d\n", sum)
		return 0
	}
	if !stream {
		for _, m := range matched {
			p.print(w, m)
		}
	}
	return 0
}

// selects applies the criteria to a message: all must hold (the first
// failure decides) or, with --or, any (the first success decides).
// --show-tests prints each test made.
func (p *picker) selects(w io.Writer, m *pickMsg) bool {
	if p.x.ShowTests {
		fmt.Fprintf(w, "%s\n", m.id)
	}
	for _, r := range p.rules {
		v, _ := m.lookup(r.key)
		p.evals++
		if r.bad != "" {
			// Perl's eval fails: the message is passed over.
			if p.x.ShowTests {
				fmt.Fprintf(w, "  %25s =  '%s'\n  %25s => \n", r.name, v, r.display(p.x.Not))
			}
			fmt.Fprintf(p.errw, "Error in eval '%s': "+r.bad+"\n", r.display(p.x.Not), p.evals)
			return false
		}
		ok := r.test(v, p.x.Not)
		if p.x.ShowTests {
			res := 0
			if ok {
				res = 1
			}
			fmt.Fprintf(w, "  %25s =  '%s'\n  %25s => %d\n", r.name, v, r.display(p.x.Not), res)
		}
		if ok == p.x.Or {
			return ok
		}
	}
	return !p.x.Or || len(p.rules) == 0
}

// pickLess orders two messages by the sort variables: numerically when
// both values look like numbers, else byte by byte.
func pickLess(a, b *pickMsg, keys []string) bool {
	for _, k := range keys {
		va, _ := a.lookup(k)
		vb, _ := b.lookup(k)
		if looksNumeric(va) && looksNumeric(vb) {
			na, nb := perlNum(va), perlNum(vb)
			if na != nb {
				return na < nb
			}
			continue
		}
		if va != vb {
			return va < vb
		}
	}
	return false
}

var looksNumericRE = lazyRegexp(`^\s*[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?)\s*$`)

func looksNumeric(s string) bool { return looksNumericRE().MatchString(s) }

// showVars returns the --show-vars items of a message as name='value'.
func (p *picker) showVars(m *pickMsg) []string {
	var out []string
	for _, v := range p.x.ShowVars {
		if strings.HasPrefix(v, "^") {
			re, err := regexp.Compile(v)
			if err != nil {
				continue
			}
			names := append([]string(nil), m.names...)
			sort.Strings(names)
			for _, n := range names {
				if re.MatchString(n) {
					out = append(out, n, m.vars[n])
				}
			}
			continue
		}
		val, _ := m.lookup(v)
		out = append(out, v, val)
	}
	return out
}

// print writes a selected message in the chosen layout.
func (p *picker) print(w io.Writer, m *pickMsg) {
	x := p.x
	vars := p.showVars(m)
	joined := func(sep string) string {
		var parts []string
		for i := 0; i < len(vars); i += 2 {
			parts = append(parts, vars[i]+"='"+vars[i+1]+"'")
		}
		return strings.Join(parts, sep)
	}
	age := queuecmd.FormatAge(time.Duration(p.now-m.received) * time.Second)
	size := queuecmd.FormatSize(m.size, m.sizeKnown)
	frozen := ""
	if m.user != "" {
		frozen = " (" + m.user + ")"
	}
	if m.frozen {
		frozen += " *** frozen ***"
	}
	switch {
	case x.Flat:
		mid := size
		if len(vars) > 0 {
			mid = joined(";")
		}
		// The flat line leaves out the untrusted caller's login.
		flat := strings.TrimPrefix(frozen, " ("+m.user+")")
		fmt.Fprintf(w, "%s %s %s <%s>%s", age, mid, m.id, m.sender, flat)
		for _, r := range m.undel {
			fmt.Fprintf(w, " %s", r)
		}
		fmt.Fprintln(w)
	case x.Brief:
		fmt.Fprintf(w, "%s From: <%s> To: %s", m.id, m.sender, strings.Join(m.undel, ";"))
		if len(vars) > 0 {
			fmt.Fprintf(w, " Vars: %s", joined(";"))
		}
		fmt.Fprintln(w)
	case x.IDs:
		if len(vars) > 0 {
			fmt.Fprintf(w, "%s %s\n", m.id, joined(" "))
		} else {
			fmt.Fprintf(w, "%s\n", m.id)
		}
	default:
		fmt.Fprintf(w, "%s %s %s <%s>%s\n", age, size, m.id, m.sender, frozen)
		for i := 0; i < len(vars); i += 2 {
			fmt.Fprintf(w, "  %25s = '%s'\n", vars[i], vars[i+1])
		}
		for _, r := range m.recipients {
			switch {
			case !m.delivered[r]:
				fmt.Fprintf(w, "          %s\n", r)
			case !x.Undelivered:
				fmt.Fprintf(w, "        D %s\n", r)
			}
		}
		if x.Generated {
			for _, g := range m.generated {
				fmt.Fprintf(w, "       +D %s\n", g)
			}
		}
		fmt.Fprintln(w)
	}
}
