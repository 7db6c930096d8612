package deliver

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/mainlog"
	"github.com/exigo-mta/exigo/internal/router"
	"github.com/exigo-mta/exigo/internal/spool"
	"github.com/exigo-mta/exigo/internal/transport"
)

// # The -J journal
//
// One address a line (spec chapter "Format of spool files": "the -J
// file ... lists addresses that have been delivered"). A later attempt
// that finds it adds its addresses to the non-recipients tree before
// routing, so a crash after a delivery and before the -H rewrite does
// not deliver twice.
//
// Exim appends and fsyncs the journal after every transport run. exigo
// writes it only where it protects something for a while: before remote
// deliveries start (they may take minutes), and if the -H rewrite fails.
// Otherwise the end of the attempt follows the local runs at once and
// its own durable step records the same facts: the -H rewrite with the
// non-recipients tree, or the durable removal of a completed message.
// The window in which a crash can repeat a delivery is the same; the
// journal's file creation, fsync and removal per message are saved.

// flushJournal appends the addresses delivered since the last flush to
// the -J file and makes it durable.
func (m *attempt) flushJournal() {
	if len(m.unjournaled) == 0 {
		return
	}
	if err := m.journal(m.unjournaled); err != nil {
		m.logPanic(fmt.Sprintf("%s journal: %v", m.h.ID, err))
	}
	m.unjournaled = nil
}

func (m *attempt) journalPath() string {
	return filepath.Join(m.lock.Dir, string(m.h.ID)+"-J")
}

func (m *attempt) journal(addrs []string) error {
	f, err := os.OpenFile(m.journalPath(), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("deliver: journal: %w", err)
	}
	_, err = f.WriteString(strings.Join(addrs, "\n") + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("deliver: journal: %w", err)
	}
	return nil
}

