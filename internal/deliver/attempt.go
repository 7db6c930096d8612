package deliver

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/exigo-mta/exigo/internal/lists"
	"github.com/exigo-mta/exigo/internal/rewrite"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/mainlog"
	"github.com/exigo-mta/exigo/internal/router"
	"github.com/exigo-mta/exigo/internal/spool"
	"github.com/exigo-mta/exigo/internal/transport"
)

// state is where an address stands in an attempt.
type state int

const (
	pending state = iota
	delivered
	failed
	deferred
)

// item is one address of an attempt: a recipient or an address
// generated from one by redirection.
type item struct {
	addr *router.Address
	top  string // the envelope recipient it came from, as logs show it
	// rcpt is the recipient entry it belongs to: top, except for an
	// address that one_time made a recipient of its own (its top is
	// then the address that generated it).
	rcpt  string
	state state
	// router and transport that handled the address (R=, T=).
	router, transport string
	hosts             []router.Host
	// msg is the failure or deferral text, errno Exim's number for it.
	msg   string
	errno int
	// host, hostAddr: H= of the last host tried; continued marks a
	// delivery down a kept connection.
	host, hostAddr string
	continued      bool
	// panicErr: the transport's deferral is an internal error
	// (transport.Result.Panic).
	panicErr bool
	// explicitlyQueued is a remote address -odqs or queue_smtp_domains
	// left for a queue run: no retry record.
	explicitlyQueued bool
	// hostLogged: the host's connection error had its own "H=" line,
	// so the "==" line shows no host.
	hostLogged bool
	// conn is what the log selectors outgoing_port, outgoing_interface,
	// pipelining and delivery_size add about the transport run.
	conn struct {
		// triedPort is the port of the host tried, also when the
		// connection failed (port is only set once connected).
		triedPort       int
		port, localPort int
		localAddr       string
		pipelined       bool
		// chunking is a message sent with BDAT (K on "=>" lines).
		chunking bool
		size     int64
		// auth is the client authenticator of the session (A=).
		auth string
		// hostLine marks an error logged on a line of its own too.
		hostLine bool
		// hostShown says -v has shown the host's error line.
		hostShown bool
		// panicLine marks an error logged on a line of its own, to
		// the panic log too, before the address's line.
		panicLine bool
	}
	confirm string
	errCode string
	// rp is the return path the transport's return_path option set,
	// when rpSet.
	rp    string
	rpSet bool
	// tls is what the smtp transport's TLS session shows on the "=>"
	// line (X=, CV=, DN=); tls.cipher is empty without TLS.
	tls struct{ cipher, verified, peerDN string }
	// more marks an address after the first of one transport run (->).
	more bool
	// routingFail marks a failure found while routing (no R= shown when
	// no router decided).
	routingFail bool
	// timedOut marks a deferral turned into a failure by retry
	// processing ("retry timeout exceeded").
	timedOut bool
	// shown is the address as the log shows it.
	discard bool
	// dt is the time the transport run took (DT=).
	dt time.Duration
	// private marks a text for the logs only (a routing deferral whose
	// text the configuration did not write, a pipe command's tainted
	// argument): a bounce does not show it.
	private bool
	// pipeStatus marks a pipe transport's failure from its command's
	// status: a bounce says only "local delivery failed" (spec chapter
	// "The pipe transport", section "Handling the return code").
	pipeStatus bool
	// path is the file a file address was delivered to when the
	// transport's file or directory option named it.
	path string
	// dupOf is the address this one duplicates: it is not delivered
	// and takes that address's outcome, silently.
	dupOf *item
}

