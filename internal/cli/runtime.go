package cli

import (
	"fmt"
	"github.com/exigo-mta/exigo/internal/instance"
	"github.com/exigo-mta/exigo/internal/rewrite"
	"os"
	"strconv"
	"time"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/deliver"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/mainlog"
	"github.com/exigo-mta/exigo/internal/queue"
	"github.com/exigo-mta/exigo/internal/receive"
	"github.com/exigo-mta/exigo/internal/smtpserver"
	"github.com/exigo-mta/exigo/internal/spool"
)

// receiving is what the modes that take messages for real (-bd, -bs,
// -bm) share: the spool, the logs and the queue.
type receiving struct {
	cfg   *config.Config
	log   *mainlog.Logger
	queue *queue.Queue
	opts  receive.Options
	vars  expand.VarMap
	smtp  *smtpParts
	dl    *deliver.Deliverer
	sched *deliver.Scheduler
	// longLived is set for the daemon: lookups keep no results.
	longLived bool
	// rewrite is the rewrite section's rules; nil when there are none.
	rewrite *rewrite.Rules
}

// openReceiving opens the spool and logs of cfg. Errors are reported as
// Exim reports an unusable spool or log (on stderr, exit 1 by the
// caller).
func openReceiving(inv *Invocation, env *Env, cfg *config.Config) (*receiving, error) {
	dir := cfg.Main.String("spool_directory")
	sel, err := mainlog.ParseSelector(cfg.Main.String("log_selector"))
	if err != nil {
		return nil, err
	}
	lg, err := mainlog.New(mainlog.Options{FilePath: cfg.Main.String("log_file_path"), SpoolDir: dir, Selector: sel, Now: env.Now})
	if err != nil {
		return nil, err
	}
	sp, err := spool.Open(spool.Options{Dir: dir, Split: cfg.Main.Bool("split_spool_directory")})
	if err != nil {
		return nil, err
	}
	localhost := -1
	if s := cfg.Main.String("localhost_number"); s != "" {
		if n, err := strconv.Atoi(s); err == nil {
			localhost = n
		}
	}
	gen, err := spool.NewGenerator(os.Getpid(), localhost, nil)
	if err != nil {
		return nil, err
	}
	q := &queue.Queue{Spool: sp, IDs: gen, Log: lg, Selector: sel, Now: env.Now, NoMessageLogs: !cfg.Main.Bool("message_logs")}
	// queue_only, unless an -od option overrides it (queue_only_override,
	// spec chapter "Main configuration").
	if cfg.Main.Bool("queue_only") && (inv.DeliveryMode == "" || !cfg.Main.Bool("queue_only_override")) {
		q.Mode = queue.QueueOnly
	}
	// The daemon is one process for all connections and deliveries,
	// each of which is a process with its own lookup cache in Exim.
	longLived := inv.Mode == "-bd" || inv.Mode == "-bdf"
	parts, err := newSMTPParts(cfg, env, longLived)
	if err != nil {
		return nil, err
	}
	r := &receiving{cfg: cfg, log: lg, queue: q, opts: receive.OptionsFromConfig(cfg), vars: processVars(cfg), smtp: parts, longLived: longLived}
	if len(cfg.Rewrite) > 0 {
		// The rules' expansions see the process variables; a daemon's
		// lookups keep no results, so files it reads may change.
		vars := processVars(cfg)
		callerVars(cfg, vars)
		in := instance.New(cfg, instance.Options{Debug: env.Debug, Now: env.Now, NoLookupCache: longLived})
		if r.rewrite, err = newRewriteRules(cfg, in.Context(vars, nil), nil); err != nil {
			return nil, err
		}
	}
	dl, err := r.deliverer(env)
	if err != nil {
		return nil, err
	}
	dl.DontDeliver = inv.DontDeliver
	r.sched.QueueSMTP = inv.DeliveryMode == "qs"
	dl.ConnectionMaxMessages = inv.SMTPMessageLimit
	if inv.Verbose && !longLived {
		r.showDeliveries(env.Stderr)
	} else if !longLived {
		// Without -v, a delivery made in the foreground writes its
		// panic log lines to the standard error stream too; the
		// deliveries an SMTP submission starts write none (observed
		// with Exim 4.96).
		dl.Stderr = env.Stderr
		r.sched.EchoPanic = deliveryMode(inv) == queue.Foreground && inv.Mode != "-bs" && inv.Mode != "-bS"
	}
	return r, nil
}

// deliveryMode is the -od option's mode (spec chapter "The Exim command
// line", -odb, -odf, -odi, -odq, -odqs). Without one, delivery is in
// the background; -odqs starts it there too, to route the message and
// make its local deliveries only.
func deliveryMode(inv *Invocation) queue.DeliveryMode {
	switch inv.DeliveryMode {
	case "q":
		return queue.QueueOnly
	case "f", "i":
		return queue.Foreground
	}
	return queue.Background
}

// expander expands option strings for intake with the process variables
// overlaid by the message's.
func (r *receiving) expander(now func() time.Time) receive.Expander {
	return func(text string, extra map[string]string) (string, error) {
		ctx := &expand.Context{Vars: overlay{base: r.vars, extra: extra}, Now: now}
		return expand.String(text, ctx)
	}
}

// rewriteFor returns the rewrite rules for message id: their failures
// and (with log_selector +address_rewrite) their rewrites are logged as
// lines about the message. Nil when there are no rules.
func (r *receiving) rewriteFor(id string) *rewrite.Rules {
	if r.rewrite == nil {
		return nil
	}
	logf := func(line string) { r.log.Write(id+" "+line, mainlog.Main) }
	var rewritten func(string)
	if r.queue.Selector.Has(mainlog.SelAddressRewrite) {
		rewritten = logf
	}
	return r.rewrite.WithLog(logf, rewritten)
}

// smtpServer builds the SMTP server of a daemon or -bs session.
func (r *receiving) smtpServer(env *Env, rcv *queue.SpoolReceiver, local bool) *smtpserver.Server {
	vars := expand.VarMap{}
	for k, v := range r.vars {
		vars[k] = v
	}
	if local {
		vars["sender_ident"] = rcv.User.Login
	}
	srv := &smtpserver.Server{
		Config:   r.cfg,
		Receiver: rcv,
		Log:      r.log,
		Vars:     vars,
		Now:      env.Now,
		Local:    local,
	}
	r.smtp.apply(srv)
	srv.Rewrite = r.rewrite
	if r.rewrite != nil {
		rcv.Rewrite = r.rewriteFor
	}
	srv.Cutthrough = r.cutthroughManager()
	if local {
		srv.TLS = nil
	}
	return srv
}

// failf prints an "exim: ..." error on stderr and returns exit code 1.
func failf(env *Env, format string, args ...any) int {
	fmt.Fprintf(env.Stderr, "exim: "+format+"\n", args...)
	return 1
}

// receivingMode loads the configuration and opens the spool and logs, for
// the modes that take or deliver messages (-bs, -bm, -q, -M). With ok false
// the error has been printed and code is the exit code. The caller closes
// r.queue.IDs.
func receivingMode(inv *Invocation, env *Env) (r *receiving, code int, ok bool) {
	cfg, code, ok := loadConfig(inv, env)
	if !ok {
		return nil, code, false
	}
	r, err := openReceiving(inv, env, cfg)
	if err != nil {
		return nil, failf(env, "%v", err), false
	}
	return r, 0, true
}