func (m *attempt) readJournal() []string {
	f, err := os.Open(m.journalPath())
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := sc.Text(); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// frozen decides what to do with a frozen message: thaw it (forced
// delivery, auto_thaw), cancel it (a bounce past timeout_frozen_after),
// or leave it. Spec chapter "Main configuration", options auto_thaw and
// timeout_frozen_after; EXIM-NOTES: auto_thaw never thaws bounces.
func (m *attempt) frozen() (Outcome, bool) {
	h := m.h
	cfg := m.d.Config
	if m.opts.Thaw {
		m.mainf("Unfrozen by forced delivery")
		m.writeLogs()
		h.Frozen = time.Time{}
		return 0, true
	}
	if tf := timeOpt(cfg, "timeout_frozen_after"); tf > 0 && m.now.Sub(h.Received) > tf {
		// A bounce is discarded, any other message bounced (spec,
		// timeout_frozen_after).
		m.cancel("timeout_frozen_after")
		return Completed, false
	}
	if at := timeOpt(cfg, "auto_thaw"); at > 0 && h.Sender != "" && m.now.Sub(h.Frozen) >= at {
		m.mainf("Unfrozen by auto-thaw")
		m.writeLogs()
		h.Frozen = time.Time{}
		return 0, true
	}
	if m.opts.QueueRun || m.opts.Immediate {
		// Spec chapter "Log files", skip_delivery; -v shows the line
		// when the item is off too.
		on := m.d.selectorOrDefault().Has(mainlog.SelSkipDelivery)
		if on {
			m.mlog(msglogText("Message is frozen"))
		}
		m.writeLogs()
		m.d.logItem("skip_delivery", on, string(h.ID)+" Message is frozen")
	}
	return Frozen, false
}

// finish records the outcomes: the -H rewrite, the log lines, bounces,
// freezing, and removal of a completed message.
func (m *attempt) finish() (Outcome, error) {
	h := m.h
	m.failedChildrenDone()
	m.keep = map[string]bool{}
	m.oneTime()
	byTop := map[string]bool{} // tops with an address still to do
	for _, it := range m.items {
		if it.state == deferred || it.state == pending {
			byTop[it.rcpt] = true
		}
	}
	m.ignoreNullErrorsTo()
	bounce := len(m.failChain) > 0
	freeze := false
	if bounce && h.Sender == "" {
		// A bounce that cannot be delivered is frozen, and its failed
		// addresses stay to be tried again, unless it is older than
		// ignore_bounce_errors_after (zero: at once; spec chapter
		// "Main configuration"). A failure that is a retry timeout is
		// not a reason to freeze (observed with Exim 4.96). The
		// failures not kept are logged "error ignored" (spec chapter
		// "Log files").
		ig := timeOpt(m.d.Config, "ignore_bounce_errors_after")
		if !m.d.Config.Main.IsSet("ignore_bounce_errors_after") {
			ig = 10 * 7 * 24 * time.Hour
		}
		// Failures with an errors_to address of their own are
		// reported there (observed with Exim 4.96).
		old := m.now.Sub(h.Received) >= ig
		var own []*item
		for _, it := range m.failChain {
			if it.addr.ErrorsTo != "" {
				own = append(own, it)
				continue
			}
			if !old && !it.timedOut {
				freeze = true
			}
		}
		if !freeze {
			for _, it := range m.failChain {
				if it.addr.ErrorsTo == "" {
					m.mainf("%s: error ignored", it.addr.Address)
				}
			}
		}
		m.failChain = own
		bounce = len(own) > 0
	}
	// The bounce goes before the -H rewrite: a bounce the non-SMTP ACL
	// refuses may keep the failed addresses (see sendBounceRefusable).
	held, heldFreeze := false, false
	if bounce {
		heldFreeze = len(byTop) == 0
		m.writeLogs()
		refused, err := m.sendBounceRefusable(heldFreeze)
		if err != nil {
			m.logPanic(fmt.Sprintf("%s Error in sending bounce: %v", h.ID, err), mainlog.Main)
		}
		held = refused
		bounce = false
	}
	for _, it := range m.items {
		switch it.state {
		case delivered:
			m.done[it.addr.Address] = true
		case failed:
			if (freeze && it.addr.ErrorsTo == "") || held {
				byTop[it.rcpt] = true
				continue
			}
			m.done[it.addr.Address] = true
		}
	}
	remaining := false
	for _, r := range h.Recipients {
		if byTop[r.Address] {
			remaining = true
			continue
		}
		if m.keep[r.Address] {
			continue
		}
		if !m.done[r.Address] {
			// every address generated from it is finished
			m.done[r.Address] = true
		}
	}
	if freeze {
		m.mainf("Frozen (delivery error message)")
		// The message log marks it without a time (observed).
		m.mlogs = append(m.mlogs, "*** Frozen (delivery error message)")
		h.Frozen = m.now
		remaining = true
	}
	heldFreeze = held && heldFreeze
	if m.freezeRouting && remaining && !freeze && !heldFreeze {
		m.mainf("Frozen")
		m.mlogs = append(m.mlogs, "*** Frozen")
		h.Frozen = m.now
		freeze = true
	}
	if heldFreeze {
		// Observed: the -H keeps -deliver_firsttime.
		h.Frozen = m.now
		remaining = true
	}
	if remaining && !freeze && !heldFreeze {
		m.delayWarning()
	}
	if remaining && m.opts.QueueSMTP && m.untouched() {
		// Only routed, its remote addresses waiting for their hosts:
		// the message stays as it was.
		m.writeLogs()
		return Deferred, nil
	}
	if remaining {
		var tree []string
		for a := range m.done {
			tree = append(tree, a)
		}
		h.NonRecipients = spool.BuildTree(tree)
		if !heldFreeze {
			h.DeliverFirsttime = false
		}
		if err := m.d.Spool.Rewrite(m.lock, h); err != nil {
			m.flushJournal()
			m.writeLogs()
			return Deferred, fmt.Errorf("deliver: %w", err)
		}
		os.Remove(m.journalPath())
	}
	if remaining || m.d.Config.Main.Bool("preserve_message_logs") {
		// A completed message's log would be removed with it at once,
		// unless preserve_message_logs keeps it in msglog.OLD.
		m.msglog()
	}
	m.writeLogs()
	if m.warning != nil {
		m.warning()
	}
	if remaining {
		if freeze || heldFreeze {
			return Frozen, nil
		}
		return Deferred, nil
	}
	m.logf("%s", m.completedLine())
	m.writeLogs()
	if m.d.Config.Main.Bool("preserve_message_logs") {
		m.d.Spool.PreserveMsglog(m.h.ID)
	}
	if err := m.d.Spool.Remove(m.lock); err != nil {
		return Completed, fmt.Errorf("deliver: %w", err)
	}
	return Completed, nil
}

// untouched says no address of the attempt has an outcome yet.
func (m *attempt) untouched() bool {
	for _, it := range m.items {
		if it.state != pending {
			return false
		}
	}
	return true
}

// msglog appends the message log lines gathered so far (msglog.go) to
// the message's log file.
func (m *attempt) msglog() {
	lines := m.mlogs
	m.mlogs = nil
	if m.opts.msglogStart != "" {
		lines = append([]string{m.opts.msglogStart}, lines...)
		m.opts.msglogStart = ""
	}
	if len(lines) == 0 || !m.d.Config.Main.Bool("message_logs") {
		return
	}
	m.d.Spool.AppendMsglog(m.h.ID, strings.Join(lines, "\n")+"\n")
}

// varOverlay layers a map over the process's variables.
type varOverlay struct {
	m    expand.VarMap
	next expand.Vars
}

// Var implements expand.Vars.
func (v varOverlay) Var(name string) (string, bool) {
	if s, ok := v.m[name]; ok {
		return s, true
	}
	if v.next == nil {
		return "", false
	}
	return v.next.Var(name)
}

// vars returns the message's variables over the process's.
func (m *attempt) vars() expand.Vars {
	return varOverlay{m: m.messageVars(), next: m.d.Vars}
}

// messageVars are the message's own variables.
func (m *attempt) messageVars() expand.VarMap {
	h := m.h
	mv := expand.VarMap{
		"message_exim_id":   string(h.ID),
		"message_id":        string(h.ID),
		"sender_address":    h.Sender,
		"return_path":       h.Sender,
		"received_protocol": h.ReceivedProtocol,
		"message_age":       strconv.Itoa(int(m.now.Sub(h.Received) / time.Second)),
		"authenticated_id":  h.AuthID,
		"sender_ident":      h.Ident,
	}
	if ra := m.replyAddress(); ra != "" {
		mv["reply_address"] = ra
	}
	if i := strings.LastIndexByte(h.Sender, '@'); i >= 0 {
		mv["sender_address_local_part"] = h.Sender[:i]
		mv["sender_address_domain"] = h.Sender[i+1:]
	}
	for k, s := range m.bodyVars() {
		mv[k] = s
	}
	return mv
}

// delivery builds the transport's view of one run.
func (m *attempt) delivery(b *batch) *transport.Delivery {
	body, err := transport.BodyReader(m.lock.Data())
	var size int64
	var ra io.ReaderAt
	if err == nil {
		size, ra = body.Size(), body
	} else {
		ra = strings.NewReader("")
	}
	first := b.items[0]
	d := &transport.Delivery{
		Header:   m.h,
		Body:     ra,
		BodySize: size,
		Ctx:      &expand.Context{Vars: varOverlay{m: m.addressVars(b), next: m.vars()}, Message: m.headerView(), Lookups: m.d.Lookups, Now: m.d.Now},
		Router:   first.router,
		Now:      m.d.Now,
		Log:      func(text string) { m.logf("%s", text) },
		Submit:   m.submitReply,
		// Spec chapter "Log files", address_rewrite.
		LogRewrites: m.d.selectorOrDefault().Has(mainlog.SelAddressRewrite),
	}
	// The connection stays open for messages waiting for its host
	// (wait.go).
	d.Pool = m.opts.pool
	d.Trace = m.d.Trace
	if d.Pool != nil {
		tname := first.transport
		d.Waiting = func(h transport.Host) bool {
			return m.d.waitingFor(hostKey{tname, h.Name}, string(m.h.ID))
		}
	}
	if m.d.Spool != nil {
		d.Spares = m.d.Spool
	}
	for _, it := range b.items {
		x := it.addr
		ta := transport.Address{
			Address: x.Address, LocalPart: x.LocalPart, Domain: x.Domain,
			Prefix: x.Prefix, Suffix: x.Suffix, Original: it.top, Home: x.Home,
			UID: x.UID, GID: x.GID, HeadersAdd: x.HeadersAdd, HeadersRemove: x.HeadersRemove,
		}
		for _, r := range m.h.Recipients {
			if r.Address == it.top {
				ta.DSNFlags, ta.ORcpt = r.DSNFlags, r.ORcpt
			}
		}
		switch x.Kind {
		case router.Pipe:
			ta.Pipe = strings.TrimPrefix(x.Address, "|")
		case router.File, router.Directory:
			ta.File = x.Address
		case router.Autoreply:
			ta.Reply = x.Reply
		}
		d.Addresses = append(d.Addresses, ta)
	}
	for _, hst := range first.hosts {
		d.Hosts = append(d.Hosts, transport.Host{Name: hst.Name, Addr: hst.Addr, Port: hst.Port, MX: hst.MX, DNSSEC: hst.DNSSEC})
	}
	return d
}

// bareLocalPart is a's local part without the affixes its router
// removed: $local_part, and what a local delivery's log line shows (spec
// chapter "Generic options for routers", local_part_prefix).
func bareLocalPart(a *router.Address) string {
	lp := a.LocalPart
	if len(lp) >= len(a.Prefix)+len(a.Suffix) && strings.HasPrefix(lp, a.Prefix) && strings.HasSuffix(lp, a.Suffix) {
		return lp[len(a.Prefix) : len(lp)-len(a.Suffix)]
	}
	return lp
}

// addressVars are the variables of the first address of b.
func (m *attempt) addressVars(b *batch) expand.VarMap {
	first := b.items[0]
	a := first.addr
	av := expand.VarMap{
		"local_part":        m.localPart(first),
		"domain":            a.Domain,
		"local_part_prefix": a.Prefix,
		"local_part_suffix": a.Suffix,
		"local_part_data":   a.LocalPartData,
		"domain_data":       a.DomainData,
		"address_data":      a.AddressData,
		"home":              a.Home,
		"original_local_part": func() string {
			lp, _ := router.Split(first.top)
			return lp
		}(),
		"original_domain": func() string {
			_, d := router.Split(first.top)
			return d
		}(),
	}
	if p := a.Parent; p != nil {
		av["parent_local_part"], av["parent_domain"] = p.LocalPart, p.Domain
	}
	if a.ErrorsTo != "" {
		// The router's errors_to is the delivery's return path (spec
		// chapter "Generic options for transports", return_path).
		av["return_path"] = returnPathOf(a)
	}
	return av
}