// attempt is one delivery attempt of one locked message.
type attempt struct {
	d    *Deliverer
	ctx  context.Context
	opts Options
	lock *spool.Lock
	h    *spool.Header
	now  time.Time

	done  map[string]bool // the non-recipients tree
	items []*item
	// unjournaled are delivered addresses not yet in the -J file (see
	// flushJournal).
	unjournaled []string
	// logs are the lines to write once outcomes are durable; failOrder is
	// the chain of failed addresses in Exim's order (bounce text order).
	logs []string
	// panicAt marks the lines of logs that go to the panic log too.
	panicAt map[int]bool
	// itemAt names the log_selector item that governs a line of logs,
	// and itemOff marks those of an item that is off: -v shows them,
	// the log does not have them (ItemLogger).
	itemAt  map[int]string
	itemOff map[int]bool
	// shownAt marks the lines -v has shown already (ShownLogger).
	shownAt   map[int]bool
	failChain []*item
	deferLog  []*item
	// warning sends a delay warning that is due (nil: none).
	warning func()
	// keep holds recipients that stay undelivered with nothing left to
	// route (one_time parents at the first attempt).
	keep map[string]bool
	// rcpts maps the addresses made from recipient entries to them.
	rcpts map[*router.Address]string
	// freezeRouting is set when a router asked for the message to be
	// frozen (self = freeze): a message left with addresses to do is
	// frozen with a plain "Frozen" line (observed with Exim 4.96).
	freezeRouting bool
	// bvars caches bodyVars.
	bvars expand.VarMap
	// mlogs are the message log's lines (msglog.go), kids the count
	// of unfinished addresses each parent generated.
	mlogs []string
	kids  map[*router.Address]int
	// parentOf maps an address object to the one its children count
	// against (sameParent).
	parentOf map[*router.Address]*router.Address
	// dupsDone are duplicate mailboxes still to count against their
	// parents (msglog.go).
	dupsDone []*router.Address
}

// logf adds a line to the main log and its form to the message log.
func (m *attempt) logf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	m.logs = append(m.logs, string(m.h.ID)+" "+line)
	m.mlog(msglogText(line))
}

// mainf adds a line to the main log only.
func (m *attempt) mainf(format string, args ...any) {
	m.logs = append(m.logs, string(m.h.ID)+" "+fmt.Sprintf(format, args...))
}

func (m *attempt) writeLogs() {
	// -v shows nothing of a delivery down a connection handed on from
	// the message before: Exim makes it in a process of its own.
	sl, quiet := m.d.Log.(ShownLogger)
	quiet = quiet && m.opts.continued
	for i, l := range m.logs {
		if quiet {
			switch {
			case m.panicAt[i]:
				sl.WriteShown(l, mainlog.Main, mainlog.Panic)
			case !m.itemOff[i]:
				sl.WriteShown(l, mainlog.Main)
			}
			continue
		}
		if item, ok := m.itemAt[i]; ok {
			m.d.logItem(item, !m.itemOff[i], l)
			continue
		}
		if m.panicAt[i] {
			m.logPanic(l, mainlog.Main)
			continue
		}
		if sl != nil && m.shownAt[i] {
			sl.WriteShown(l, mainlog.Main)
			continue
		}
		m.d.Log.Write(l, mainlog.Main)
	}
	m.logs, m.panicAt, m.itemAt, m.itemOff, m.shownAt = nil, nil, nil, nil, nil
}

// logPanic writes text to the panic log and the other logs to, and
// to the Deliverer's Stderr when the attempt echoes its panic lines.
func (m *attempt) logPanic(text string, to ...mainlog.Which) {
	m.d.Log.Write(text, append(to, mainlog.Panic)...)
	if !m.opts.EchoPanic || m.d.Stderr == nil {
		return
	}
	stamp := m.now.Format("2006-01-02 15:04:05")
	if s, ok := m.d.Log.(interface{ Stamp(time.Time) string }); ok {
		stamp = s.Stamp(m.d.now())
	}
	fmt.Fprintf(m.d.Stderr, "%s %s\n", stamp, strings.TrimSuffix(text, "\n"))
}

