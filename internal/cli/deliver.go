package cli

import (
	"context"
	"fmt"
	"io"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/deliver"
	"github.com/exigo-mta/exigo/internal/instance"
	"github.com/exigo-mta/exigo/internal/localhost"
	"github.com/exigo-mta/exigo/internal/lookup"
	"github.com/exigo-mta/exigo/internal/mainlog"
	"github.com/exigo-mta/exigo/internal/queue"
	"github.com/exigo-mta/exigo/internal/router"
	"github.com/exigo-mta/exigo/internal/spool"
)

// deliverer builds the delivery side of r and plugs its Scheduler into
// r's queue, so that stored messages are delivered at once.
func (r *receiving) deliverer(env *Env) (*deliver.Deliverer, error) {
	if r.dl != nil {
		return r.dl, nil
	}
	eu := queue.Arrival{Login: "root"}
	if name := r.cfg.Main.String("exim_user"); name != "" {
		u, err := user.Lookup(name)
		if err != nil {
			u, err = user.LookupId(name)
		}
		if err == nil {
			eu.Login = u.Username
			eu.UID, _ = strconv.Atoi(u.Uid)
			eu.GID, _ = strconv.Atoi(u.Gid)
		}
	}
	d, err := deliver.New(&deliver.Deliverer{
		Config:     r.cfg,
		Spool:      r.queue.Spool,
		Log:        r.log,
		Queue:      r.queue,
		Vars:       r.vars,
		Lookups:    modeLookups{lookup.New(lookup.Options{Debug: env.Debug, NoCache: r.longLived})},
		Resolver:   routingResolver(r.cfg),
		Interfaces: localhost.Machine(),
		EximUser:   eu,
		Now:        env.Now,
		Rewrite:    r.rewrite,
	})
	if err != nil {
		return nil, err
	}
	r.dl = d
	r.sched = &deliver.Scheduler{D: d}
	r.queue.Scheduler = r.sched
	return d, nil
}

// showDeliveries makes the deliveries of this process show, for -v,
// their log lines, their SMTP dialogues, and the arrival and delivery
// of the bounces they send (spec chapter "The Exim command line",
// option -v).
func (r *receiving) showDeliveries(w io.Writer) {
	r.dl.Log = &verboseLog{inner: r.dl.Log, w: w}
	r.dl.Trace = w
	if r.queue.Log != nil {
		r.queue.Log = &verboseLog{inner: r.queue.Log, w: w}
	}
	r.sched.Verbose = w
}

// waitDeliveries waits for background deliveries started by this
// process (Exim's -odb forks a delivery process; exigo finishes it
// before exiting).
func (r *receiving) waitDeliveries() {
	if r.sched != nil {
		r.sched.Wait()
	}
}

// runQueue implements -q and its variants, -R and -S (spec chapter "The
// Exim command line"). With a time and -bd it is the daemon's business.
func runQueue(inv *Invocation, env *Env) int {
	r, code, ok := receivingMode(inv, env)
	if !ok {
		return code
	}
	defer r.queue.IDs.Close()
	defer r.queue.Spool.Close()
	d, err := r.deliverer(env)
	if err != nil {
		return failf(env, "%v", err)
	}
	ro := runOptions(inv.Queue)
	ro.EchoPanic = true
	if inv.Verbose {
		ro.Verbose = env.Stderr
	}
	err = d.QueueRun(context.Background(), ro)
	r.waitDeliveries()
	if err != nil {
		return failf(env, "%v", err)
	}
	return 0
}

// runOptions translates the -q flags.
func runOptions(q QueueRun) deliver.RunOptions {
	ro := deliver.RunOptions{Initial: q.Initial, StartID: q.StartID, EndID: q.EndID, TwoStage: q.TwoStage}
	force := q.Force
	if q.Recipient != nil {
		ro.Recipient, ro.Regex = q.Recipient.String, q.Recipient.Regex
		force = max(force, q.Recipient.Force)
	}
	if q.Sender != nil {
		ro.Sender, ro.Regex = q.Sender.String, ro.Regex || q.Sender.Regex
		force = max(force, q.Sender.Force)
	}
	ro.Force = force > 0
	ro.Thaw = force > 1
	ro.LocalOnly = q.LocalOnly
	flags := ""
	if q.TwoStage {
		flags += "q"
	}
	if q.Initial {
		flags += "i"
	}
	for i := 0; i < force; i++ {
		flags += "f"
	}
	if q.LocalOnly {
		flags += "l"
	}
	if flags != "" {
		ro.Flags = "-q" + flags
	}
	// The selections follow, the f of -Rf being counted above:
	// "-qf -R b.example", "-Rr b.* -S root" (observed with Exim 4.96).
	for _, sel := range []struct {
		opt string
		s   *Selection
	}{{"-R", q.Recipient}, {"-S", q.Sender}} {
		if sel.s == nil {
			continue
		}
		opt := sel.opt
		if sel.s.Regex {
			opt += "r"
		}
		ro.Flags = strings.TrimSpace(ro.Flags + " " + opt + " " + sel.s.String)
	}
	return ro
}

