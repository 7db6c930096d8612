package deliver

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/exigo-mta/exigo/internal/loadavg"
	"github.com/exigo-mta/exigo/internal/mainlog"
	"github.com/exigo-mta/exigo/internal/spool"
)

// RunOptions describe one queue run (spec chapter "The Exim command
// line", options -q, -R, -S).
type RunOptions struct {
	// Options apply to every message: -qf sets Force, -qff Force and
	// Thaw, -ql LocalOnly.
	Options
	// Flags are the option letters logged after the pid ("-qf").
	Flags string
	// TwoStage is -qq (its abandonment for the load is logged once
	// more for the second stage).
	TwoStage bool
	// Initial is -qi: only messages never tried.
	Initial bool
	// StartID and EndID bound the ids run (-q id [id]).
	StartID, EndID string
	// Recipient and Sender select messages (-R, -S): a substring, or a
	// regular expression with Regex.
	Recipient, Sender string
	Regex             bool
	// Verbose, when set (-v), receives "delivering <id> (queue run pid
	// <pid>)" before each attempt, and the attempts are made one at a
	// time, as Exim's serial runner shows them. The log lines themselves
	// reach it through the Logger (ItemLogger).
	Verbose io.Writer
}

// ItemLogger is a Logger that is told which log_selector item governs a
// line, and gets the line even when the item is off: -v shows such lines
// on the standard error stream, as "LOG: <item> MAIN" (spec chapter "The
// Exim command line", option -v: "Some of the log lines shown may not
// actually be written to the log if the setting of log_selector discards
// them. Any relevant selectors are shown with each log line").
type ItemLogger interface {
	Logger
	// WriteItem writes text to the logs when on is set, and shows it
	// under item whatever on says.
	WriteItem(item string, on bool, text string, to ...mainlog.Which) error
}

// ShownLogger is a Logger that shows the lines it writes (-v), and can
// write one that was shown already without showing it again.
type ShownLogger interface {
	Logger
	WriteShown(text string, to ...mainlog.Which) error
}

// logItem writes a main log line governed by log_selector item (on says
// whether it is selected).
func (d *Deliverer) logItem(item string, on bool, text string) {
	if il, ok := d.Log.(ItemLogger); ok {
		il.WriteItem(item, on, text, mainlog.Main)
		return
	}
	if on {
		d.Log.Write(text, mainlog.Main)
	}
}

// QueueRun delivers every message in the queue once: "Start queue run"
// and "End queue run" lines around attempts, in arrival order with
// queue_run_in_order, else in a random order. queue_run_max bounds runs
// started by the daemon, not this.
func (d *Deliverer) QueueRun(ctx context.Context, ro RunOptions) error {
	pid := os.Getpid()
	flags := ""
	if ro.Flags != "" {
		flags = " " + ro.Flags
	}
	// Spec chapter "Log files", queue_run.
	logRun := d.selectorOrDefault().Has(mainlog.SelQueueRun)
	d.logItem("queue_run", logRun, fmt.Sprintf("Start queue run: pid=%d%s", pid, flags))
	defer d.logItem("queue_run", logRun, fmt.Sprintf("End queue run: pid=%d%s", pid, flags))
	if ro.TwoStage {
		// -qq (spec chapter "The Exim command line"): a first scan
		// routes every message, making its local deliveries and
		// putting its remote ones in the wait hints of their hosts; a
		// second, normal scan then delivers, sending the messages for
		// a host down one connection.
		first := ro
		first.QueueSMTP = true
		if abandoned, err := d.runStage(ctx, first, pid, flags, logRun); err != nil || abandoned {
			return err
		}
	}
	_, err := d.runStage(ctx, ro, pid, flags, logRun)
	return err
}