func (m *attempt) run() (Outcome, error) {
	h := m.h
	if !h.Frozen.IsZero() {
		out, goOn := m.frozen()
		if !goOn {
			return out, nil
		}
	}
	m.done = map[string]bool{}
	for _, a := range spool.Addresses(h.NonRecipients) {
		m.done[a] = true
	}
	for _, a := range m.readJournal() {
		m.done[a] = true
	}
	set, err := m.routers()
	if err != nil {
		return Deferred, err
	}
	local, remote := m.route(set)
	m.deliverLocal(local)
	if len(remote) > 0 {
		// Remote deliveries can take long: make the local ones
		// durable in the journal first.
		m.flushJournal()
	}
	m.deliverRemote(remote)
	if !m.d.DontDeliver {
		// -N: no retry processing; deferred addresses stay (observed
		// with Exim 4.96).
		m.retryProcessing()
		m.updateWaiting()
	}
	m.settleDuplicates()
	return m.finish()
}

// routers builds the router set for this message's sender.
func (m *attempt) routers() (*router.Set, error) {
	d := m.d
	qd := d.Config.Main.String("qualify_domain")
	qr := d.Config.Main.String("qualify_recipient")
	if qr == "" {
		qr = qd
	}
	env := &router.Env{
		Vars:             m.vars(),
		Lookups:          d.Lookups,
		Resolver:         d.Resolver,
		Interfaces:       d.Interfaces,
		Message:          m.headerView(),
		Sender:           m.h.Sender,
		QualifyRecipient: qr,
		PrimaryHostname:  d.Config.Main.String("primary_hostname"),
		Now:              d.Now,
		UserFiles:        userFiles{m},
		// A router's own lines go to the main log only: Exim writes
		// the message log separately (observed).
		Log: func(line string) {
			m.mainf("%s", line)
		},
		PanicLog: func(line string) {
			m.mainf("%s", line)
			if m.panicAt == nil {
				m.panicAt = map[int]bool{}
			}
			m.panicAt[len(m.logs)-1] = true
		},
	}
	if d.Rewrite != nil {
		// Addresses generated by redirection are rewritten as envelope
		// recipients (spec chapter "Address rewriting").
		var rewritten func(string)
		if d.selectorOrDefault().Has(mainlog.SelAddressRewrite) {
			rewritten = func(line string) { m.logf("%s", line) }
		}
		rs := d.Rewrite.WithLog(env.PanicLog, rewritten)
		env.Rewrite = func(addr string) string {
			n, _ := rs.Address(addr, rewrite.EnvTo)
			return n
		}
	}
	set, err := router.New(d.Config, env)
	if err != nil {
		return nil, fmt.Errorf("deliver: %w", err)
	}
	return set, nil
}

// fail records an immediate failure: Exim logs it at once and prepends
// it to the chain of failed addresses.
func (m *attempt) fail(it *item) {
	m.failChain = append([]*item{it}, m.failChain...)
	m.logFail(it)
}

// batch is one transport run.
type batch struct {
	t     transport.Transport
	items []*item
}

// deliverLocal runs local transports, one address a run unless the
// transport batches (batch.go).
//
// appendfile runs go at the same time (up to maxParallelFiles), so that
// their file writes and fsyncs overlap and share directory fsyncs; other
// drivers (pipe, lmtp, autoreply) run one after another, in Exim's
// order. Outcomes are recorded and logged in run order either way.
func (m *attempt) deliverLocal(items []*item) {
	runs := m.localRuns(items)
	var group []*batch // appendfile runs going at once, in run order
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxParallelFiles)
	// settle waits for the group and records its outcomes, so that a
	// run with other side effects (an autoreply's new message, a pipe)
	// comes after them in the log, as in Exim.
	settle := func() {
		wg.Wait()
		for _, b := range group {
			m.recordBatch(b)
		}
		group = group[:0]
	}
	for _, run := range runs {
		b := &batch{t: m.d.transports[run[0].transport], items: run}
		if len(runs) == 1 || b.t.Driver() != "appendfile" {
			settle()
			m.runTransport(b)
			m.recordBatch(b)
			continue
		}
		group = append(group, b)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			m.runTransport(b)
		}()
	}
	settle()
}

