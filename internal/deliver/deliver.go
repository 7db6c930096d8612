package deliver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"time"

	"github.com/exigo-mta/exigo/internal/rewrite"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/lists"
	"github.com/exigo-mta/exigo/internal/loadavg"
	"github.com/exigo-mta/exigo/internal/mainlog"
	"github.com/exigo-mta/exigo/internal/queue"
	"github.com/exigo-mta/exigo/internal/retry"
	"github.com/exigo-mta/exigo/internal/router"
	"github.com/exigo-mta/exigo/internal/spool"
	"github.com/exigo-mta/exigo/internal/transport"
)

// Logger writes main log lines; *mainlog.Logger implements it.
type Logger interface {
	Write(text string, to ...mainlog.Which) error
}

// Deliverer delivers messages of one configuration. Build it with New;
// it is safe for concurrent use (each message is locked while it is
// worked on).
type Deliverer struct {
	// Config is the configuration in force.
	Config *config.Config
	// Spool holds the messages.
	Spool *spool.Spool
	// Log receives the delivery lines.
	Log Logger
	// Trace, when set (-v), receives the SMTP dialogues of remote
	// deliveries as Exim shows them.
	Trace io.Writer
	// Stderr, when set, receives the panic log lines of attempts made
	// with Options.EchoPanic, time-stamped as in the log.
	Stderr io.Writer
	// Queue stores bounce messages (its Scheduler delivers them).
	Queue *queue.Queue
	// Vars are the process's variables ($primary_hostname ...).
	Vars expand.Vars
	// Lookups performs lookups for routers and transports.
	Lookups lists.Lookuper
	// Resolver answers the DNS questions of routers.
	Resolver router.Resolver
	// Interfaces are the local host's addresses (the self option).
	Interfaces []netip.Addr
	// Rewrite is the rewrite section's rules, for the addresses redirect
	// routers generate; nil when there are none.
	Rewrite *rewrite.Rules
	// EximUser is the login, uid and gid bounces are created as (the
	// U= of their "<=" line).
	EximUser queue.Arrival
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// DontDeliver is -N: addresses are routed, but transports are not
	// run; deliveries are logged with "*>".
	DontDeliver bool
	// Local, when set, runs local transports that want a uid or gid
	// this process does not have (and, not being root, cannot take):
	// the daemon's client of its root supervisor. Nil runs every
	// transport in this process.
	Local LocalRunner
	// ConnectionMaxMessages, when above zero, is -oB: it overrides the
	// connection_max_messages of every smtp transport (spec chapter
	// "The Exim command line", -oB).
	ConnectionMaxMessages int
	// Load reads the load average for deliver_queue_load_max; nil
	// reads the system's (loadavg.Read).
	Load loadavg.Reader

	transports map[string]transport.Transport
	retry      *retry.Rules
}

// New builds the transports and retry rules of d.Config and returns d
// ready to deliver.
func New(d *Deliverer) (*Deliverer, error) {
	d.transports = map[string]transport.Transport{}
	for _, td := range d.Config.Transports {
		t, err := transport.New(d.Config, td)
		if err != nil {
			return nil, fmt.Errorf("deliver: transport %s: %w", td.Name, err)
		}
		d.transports[td.Name] = t
	}
	rs, err := retry.New(d.Config.Retry, retry.Options{})
	if err != nil {
		return nil, fmt.Errorf("deliver: retry rules: %w", err)
	}
	d.retry = rs
	return d, nil
}