// runStage is one scan of the queue, attempting each message selected;
// abandoned says the load average stopped it.
func (d *Deliverer) runStage(ctx context.Context, ro RunOptions, pid int, flags string, logRun bool) (abandoned bool, err error) {
	entries, err := d.Spool.List()
	if err != nil {
		return false, fmt.Errorf("deliver: queue run: %w", err)
	}
	inOrder := d.Config.Main.Bool("queue_run_in_order")
	if inOrder {
		sort.Slice(entries, func(i, j int) bool { return entries[i].ID < entries[j].ID })
	} else {
		// Spec, queue_run_in_order: otherwise runs go "in an arbitrary
		// order".
		rand.Shuffle(len(entries), func(i, j int) { entries[i], entries[j] = entries[j], entries[i] })
	}
	var rre, sre *regexp.Regexp
	if ro.Regex {
		if ro.Recipient != "" {
			rre, _ = regexp.Compile(ro.Recipient)
		}
		if ro.Sender != "" {
			sre, _ = regexp.Compile(ro.Sender)
		}
	}
	// Messages are delivered by up to queueRunParallel goroutines at
	// once (one at a time with queue_run_in_order, which promises an
	// order): Exim's queue runner is serial, but it also forks a
	// process per message; here the attempts share the process, their
	// fsyncs overlap and their directory fsyncs are shared. The run
	// returns when every attempt has ended, as Exim's does.
	//
	// A message listed in a wait-<transport> record waits while an
	// attempt for a message of the same host is under way: that
	// delivery takes it down its connection (wait.go), as Exim's serial
	// runner finds it delivered when it gets to it.
	par := queueRunParallel
	if inOrder || ro.Verbose != nil {
		par = 1
	}
	q := &runQueue{
		d: d, ctx: ctx, sem: make(chan struct{}, par),
		waiting: waitingHosts(d.Config.Main.String("spool_directory"), waitDBNames(d.Config.Main.String("spool_directory"))),
		busy:    map[string]bool{},
	}
	defer q.wait()
	loadMax, loadSet := d.Config.Main.Int("deliver_queue_load_max")
	for _, e := range entries {
		if ctx.Err() != nil {
			break
		}
		if loadSet && !ro.Force {
			// deliver_queue_load_max (spec chapter "Main configuration"):
			// the load is looked at before each message in the queue,
			// whether or not the run selects it; a forced run (-qf,
			// -qff) does not look (observed with Exim 4.96).
			if above, load := loadavg.Above(d.Load, int(loadMax)); above {
				d.abandonRun(fmt.Sprintf("pid=%d%s", pid, flags), load, int(loadMax), ro.TwoStage, logRun)
				return true, nil
			}
		}
		if ro.StartID != "" && string(e.ID) < ro.StartID || ro.EndID != "" && string(e.ID) > ro.EndID {
			continue
		}
		if ro.Initial || ro.Recipient != "" || ro.Sender != "" {
			h, err := d.Spool.ReadHeader(e.ID)
			if err != nil {
				continue
			}
			if ro.Initial && !h.DeliverFirsttime {
				continue
			}
			if ro.Sender != "" && !match(h.Sender, ro.Sender, sre) {
				continue
			}
			if ro.Recipient != "" {
				ok := false
				for _, r := range h.Undelivered() {
					if match(r.Address, ro.Recipient, rre) {
						ok = true
						break
					}
				}
				if !ok {
					continue
				}
			}
		}
		o := ro.Options
		o.QueueRun = true
		if ro.Verbose != nil {
			if !q.present(e.ID) {
				// Gone since the queue was listed (delivered down
				// the connection of a message before it, say).
				continue
			}
			// One attempt at a time, so that what -v shows of each
			// follows its "delivering" line.
			fmt.Fprintf(ro.Verbose, "delivering %s (queue run pid %d)\n", e.ID, pid)
			q.start(e.ID, o)
			q.wg.Wait()
			continue
		}
		q.start(e.ID, o)
	}
	return false, nil
}

// abandonRun logs a queue run given up because the load average is
// above deliver_queue_load_max: "Abandon queue run: pid=N -qf (load
// 1.33, max 0.00)". A two-stage run (-qq) logs its second stage's
// abandonment too, with "NULL" for the run's name (observed with Exim
// 4.96). on says whether queue_run is selected.
func (d *Deliverer) abandonRun(name string, load, max int, twoStage, on bool) {
	tail := fmt.Sprintf(" (load %s, max %s)", loadavg.Format(load), loadavg.Format(max))
	d.logItem("queue_run", on, "Abandon queue run: "+name+tail)
	if twoStage {
		d.logItem("queue_run", on, "Abandon queue run: NULL"+tail)
	}
}

// queueRunParallel bounds the attempts one queue run makes at once.
const queueRunParallel = 32

func match(s, pat string, re *regexp.Regexp) bool {
	if re != nil {
		return re.MatchString(s)
	}
	return strings.Contains(strings.ToLower(s), strings.ToLower(pat))
}

// Scheduler implements queue.Scheduler: it starts a delivery attempt
// right after a message is stored (spec chapter "How Exim receives and
// delivers mail", "immediate delivery"). Background attempts run in
// goroutines, at most Max at once (0: no bound); Wait waits for them.
type Scheduler struct {
	D   *Deliverer
	Max int
	// Verbose, when set (-v), receives "delivering <id>" before each
	// delivery.
	Verbose io.Writer
	// EchoPanic and QueueSMTP (-odqs) are those Options of the
	// attempts it starts.
	EchoPanic, QueueSMTP bool

	once sync.Once
	sem  chan struct{}
	wg   sync.WaitGroup
}

// Schedule implements queue.Scheduler.
func (s *Scheduler) Schedule(ctx context.Context, id spool.ID, wait bool, msglog string) {
	opts := Options{Immediate: true, msglogStart: msglog, EchoPanic: s.EchoPanic, QueueSMTP: s.QueueSMTP, arrival: true}
	if s.Verbose != nil {
		fmt.Fprintf(s.Verbose, "delivering %s\n", id)
	}
	if wait {
		s.D.Message(ctx, id, opts)
		return
	}
	s.once.Do(func() {
		if s.Max > 0 {
			s.sem = make(chan struct{}, s.Max)
		}
	})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if s.sem != nil {
			s.sem <- struct{}{}
			defer func() { <-s.sem }()
		}
		// The submitter's context ends with its session; the delivery
		// must not.
		s.D.Message(context.WithoutCancel(ctx), id, opts)
	}()
}

// Wait waits for the background attempts started so far.
func (s *Scheduler) Wait() { s.wg.Wait() }
