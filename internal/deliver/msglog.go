package deliver

import (
	"strings"

	"github.com/exigo-mta/exigo/internal/router"
)

// The message log (spool msglog/ID, shown by -Mvl) is written beside the
// main log but does not copy it: Exim 4.96 writes there (observed; spec
// chapter "How Exim organizes the spool", message logs):
//
//   - "Received from <sender> ..." when the message arrives;
//   - for a delivery, "<address> <parent>: <transport> transport
//     succeeded" (the whole address, the immediate parent when there
//     is one, no router or host), then "<parent>: children all
//     complete" for each parent whose generated addresses are all
//     finished;
//   - a failure or a deferral as its main log line without the "**" or
//     "==" flag, an unrouteable address as "routing failed for
//     <address>: Unrouteable address";
//   - for a remote transport run, one "H=<host> [<ip>] SMTP error ..."
//     line per error the host gave to RCPT, before the outcomes of the
//     run; the main log's "H=<host> [<ip>]: SMTP error ..." line of an
//     error to MAIL or DATA;
//   - "*** Frozen (delivery error message)", without a time, when a
//     bounce is frozen;
//   - nothing for a :blackhole: redirection, "Unfrozen by ...", or a
//     "retry time not reached" deferral.
//
// A parent whose children finish by failing is said complete only after
// the deliveries, in the order in which the failures happened.

// mlog adds line (without message id) to the lines of the message log.
func (m *attempt) mlog(line string) {
	m.mlogs = append(m.mlogs, m.d.now().Format("2006-01-02 15:04:05")+" "+line)
}

// msglogText is the message log's form of a main log line of the
// message (id already removed): the same, less a "**" or "==" flag.
func msglogText(line string) string {
	for _, flag := range []string{"** ", "== "} {
		if strings.HasPrefix(line, flag) {
			return line[len(flag):]
		}
	}
	return line
}

// msglogDelivery writes the message log line of a successful delivery
// and the parents it completes.
func (m *attempt) msglogDelivery(it *item) {
	s := it.addr.Address
	if p := parentOf(it.addr); p != nil {
		s += " <" + p.Address + ">"
	}
	m.mlog(s + ": " + it.transport + " transport succeeded")
	m.childDone(it.addr)
}

// addChildren counts the addresses a redirection generated from parent.
func (m *attempt) addChildren(parent *router.Address, n int) {
	if parent == nil || n == 0 {
		return
	}
	if m.kids == nil {
		m.kids = map[*router.Address]int{}
	}
	m.kids[parent] += n
}

// childDone counts a finished address against its parent and logs the
// parents it completes, nearest first. An address that a one_time
// redirection generated counts against the recipient it came from
// instead (observed with Exim 4.96: "ot2" redirected with one_time to
// a remote address, whose delivery completed "ot", the recipient that
// had been redirected to "ot2").
func (m *attempt) childDone(a *router.Address) {
	for i := 0; i < maxRouted; i++ {
		p := a.Parent
		if p != nil && m.d.Config != nil {
			if r := m.d.Config.Router(p.RoutedBy); r != nil && r.Options.Bool("one_time") {
				for p.Parent != nil {
					p = p.Parent
				}
			}
		}
		if p == nil || m.kids[p] == 0 {
			return
		}
		m.kids[p]--
		if m.kids[p] > 0 {
			return
		}
		m.mlog(p.Address + ": children all complete")
		a = p
	}
}

// failedChildrenDone counts the failed addresses against their parents,
// in the order the failures happened.
func (m *attempt) failedChildrenDone() {
	for i := len(m.failChain) - 1; i >= 0; i-- {
		if it := m.failChain[i]; it.addr != nil {
			m.childDone(it.addr)
		}
	}
}

// msglogHostErrors writes the "H=" lines of the SMTP errors that the
// hosts of a remote run gave, one per distinct error, in address order.
func (m *attempt) msglogHostErrors(b *batch) {
	if b.t == nil || b.t.Local() {
		return
	}
	seen := map[string]bool{}
	for _, it := range b.items {
		if it.state == delivered || it.host == "" || it.hostLogged || messageError(it) || !strings.HasPrefix(it.msg, "SMTP error from remote mail server") {
			continue
		}
		line := "H=" + it.host + " [" + it.hostAddr + "] " + it.msg
		if !seen[line] {
			seen[line] = true
			m.mlog(line)
		}
	}
}