// maxParallelFiles bounds the appendfile runs of one message that run at
// once.
const maxParallelFiles = 16

// inDomainList says whether domain is in the domain list of the main
// option (false when it is unset or cannot be checked).
func (m *attempt) inDomainList(option, domain string) bool {
	list := m.d.Config.Main.String(option)
	if list == "" {
		return false
	}
	ctx := &expand.Context{Vars: m.vars(), Now: m.d.Now}
	if l, ok := m.d.Lookups.(expand.Lookuper); ok {
		ctx.Lookups = l
	}
	env := &lists.Env{
		Lookups:         m.d.Lookups,
		NamedList:       m.d.Config.ListNamed,
		Expand:          func(s string) (string, error) { return expand.String(s, ctx) },
		PrimaryHostname: m.d.Config.Main.String("primary_hostname"),
		Interfaces:      m.d.Interfaces,
	}
	list, err := expand.String(list, ctx)
	if err != nil {
		return false
	}
	r, err := lists.MatchDomain(env, list, strings.ToLower(domain))
	return err == nil && r.Matched
}

// deliverRemote groups remote addresses by transport and host list
// (up to max_rcpt each, default 100) and runs up to remote_max_parallel
// of the runs at once.
func (m *attempt) deliverRemote(items []*item) {
	var batches []*batch
	var queued []*item
	defer func() { m.addWaiting(queued) }()
	key := func(it *item) string {
		var b strings.Builder
		// Addresses with different errors addresses need envelopes of
		// their own (observed with Exim 4.96: separate deliveries).
		b.WriteString(it.transport + "|" + it.addr.ErrorsTo)
		for _, h := range it.hosts {
			fmt.Fprintf(&b, "|%s %s %d", h.Name, h.Addr, h.Port)
		}
		return b.String()
	}
	byKey := map[string]*batch{}
	for _, it := range items {
		if m.opts.LocalOnly {
			it.state, it.errno, it.msg = deferred, -55, "remote deliveries suppressed"
			m.deferLog = append([]*item{it}, m.deferLog...)
			m.logDefer(it)
			continue
		}
		byDomain := !m.opts.QueueSMTP && m.opts.arrival && m.inDomainList("queue_smtp_domains", it.addr.Domain)
		if m.opts.QueueSMTP || byDomain {
			// -odqs and queue_smtp_domains log the deferral, each its
			// own way; the first stage of -qq logs nothing (observed
			// with Exim 4.96).
			switch {
			case byDomain:
				it.state, it.errno, it.msg = deferred, -1, "first-pass only routing due to -odqs, queue_smtp_domains or control=queue"
			case !m.opts.QueueRun:
				it.state, it.msg = deferred, "SMTP delivery explicitly queued"
			}
			if it.state == deferred {
				it.explicitlyQueued = true
				m.deferLog = append([]*item{it}, m.deferLog...)
				m.logDefer(it)
			}
			queued = append(queued, it)
			continue
		}
		if !m.opts.Force && m.retryWait(it) {
			continue
		}
		t := m.d.transports[it.transport]
		maxRcpt := int64(100)
		if td := m.d.Config.Transport(it.transport); td != nil {
			if n, ok := td.Options.Int("max_rcpt"); ok && n > 0 {
				maxRcpt = n
			}
		}
		k := key(it)
		b := byKey[k]
		if b == nil || int64(len(b.items)) >= maxRcpt {
			b = &batch{t: t}
			byKey[k] = b
			batches = append(batches, b)
		}
		b.items = append(b.items, it)
	}
	par := int64(4)
	if n, ok := m.d.Config.Main.Int("remote_max_parallel"); ok && n > 0 {
		par = n
	}
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for _, b := range batches {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			m.runTransport(b)
		}()
	}
	wg.Wait()
	for _, b := range batches {
		m.recordBatch(b)
	}
}

