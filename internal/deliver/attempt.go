package deliver

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/exigo-mta/exigo/internal/config"
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
	addr  *router.Address
	top   string // the envelope recipient it came from
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
	// hostLogged: the host's connection error had its own "H=" line,
	// so the "==" line shows no host.
	hostLogged bool
	confirm    string
	errCode    string
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
	logs      []string
	failChain []*item
	deferLog  []*item
	// warning sends a delay warning that is due (nil: none).
	warning func()
}

func (m *attempt) logf(format string, args ...any) {
	m.logs = append(m.logs, string(m.h.ID)+" "+fmt.Sprintf(format, args...))
}

func (m *attempt) writeLogs() {
	for _, l := range m.logs {
		m.d.Log.Write(l, mainlog.Main)
	}
	m.logs = nil
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
	// Exim keeps new addresses on a chain built by prepending, so
	// recipients are routed last first (observed with Exim 4.96).
	var work []*router.Address
	tops := map[*router.Address]string{}
	for i := len(h.Recipients) - 1; i >= 0; i-- {
		r := h.Recipients[i]
		if m.done[r.Address] {
			continue
		}
		a := router.NewAddress(r.Address)
		work = append(work, a)
		tops[a] = r.Address
	}
	var local, remote []*item
	for n := 0; len(work) > 0 && n < 100000; n++ {
		a := work[0]
		work = work[1:]
		top := tops[a]
		if top == "" && a.Parent != nil {
			top = tops[a.Parent]
			tops[a] = top
		}
		// A new message's first delivery, outside a queue run, ignores
		// routing retry times (observed with Exim 4.96).
		firstTry := m.h.DeliverFirsttime && !m.opts.QueueRun
		if !m.opts.Force && !firstTry && m.addressRetryWait(a) {
			it := &item{addr: a, top: top, state: deferred, errno: -52, msg: "retry time not reached"}
			m.items = append(m.items, it)
			m.logf("== %s routing defer (-52): retry time not reached", a.Address)
			continue
		}
		res := set.Route(a, router.Mode{})
		it := &item{addr: a, top: top, router: res.Router}
		if it.router == "" && a.Kind != router.Mailbox && a.Parent != nil {
			it.router = a.Parent.RoutedBy
		}
		if res.Address != nil {
			it.addr = res.Address
			tops[res.Address] = top
		}
		if res.Unseen != nil {
			tops[res.Unseen] = top
			work = append([]*router.Address{res.Unseen}, work...)
		}
		switch res.Status {
		case router.Redirect:
			// Children go on the new-address chain one by one in front,
			// so they are routed last first, like recipients.
			var kids []*router.Address
			for i := len(res.Children) - 1; i >= 0; i-- {
				c := res.Children[i]
				if m.done[c.Address] && c.Kind == router.Mailbox {
					continue
				}
				tops[c] = top
				kids = append(kids, c)
			}
			work = append(kids, work...)
			continue
		case router.Discard:
			it.state, it.discard = delivered, true
			m.items = append(m.items, it)
			m.logf("=> :blackhole: <%s> R=%s", top, res.Router)
			continue
		case router.Fail:
			it.state, it.msg, it.routingFail = failed, res.Message, true
			m.items = append(m.items, it)
			m.fail(it)
			continue
		case router.Defer:
			it.state, it.msg, it.errno = deferred, res.Message, -1
			m.items = append(m.items, it)
			m.deferLog = append([]*item{it}, m.deferLog...)
			m.logf("== %s R=%s defer (-1)%s: %s", it.addr.Address, res.Router, m.deliverTime(it), res.Message)
			continue
		}
		it.transport, it.hosts = res.Transport, res.Hosts
		if res.Message != "" {
			it.state, it.msg = failed, res.Message
			m.items = append(m.items, it)
			m.fail(it)
			continue
		}
		m.items = append(m.items, it)
		t := m.d.transports[res.Transport]
		if t == nil {
			it.state, it.msg, it.errno = deferred, fmt.Sprintf("transport \"%s\" not found in %s router", res.Transport, res.Router), -30
			m.deferLog = append([]*item{it}, m.deferLog...)
			m.logDefer(it)
			continue
		}
		// Addresses routed to transports are kept, like Exim's
		// addr_local and addr_remote chains, in recipient order.
		if t.Local() {
			local = append([]*item{it}, local...)
		} else {
			remote = append([]*item{it}, remote...)
		}
	}
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
	}
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
		Sender:           m.h.Sender,
		QualifyRecipient: qr,
		PrimaryHostname:  d.Config.Main.String("primary_hostname"),
		Now:              d.Now,
		Log: func(line string) {
			m.logf("%s", line)
		},
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
	batches := make([]*batch, len(runs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxParallelFiles)
	for i, run := range runs {
		b := &batch{t: m.d.transports[run[0].transport], items: run}
		batches[i] = b
		if len(runs) == 1 || b.t.Driver() != "appendfile" {
			m.runTransport(b)
			continue
		}
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

// maxParallelFiles bounds the appendfile runs of one message that run at
// once.
const maxParallelFiles = 16

// deliverRemote groups remote addresses by transport and host list
// (up to max_rcpt each, default 100) and runs up to remote_max_parallel
// of the runs at once.
func (m *attempt) deliverRemote(items []*item) {
	var batches []*batch
	key := func(it *item) string {
		var b strings.Builder
		b.WriteString(it.transport)
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
	for i, it := range b.items {
		if i >= len(rs) {
			it.state, it.msg, it.errno = deferred, "transport returned no result", -1
			continue
		}
		r := rs[i]
		it.dt = dt
		it.host, it.hostAddr, it.confirm, it.errCode = r.Host, r.HostAddr, r.Confirmation, r.ErrCode
		it.continued = r.Continued
		it.tls.cipher, it.tls.verified, it.tls.peerDN = r.TLSCipher, r.TLSVerified, r.TLSPeerDN
		it.msg, it.errno = r.Message, r.Errno
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
			if it.addr.Address != it.top {
				ok = append(ok, it.top)
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
				m.logf("H=%s %s", k, it.msg)
			}
			it.hostLogged = true
		}
	}
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
	local := false
	if t := m.d.transports[it.transport]; t != nil && t.Local() {
		local = true
	}
	if local && a.Kind == router.Mailbox {
		s = bareLocalPart(a)
	}
	if p := parentOf(a); p != nil && p.Address != it.top {
		s += " (" + p.Address + ")"
	}
	if (local || it.top != a.Address) && withOrig {
		s += " <" + it.top + ">"
	}
	return s
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

func (m *attempt) hostField(it *item) string {
	if it.host == "" || it.hostLogged {
		return ""
	}
	s := " H=" + it.host + " [" + it.hostAddr + "]"
	if it.continued {
		s += "*"
	}
	return s
}

func (m *attempt) logDelivery(it *item) {
	flag := "=>"
	switch {
	case m.d.DontDeliver:
		flag = "*>"
	case it.more:
		flag = "->"
	}
	line := fmt.Sprintf("%s %s R=%s T=%s%s%s", flag, m.lineAddress(it, true), it.router, it.transport, m.hostField(it), m.tlsFields(it))
	if it.confirm != "" && m.d.Config != nil {
		line += " C=" + quoteLog(it.confirm)
	}
	m.logf("%s%s", line, m.deliveryTimes(it))
}

// tlsFields are the X=, CV= and DN= fields of a delivery over TLS, as
// log_selector tls_cipher, tls_certificate_verified and tls_peerdn ask
// (spec chapter "Log files", section "Reducing or increasing what is
// logged").
func (m *attempt) tlsFields(it *item) string {
	if it.tls.cipher == "" {
		return ""
	}
	sel := m.d.selector()
	s := ""
	if sel.Has(mainlog.SelTLSCipher) {
		s += " X=" + it.tls.cipher
	}
	if sel.Has(mainlog.SelTLSCertificateVerified) && it.tls.verified != "" {
		s += " CV=" + it.tls.verified
	}
	if sel.Has(mainlog.SelTLSPeerDN) && it.tls.peerDN != "" {
		s += ` DN=` + quoteLog(it.tls.peerDN)
	}
	return s
}

func (m *attempt) logFail(it *item) {
	switch {
	case it.timedOut:
		m.logf("** %s: retry timeout exceeded", m.lineAddress(it, true))
	case it.routingFail:
		r := ""
		if it.router != "" && it.msg != "Unrouteable address" {
			r = " R=" + it.router
		}
		m.logf("** %s%s: %s%s", m.lineAddress(it, true), r, it.msg, m.deliverTime(it))
	default:
		m.logf("** %s R=%s T=%s%s: %s%s", m.lineAddress(it, true), it.router, it.transport, m.hostField(it), it.msg, m.deliverTime(it))
	}
}

func (m *attempt) logDefer(it *item) {
	t := ""
	if it.transport != "" {
		t = " T=" + it.transport
	}
	m.logf("== %s R=%s%s defer (%d)%s%s: %s", m.lineAddress(it, true), it.router, t, it.errno, m.hostField(it), m.deliverTime(it), it.msg)
}

// quoteLog quotes a string for a log field as Exim's string_printing
// does for C=: in double quotes, with quotes and backslashes escaped and
// newlines as \n.
func quoteLog(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// timeOpt returns a time option of the main section (0 when unset).
func timeOpt(cfg *config.Config, name string) time.Duration {
	return cfg.Main.Duration(name)
}
