package deliver

import (
	"strings"

	"github.com/exigo-mta/exigo/internal/mainlog"
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
//   - a "retry time not reached" deferral only at the first delivery
//     attempt (spec chapter "Log files", retry_defer);
//   - nothing for a :blackhole: redirection or "Unfrozen by ...".
//
// A parent whose children finish by failing is said complete only after
// the deliveries, in the order in which the failures happened. A
// duplicate pipe or file counts as finished when it is found, before
// the deliveries; a duplicate mailbox after the first delivery.

// mlog adds line (without message id) to the lines of the message log.
func (m *attempt) mlog(line string) {
	m.mlogs = append(m.mlogs, m.d.now().Format("2006-01-02 15:04:05")+" "+line)
}

// retryWaitf logs a "retry time not reached" deferral: in the message
// log too only at the message's first delivery attempt (spec chapter
// "Log files", retry_defer and "retry time not reached"). When
// retry_defer is off, the line is only shown by -v.
func (m *attempt) retryWaitf(format string, args ...any) {
	on := m.d.selectorOrDefault().Has(mainlog.SelRetryDefer)
	if m.h.DeliverFirsttime && on {
		m.logf(format, args...)
	} else {
		m.mainf(format, args...)
	}
	if m.itemAt == nil {
		m.itemAt, m.itemOff = map[int]string{}, map[int]bool{}
	}
	m.itemAt[len(m.logs)-1] = "retry_defer"
	m.itemOff[len(m.logs)-1] = !on
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
	if p := it.addr.Parent; p != nil {
		// The immediate parent, also an unseen router's copy's
		// ("alice <alice>", observed).
		s += " <" + p.Address + ">"
	}
	m.mlog(s + ": " + it.transport + " transport succeeded")
	m.childDone(it.addr)
	m.duplicatesDone()
}

// duplicatesDone counts the duplicate mailboxes against their parents:
// after the first delivery's line, or before the failures when nothing
// was delivered (observed with Exim 4.96: a recipient redirected to
// addresses that another redirection also gave was complete after the
// first of them was delivered).
func (m *attempt) duplicatesDone() {
	dups := m.dupsDone
	m.dupsDone = nil
	for _, a := range dups {
		m.childDone(a)
	}
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

// sameParent makes the children of a count against b: an unseen
// router's copy and the addresses its redirection generated may point
// at different objects for the one address they came from.
func (m *attempt) sameParent(a, b *router.Address) {
	if a == nil || b == nil || a == b {
		return
	}
	if m.parentOf == nil {
		m.parentOf = map[*router.Address]*router.Address{}
	}
	m.parentOf[a] = b
}

// childDone counts a finished address against its parent and logs the
// parents it completes, nearest first.
func (m *attempt) childDone(a *router.Address) {
	for i := 0; i < maxRouted; i++ {
		p := a.Parent
		if q := m.parentOf[p]; q != nil {
			p = q
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
	m.duplicatesDone()
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