// runTransport calls the transport and copies its results into the
// items.
func (m *attempt) runTransport(b *batch) {
	start := time.Now()
	var rs []transport.Result
	if m.d.DontDeliver {
		// -N: everything routed to a transport counts as delivered.
		// Remote ones show the first host and a confirmation (observed
		// with Exim 4.96).
		r := transport.Result{Status: transport.OK}
		if !b.t.Local() {
			r.Confirmation = "delivery bypassed by -N option"
			if hs := b.items[0].hosts; len(hs) > 0 {
				r.Host, r.HostAddr = hs[0].Name, hs[0].Addr
			}
		}
		for range b.items {
			rs = append(rs, r)
		}
	} else {
		rs = m.deliverBatch(b)
	}
	dt := time.Since(start)
	m.filePaths(b)
	for i, it := range b.items {
		if i >= len(rs) {
			it.state, it.msg, it.errno = deferred, "transport returned no result", -1
			continue
		}
		r := rs[i]
		it.dt = dt
		it.host, it.hostAddr, it.confirm, it.errCode = r.Host, r.HostAddr, r.Confirmation, r.ErrCode
		it.continued = r.Continued
		it.rp, it.rpSet = r.ReturnPath, r.ReturnPathSet
		it.conn.port, it.conn.localAddr, it.conn.localPort = r.RemotePort, r.LocalAddr, r.LocalPort
		it.conn.pipelined, it.conn.size, it.conn.chunking, it.conn.auth = r.Pipelined, r.Size, r.Chunking, r.Auth
		it.conn.hostLine, it.conn.panicLine, it.conn.hostShown = r.HostLine, r.PanicLine, r.HostLineShown
		it.conn.triedPort = r.RemotePort
		if it.conn.triedPort == 0 && r.Host != "" {
			if it.conn.triedPort = r.Port; r.Port == 0 {
				it.conn.triedPort = 25
			}
		}
		it.tls.cipher, it.tls.verified, it.tls.peerDN = r.TLSCipher, r.TLSVerified, r.TLSPeerDN
		it.msg, it.errno, it.panicErr, it.private = r.Message, r.Errno, r.Panic, r.Private
		it.pipeStatus = false
		if r.Status != transport.OK && strings.HasPrefix(r.Message, "Child process of ") && m.d.Config != nil {
			if td := m.d.Config.Transport(it.transport); td != nil && td.Driver == "pipe" {
				it.pipeStatus = true
			}
		}
		switch r.Status {
		case transport.OK:
			it.state = delivered
		case transport.Fail:
			it.state = failed
		default:
			it.state = deferred
		}
	}
}

// recordBatch notes the delivered addresses of a run for the journal and logs every
// outcome in Exim's order.
func (m *attempt) recordBatch(b *batch) {
	var ok []string
	first := true
	for _, it := range b.items {
		if it.state == delivered {
			it.more = !first
			first = false
			ok = append(ok, it.addr.Address)
			if it.addr.Address != it.rcpt {
				ok = append(ok, it.rcpt)
			}
		}
	}
	m.unjournaled = append(m.unjournaled, ok...)
	// A connection-level error (a system errno such as "Connection
	// refused") is logged once for its host, on a line of its own, and
	// the address lines then show no host (observed with Exim 4.96).
	hostLines := map[string]bool{}
	for _, it := range b.items {
		if it.state == deferred && it.errno > 0 && it.host != "" {
			k := it.host + " [" + it.hostAddr + "]"
			if !hostLines[k] {
				hostLines[k] = true
				port := ""
				if m.d.selector().Has(mainlog.SelOutgoingPort) && it.conn.triedPort > 0 {
					// outgoing_port (spec chapter "Log files").
					port = ":" + strconv.Itoa(it.conn.triedPort)
				}
				m.logf("H=%s%s %s", k, port, it.msg)
			}
			it.hostLogged = true
		}
		if it.state == deferred && messageError(it) || it.state != delivered && it.conn.hostLine {
			// A 4xx to MAIL or DATA, or an error in the greeting: the
			// host's error on a line of its own, the address line
			// keeps its H= (observed with Exim 4.96).
			line := "H=" + it.host + " [" + it.hostAddr + "]: " + it.msg
			if !hostLines[line] {
				hostLines[line] = true
				m.logf("%s", line)
				if it.conn.hostShown {
					if m.shownAt == nil {
						m.shownAt = map[int]bool{}
					}
					m.shownAt[len(m.logs)-1] = true
				}
			}
		}
	}
	m.msglogHostErrors(b)
	for _, it := range b.items {
		switch it.state {
		case delivered:
			m.logDelivery(it)
		case failed:
			m.fail(it)
		case deferred:
			m.deferLog = append([]*item{it}, m.deferLog...)
			m.logDefer(it)
		}
	}
}