func (d *Deliverer) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// Options qualify one delivery attempt.
type Options struct {
	// Force ignores retry times (-M, -qf, -R/-S with f).
	Force bool
	// Thaw delivers a frozen message too (-M, -qff); the message is
	// thawed first, logging "Unfrozen by forced delivery".
	Thaw bool
	// LocalOnly suppresses remote deliveries (-ql): they are deferred
	// with "remote deliveries suppressed".
	LocalOnly bool
	// QueueRun is set when a queue runner makes the attempt.
	QueueRun bool
	// QueueSMTP routes remote addresses without delivering them: the
	// message goes into the wait hints of their hosts, for a delivery
	// to the host to take it down its connection (-odqs, and the first
	// stage of -qq). Nothing is logged for them.
	QueueSMTP bool
	// EchoPanic writes the attempt's panic log lines to the
	// Deliverer's Stderr too, as a delivery process Exim starts in the
	// foreground (-M, -q, -odi, -odf) writes them to its standard
	// error (observed with Exim 4.96: a bounce that such a -M or -q
	// sends is delivered in the background, and writes none).
	EchoPanic bool
	// Immediate is set for an attempt outside a queue run that honours
	// retry times and freezing: the one that follows a message's
	// arrival (Scheduler), and -Mc. Like a queue run's, it logs
	// "Message is frozen" for a frozen message.
	Immediate bool
	// pool keeps the SMTP connections of the attempt open for the
	// messages waiting for their hosts (wait.go): Message makes one,
	// and the attempts it continues share it (Exim's continued
	// deliveries, marked "*").
	pool *transport.Pool
	// msglogStart is the first line of the message log when the
	// arrival left it to this attempt (queue.Scheduler): written with
	// the attempt's own lines if the message log is kept, else when the
	// attempt ends with the message still on the spool.
	msglogStart string
	// arrival marks the attempt that follows a message's arrival
	// (Scheduler), to which queue_smtp_domains applies.
	arrival bool
	// continued marks an attempt made down a connection kept open by
	// the one before it: it continues no further itself (its caller
	// goes on to the next waiting message).
	continued bool
}

// Outcome says what became of a message after an attempt.
type Outcome int

// The outcomes of Message.
const (
	// Completed: nothing is left to deliver; the message is gone.
	Completed Outcome = iota
	// Deferred: some addresses wait for a later attempt.
	Deferred
	// Frozen: the message is (or stays) frozen.
	Frozen
	// Skipped: the message was not attempted (locked by another
	// process, or frozen without Thaw).
	Skipped
)

// ErrLocked is returned for a message that another process or goroutine
// is delivering.
var ErrLocked = spool.ErrLocked

// Message makes one delivery attempt of message id: the whole of Exim's
// delivery process for one message (spec chapter "How Exim receives and
// delivers mail"). See the package comment for the order of the steps.
func (d *Deliverer) Message(ctx context.Context, id spool.ID, opts Options) (Outcome, error) {
	lock, err := d.Spool.Lock(id)
	if err != nil {
		if errors.Is(err, spool.ErrLocked) {
			return Skipped, ErrLocked
		}
		if errors.Is(err, fs.ErrNotExist) {
			d.Log.Write(fmt.Sprintf("%s Spool file %s-D not found", id, id), mainlog.Main)
		}
		return Skipped, err
	}
	defer lock.Unlock()
	h, err := d.Spool.ReadHeader(id)
	if err != nil {
		return Skipped, fmt.Errorf("deliver: %w", err)
	}
	if opts.continued {
		m := &attempt{d: d, ctx: ctx, opts: opts, lock: lock, h: h, now: d.now()}
		return m.run()
	}
	// A connection this message delivers over is kept for the messages
	// waiting for its host (wait.go), then closed.
	pool := &transport.Pool{}
	defer pool.Close()
	opts.pool = pool
	m := &attempt{d: d, ctx: ctx, opts: opts, lock: lock, h: h, now: d.now()}
	out, err := m.run()
	if m.opts.msglogStart != "" && out != Completed && m.d.Config.Main.Bool("message_logs") {
		// An attempt that ended early (frozen, say) with the message
		// kept still owes the log its first line.
		d.Spool.AppendMsglog(id, m.opts.msglogStart+"\n")
	}
	// The lock is released before the connection goes on: the next
	// message's delivery is no child of this one.
	lock.Unlock()
	if pool.Idle() > 0 {
		d.continueWaiting(ctx, m, pool)
	}
	return out, err
}