// runDeliverMessages implements -M (deliver the given messages whatever
// their state: frozen or waiting for a retry time) and -Mc (deliver them
// as a queue run would).
func runDeliverMessages(inv *Invocation, env *Env) int {
	r, code, ok := receivingMode(inv, env)
	if !ok {
		return code
	}
	defer r.queue.IDs.Close()
	defer r.queue.Spool.Close()
	d, err := r.deliverer(env)
	if err != nil {
		return failf(env, "%v", err)
	}
	// -M forces the delivery past retry times and freezing; -Mc makes it
	// as a queue run would (spec chapter "The Exim command line", -Mc).
	opts := deliver.Options{Force: true, Thaw: true, EchoPanic: true}
	if inv.Mode == "-Mc" {
		opts = deliver.Options{Immediate: true, EchoPanic: true}
	}
	rc := 0
	for _, a := range inv.Args {
		id, err := spool.ParseID(a)
		if err != nil {
			continue
		}
		if inv.Verbose {
			fmt.Fprintf(env.Stderr, "delivering %s\n", id)
		}
		if _, err := d.Message(context.Background(), id, opts); err == deliver.ErrLocked {
			env.Stderr.Write([]byte("spool file " + a + "-D is locked (another process is handling this message)\n"))
			rc = 1
		}
	}
	r.waitDeliveries()
	return rc
}

// runGiveUp implements -Mg for admin users: cancel the messages, with a
// bounce to the sender of each one that is not itself a bounce.
func runGiveUp(inv *Invocation, env *Env) int {
	q, code, ok := loadQueueSetup(inv, env)
	if !ok {
		return code
	}
	if !q.admin {
		fmt.Fprintln(env.Stderr, "exim: permission denied")
		return 1
	}
	r, err := openReceiving(inv, env, q.cfg)
	if err != nil {
		return failf(env, "%v", err)
	}
	defer r.queue.IDs.Close()
	defer r.queue.Spool.Close()
	d, err := r.deliverer(env)
	if err != nil {
		return failf(env, "%v", err)
	}
	login := q.login()
	for _, a := range inv.Args {
		id, err := spool.ParseID(a)
		if err != nil {
			continue
		}
		d.GiveUp(context.Background(), id, login)
	}
	r.waitDeliveries()
	return 0
}

// routingResolver is the DNS resolver of delivery routing: the servers
// of /etc/resolv.conf with dns_retrans and dns_retry, asking for DNSSEC
// unless dns_dnssec_ok is 0, so that the dnslookup router can tell the
// smtp transport which hosts DANE may apply to.
func routingResolver(cfg *config.Config) router.Resolver {
	n, ok := cfg.Main.Int("dns_dnssec_ok")
	return router.DNSResolver{R: instance.SystemResolver(cfg, ""), DNSSEC: !ok || n != 0}
}

// verboseLog shows the log lines of a delivery on the standard error
// stream for -v, as Exim does: "LOG: MAIN" (with the selector item that
// governs the line, and PANIC or REJECT for those logs) and the line
// indented by two spaces, without its message id. Lines of a selector
// item that is off are shown but not logged. Spec chapter "The Exim
// command line", option -v.
type verboseLog struct {
	inner deliver.Logger
	mu    sync.Mutex
	w     io.Writer
}

// Write implements deliver.Logger.
func (l *verboseLog) Write(text string, to ...mainlog.Which) error {
	err := l.inner.Write(text, to...)
	l.show("", text, to)
	return err
}

// Selector returns the log_selector of the Logger wrapped, which decides
// what the lines hold and which are logged.
func (l *verboseLog) Selector() mainlog.Selector {
	if s, ok := l.inner.(interface{ Selector() mainlog.Selector }); ok {
		return s.Selector()
	}
	return mainlog.DefaultSelector
}

// WriteShown implements deliver.ShownLogger.
func (l *verboseLog) WriteShown(text string, to ...mainlog.Which) error {
	return l.inner.Write(text, to...)
}

// WriteItem implements deliver.ItemLogger.
func (l *verboseLog) WriteItem(item string, on bool, text string, to ...mainlog.Which) error {
	var err error
	if on {
		err = l.inner.Write(text, to...)
	}
	l.show(item, text, to)
	return err
}

func (l *verboseLog) show(item, text string, to []mainlog.Which) {
	var b strings.Builder
	b.WriteString("LOG:")
	if item != "" {
		b.WriteString(" " + item)
	}
	// A panic line goes to the main log too (mainlog.Logger.Write).
	for _, w := range []mainlog.Which{mainlog.Main, mainlog.Panic, mainlog.Reject} {
		if slices.Contains(to, w) || w == mainlog.Main && slices.Contains(to, mainlog.Panic) {
			b.WriteString(" " + strings.ToUpper(w.String()))
		}
	}
	if len(text) > 17 && text[16] == ' ' && IsMessageID(text[:16]) {
		text = text[17:]
	}
	b.WriteString("\n  " + strings.TrimSuffix(text, "\n") + "\n")
	l.mu.Lock()
	defer l.mu.Unlock()
	io.WriteString(l.w, b.String())
}