// lineAddress is the address part of a "=>", "**" or "==" line: the
// final address (the local part alone for a local delivery), the last
// intermediate address in parentheses, the original in angle brackets.
// Spec chapter "Log files", section "Logging deliveries".
func (m *attempt) lineAddress(it *item, withOrig bool) string {
	a := it.addr
	s := a.Address
	// A local transport given a host list by its router logs the
	// address as a remote one (observed with Exim 4.96).
	local := m.localTransport(it) && len(it.hosts) == 0
	if a.Kind == router.Mailbox {
		if local {
			s = m.localPart(it)
		} else {
			s = m.loweredAddress(it)
		}
	}
	if it.path != "" {
		s = it.path
	}
	s += m.parents(it)
	if (local || it.top != s) && withOrig {
		s += " <" + it.top + ">"
	}
	return s
}

// failAddress is the address of a "**" or "==" line: for a mailbox the
// address as routed (its domain in lower case, its local part too unless
// the router has caseful_local_part), even when a local transport
// handled it, followed by " <original>" when the original recipient
// differs (observed with Exim 4.96: "== x@y" where "=>" has "x <x@y>").
func (m *attempt) failAddress(it *item) string {
	if it.addr.Kind != router.Mailbox || it.path != "" {
		return m.lineAddress(it, true)
	}
	s := m.loweredAddress(it) + m.parents(it)
	if it.top != s {
		s += " <" + it.top + ">"
	}
	return s
}

// timeoutAddress is the address of the "retry timeout exceeded" line of
// an original recipient: the address as given, also after a local
// transport (observed with Exim 4.96).
func (m *attempt) timeoutAddress(it *item) string {
	if it.addr.Kind != router.Mailbox || it.path != "" {
		return m.lineAddress(it, true)
	}
	return it.addr.Address
}

// loweredAddress is a routed mailbox address as Exim logs it: the domain
// in lower case, and the local part unless the router has
// caseful_local_part (spec chapter "Generic options for routers",
// caseful_local_part).
func (m *attempt) loweredAddress(it *item) string {
	addr := it.addr.Address
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return addr
	}
	lp := addr[:i]
	if m.d.Config == nil || m.d.Config.Router(it.router) == nil || !m.d.Config.Router(it.router).Options.Bool("caseful_local_part") {
		lp = strings.ToLower(lp)
	}
	return lp + "@" + strings.ToLower(addr[i+1:])
}

// localPart is $local_part of a routed address: without the affixes
// its router removed, in lower case unless that router has
// caseful_local_part (spec chapter "Generic options for routers",
// caseful_local_part).
func (m *attempt) localPart(it *item) string {
	lp := bareLocalPart(it.addr)
	if r := m.d.Config.Router(it.router); r != nil && r.Options.Bool("caseful_local_part") {
		return lp
	}
	return strings.ToLower(lp)
}

// parents is the " (parent)" part of a log line: the immediate parent
// of a pipe, file or autoreply address, or with log_selector
// +all_parents every intermediate address, nearest first; never the
// original recipient (observed with Exim 4.96; spec chapter "Log
// files", all_parents).
func (m *attempt) parents(it *item) string {
	a := it.addr
	if m.d.selector().Has(mainlog.SelAllParents) {
		var ps []string
		for p := parentOf(a); p != nil && p.Parent != nil; p = parentOf(p) {
			ps = append(ps, p.Address)
		}
		if len(ps) == 0 {
			return ""
		}
		return " (" + strings.Join(ps, ", ") + ")"
	}
	if a.Kind == router.Mailbox {
		return ""
	}
	if p := parentOf(a); p != nil && p.Address != it.top {
		return " (" + p.Address + ")"
	}
	return ""
}

// parentOf returns the nearest ancestor that is a different address
// (unseen copies share their parent's address).
func parentOf(a *router.Address) *router.Address {
	for p := a.Parent; p != nil; p = p.Parent {
		if p.Address != a.Address {
			return p
		}
	}
	return nil
}

// localTransport reports whether it was handled by a local transport.
func (m *attempt) localTransport(it *item) bool {
	t := m.d.transports[it.transport]
	return t != nil && t.Local()
}

// deliveredHostField is the H= field of a "=>" line: hostField, or for
// a local transport the host list a manualroute router passed it, which
// nothing looked up (observed with Exim 4.96; its "==" and "**" lines
// show no host).
func (m *attempt) deliveredHostField(it *item) string {
	if it.host == "" && len(it.hosts) > 0 && m.localTransport(it) {
		return " H=" + it.hosts[0].Name
	}
	return m.hostField(it)
}

func (m *attempt) hostField(it *item) string {
	if it.host == "" || it.hostLogged {
		return ""
	}
	sel := m.d.selector()
	s := " H=" + it.host + " [" + it.hostAddr + "]"
	if sel.Has(mainlog.SelOutgoingPort) && it.conn.port > 0 {
		s += ":" + strconv.Itoa(it.conn.port)
	}
	if it.continued {
		s += "*"
	}
	if sel.Has(mainlog.SelOutgoingInterface) && it.conn.localAddr != "" {
		s += " I=[" + it.conn.localAddr + "]:" + strconv.Itoa(it.conn.localPort)
	}
	return s
}

// senderFields are the F= and P= fields of log_selector
// sender_on_delivery and return_path_on_delivery (spec chapter "Log
// files"); P= only where a transport ran (observed with Exim 4.96).
func (m *attempt) senderFields(it *item) string {
	sel := m.d.selector()
	s := ""
	if sel.Has(mainlog.SelSenderOnDelivery) {
		s += " F=<" + m.h.Sender + ">"
	}
	if sel.Has(mainlog.SelReturnPathOnDelivery) && it.transport != "" && !it.routingFail {
		s += " P=<" + m.returnPath(it) + ">"
	}
	return s
}

// returnPath is the return path the delivery of it used: the
// transport's return_path, else the router's errors_to when it set one,
// else the sender.
func (m *attempt) returnPath(it *item) string {
	if it.rpSet {
		return it.rp
	}
	if it.addr != nil && it.addr.ErrorsTo != "" {
		return returnPathOf(it.addr)
	}
	return m.h.Sender
}

// timeOpt returns a time option of the main section (0 when unset).
func timeOpt(cfg *config.Config, name string) time.Duration {
	return cfg.Main.Duration(name)
}

// filePaths records, for file addresses delivered by a transport with
// its own file (or directory) option, the path that option expands to
// with $address_file set: the log shows it (observed with Exim 4.96
// for a Sieve filter's keep and fileinto).
func (m *attempt) filePaths(b *batch) {
	td := m.d.Config.Transport(b.t.Name())
	if td == nil {
		return
	}
	opt := "file"
	if !td.Options.IsSet(opt) {
		if opt = "directory"; !td.Options.IsSet(opt) {
			return
		}
	}
	for _, it := range b.items {
		if it.addr.Kind != router.File && it.addr.Kind != router.Directory {
			continue
		}
		d := m.delivery(&batch{t: b.t, items: []*item{it}})
		ctx := *d.Ctx
		ctx.Vars = varOverlay{m: expand.VarMap{"address_file": it.addr.Address}, next: ctx.Vars}
		if p, err := expand.String(td.Options.String(opt), &ctx); err == nil {
			it.path = p
		}
	}
}
