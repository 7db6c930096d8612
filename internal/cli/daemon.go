package cli

import (
	"context"
	"fmt"
	"github.com/exigo-mta/exigo/internal/tools"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/daemon"
	"github.com/exigo-mta/exigo/internal/mainlog"
	"github.com/exigo-mta/exigo/internal/queue"
	"github.com/exigo-mta/exigo/internal/smtpserver"
)

// detachedEnv marks the background child of -bd (Go cannot fork, so -bd
// starts itself again detached and exits).
const detachedEnv = "EXIGO_DAEMON_DETACHED"

// drainTime bounds how long sessions may run after SIGTERM.
const drainTime = 10 * time.Second

// runDaemon implements -bd and -bdf: the listening SMTP daemon. Spec:
// chapter "The Exim command line" (-bd, -bdf, -oX, -oP, -q<time>) and
// chapter 13. SIGHUP re-reads the configuration for new connections
// (listening sockets are kept); SIGTERM and SIGINT stop accepting, let
// sessions finish for up to drainTime, then close the rest with a 421.
func runDaemon(inv *Invocation, env *Env) int {
	cfg, code, ok := loadConfig(inv, env)
	if !ok {
		return code
	}
	if inv.Mode == "-bd" && os.Getenv(detachedEnv) == "" {
		return detach(env)
	}
	if os.Getenv(daemon.ChildEnv) == "" && os.Geteuid() == 0 {
		uid, gid, err := daemon.EximIDs(cfg.Main.String("exim_user"), cfg.Main.String("exim_group"))
		if err != nil {
			return failf(env, "failed to drop privileges: %v", err)
		}
		if uid != 0 {
			return superviseDaemon(inv, env, cfg, uid, gid)
		}
	}
	return serveDaemon(context.Background(), inv, env, cfg, nil)
}

// listenPlan is the daemon's sockets.
func listenPlan(inv *Invocation, cfg *config.Config) ([]daemon.Listen, error) {
	interfaces := ""
	if cfg.Main.IsSet("local_interfaces") {
		interfaces = cfg.Main.String("local_interfaces")
	}
	return daemon.Plan(interfaces, cfg.Main.String("daemon_smtp_ports"), inv.ListenPorts, cfg.Main.String("tls_on_connect_ports"), inv.TLSOnConnect)
}

// pidFilePath is where the daemon's pid goes ("" for none).
func pidFilePath(inv *Invocation, cfg *config.Config) string {
	if inv.PIDFile == "" && inv.ListenPorts == "" {
		// Spec -oX: with -oX and no -oP, no pid file is written.
		return cfg.Main.String("pid_file_path")
	}
	return inv.PIDFile
}

// superviseDaemon is -bd/-bdf started as root (DESIGN.md, "Privilege
// separation"): bind the sockets and write the pid file as root, then
// stay behind as the root supervisor of the daemon proper, which runs
// as exim_user (the same command line, started again with the sockets
// inherited) and asks the supervisor for local deliveries as other
// users. The pid file holds the supervisor's pid, which forwards
// SIGHUP and SIGTERM.
func superviseDaemon(inv *Invocation, env *Env, cfg *config.Config, uid, gid int) int {
	plan, err := listenPlan(inv, cfg)
	if err != nil {
		return failf(env, "%v", err)
	}
	d := &daemon.Daemon{Listens: plan}
	if err := d.Bind(); err != nil {
		return failf(env, "%v", err)
	}
	files, err := d.Files()
	if err != nil {
		return failf(env, "%v", err)
	}
	if p := pidFilePath(inv, cfg); p != "" {
		if err := daemon.WritePIDFile(p); err != nil {
			fmt.Fprintf(env.Stderr, "exim: %v\n", err)
		} else {
			defer os.Remove(p)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return failf(env, "cannot find own executable: %v", err)
	}
	sup := &daemon.Supervisor{
		Exe: exe, Args: os.Args, UID: uid, GID: gid, Listeners: files,
		Config: cfg, Macros: inv.Macros, Stderr: env.Stderr,
		Reload: func() (*config.Config, error) {
			return config.Load(configFile(inv), config.Options{Macros: inv.Macros})
		},
	}
	code, err := sup.Run()
	if err != nil {
		return failf(env, "%v", err)
	}
	return code
}

// inherited returns the sockets and the supervisor client of a daemon
// started by a supervisor (nil, nil, nil when there is none).
func inherited() ([]*os.File, *daemon.Client, error) {
	v := os.Getenv(daemon.ChildEnv)
	if v == "" {
		return nil, nil, nil
	}
	os.Unsetenv(daemon.ChildEnv)
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 1000 {
		return nil, nil, fmt.Errorf("bad %s=%q", daemon.ChildEnv, v)
	}
	var files []*os.File
	for i := 0; i < n; i++ {
		files = append(files, os.NewFile(uintptr(3+i), "listener"))
	}
	c, err := daemon.NewClient(os.NewFile(uintptr(3+n), "supervisor"))
	if err != nil {
		return nil, nil, err
	}
	return files, c, nil
}

// detach starts this command again in a new session, in the
// background, and returns at once, as Exim's -bd does by forking.
func detach(env *Env) int {
	exe, err := os.Executable()
	if err != nil {
		return failf(env, "cannot find own executable: %v", err)
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = append(os.Environ(), detachedEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	devnull, _ := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, devnull
	if err := cmd.Start(); err != nil {
		return failf(env, "cannot start daemon: %v", err)
	}
	cmd.Process.Release()
	return 0
}

// serveDaemon runs the daemon until SIGTERM/SIGINT or ctx ends. ready,
// when set, is called with the bound addresses (tests, --run-local).
func serveDaemon(ctx context.Context, inv *Invocation, env *Env, cfg *config.Config, ready func([]string)) int {
	// Signals are caught from the start: a supervisor forwards them as
	// soon as the daemon runs.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	plan, err := listenPlan(inv, cfg)
	if err != nil {
		return failf(env, "%v", err)
	}
	var mu sync.Mutex
	build := func(c *config.Config, rc *receiving) *smtpserver.Server {
		rcv := &queue.SpoolReceiver{
			Queue: rc.queue, Options: &rc.opts, Expand: rc.expander(env.Now),
			Login: callerUser().Login, UID: os.Getuid(), GID: os.Getgid(),
			Mode: queue.Background, AttemptFrozen: true,
		}
		return rc.smtpServer(env, rcv, false)
	}
	var current *smtpserver.Server
	maxConn, _ := cfg.Main.Int("smtp_accept_max")
	perHost, _ := strconv.Atoi(cfg.Main.String("smtp_accept_max_per_host"))
	d := &daemon.Daemon{
		Listens:    plan,
		Server:     func() *smtpserver.Server { mu.Lock(); defer mu.Unlock(); return current },
		MaxConn:    int(maxConn),
		MaxPerHost: perHost,
		Drain:      drainTime,
		Hostname:   cfg.Main.String("primary_hostname"),
		// TLS: the seam for internal/tlsserver (tls_on_connect_ports);
		// nil until that package is merged.
		TLS: nil,
	}
	files, sup, err := inherited()
	if err != nil {
		return failf(env, "%v", err)
	}
	// pid is the pid admins signal: the supervisor's when there is one.
	pid := os.Getpid()
	pidFile := pidFilePath(inv, cfg)
	if sup != nil {
		defer sup.Close()
		pid, pidFile = os.Getppid(), ""
		if err := d.Inherit(files); err != nil {
			return failf(env, "%v", err)
		}
	} else if err := d.Bind(); err != nil {
		return failf(env, "%v", err)
	}
	if pidFile != "" {
		if err := daemon.WritePIDFile(pidFile); err != nil {
			fmt.Fprintf(env.Stderr, "exim: %v\n", err)
		} else {
			defer os.Remove(pidFile)
		}
	}
	// Started as root: bound and pid file written, now become exim_user
	// before anything reads the network or writes the spool.
	if err := daemon.DropPrivileges(cfg.Main.String("exim_user"), cfg.Main.String("exim_group")); err != nil {
		return failf(env, "failed to drop privileges: %v", err)
	}
	r, err := openReceiving(inv, env, cfg)
	if err != nil {
		return failf(env, "%v", err)
	}
	if sup != nil {
		r.dl.Local = sup
	}
	current = build(cfg, r)
	ids := r.queue.IDs
	d.Log = r.log
	started := func() {
		// Exim loads the TLS credentials when the daemon starts and
		// warns when STARTTLS is offered without a certificate.
		if cfg.Main.String("tls_advertise_hosts") != "" && cfg.Main.String("tls_certificate") == "" {
			r.log.Write("Warning: No server certificate defined; will use a selfsigned one.\n Suggested action: either install a certificate or change tls_advertise_hosts option", mainlog.Main)
		}
		runs := "no queue runs"
		if iv := inv.Queue.Interval; iv > 0 {
			runs = "-q" + config.FormatTime(int64(iv/time.Second))
		}
		r.log.Write(fmt.Sprintf("exim %s daemon started: pid=%d, %s, listening for SMTP on %s", Version, pid, runs, daemon.Describe(plan)), mainlog.Main)
	}
	started()
	// exiwhat: the daemon's line, and one per incoming connection (spec
	// chapter "Exim utilities", section on exiwhat; see tools.ProcessInfo).
	pinfo := tools.NewProcessInfo(cfg.Main.String("spool_directory"))
	runs := "no queue runs"
	if iv := inv.Queue.Interval; iv > 0 {
		runs = "-q" + config.FormatTime(int64(iv/time.Second))
	}
	defer pinfo.Start(fmt.Sprintf("daemon(%s): %s, listening for SMTP on %s", Version, runs, daemon.Describe(plan)))()
	d.Activity = func(ip string) func() {
		return pinfo.Start(fmt.Sprintf("handling incoming connection from [%s]", ip))
	}
	if ready != nil {
		var addrs []string
		for _, a := range d.Addrs() {
			addrs = append(addrs, a.String())
		}
		ready(addrs)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if iv := inv.Queue.Interval; iv > 0 {
		// -q<time>: a queue run every interval (spec chapter "The Exim
		// command line", -q<time> with -bd).
		// The first run starts as soon as the daemon is listening (as
		// Exim 4.96 does), the next ones every interval.
		var running atomic.Int64
		go func() {
			tk := time.NewTicker(iv)
			defer tk.Stop()
			for first := true; ; first = false {
				if !first {
					select {
					case <-ctx.Done():
						return
					case <-tk.C:
					}
				}
				mu.Lock()
				dl := r.dl
				mu.Unlock()
				if dl == nil {
					continue
				}
				// queue_run_max: at most that many runs at once; a run
				// that would exceed it is not started (0: no limit).
				limit, err := strconv.ParseInt(strings.TrimSpace(dl.Config.Main.String("queue_run_max")), 10, 64)
				if err != nil {
					limit = 5
				}
				if limit > 0 && running.Load() >= limit {
					continue
				}
				running.Add(1)
				go func() {
					defer running.Add(-1)
					dl.QueueRun(ctx, runOptions(inv.Queue))
				}()
			}
		}()
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case s := <-sigs:
				if s != syscall.SIGHUP {
					cancel()
					return
				}
				r.log.Write(fmt.Sprintf("pid=%d: SIGHUP received: re-exec daemon", pid), mainlog.Main)
				ncfg, err := config.Load(configFile(inv), config.Options{Macros: inv.Macros})
				if err != nil {
					r.log.Write(config.PanicText(err), mainlog.Panic)
					continue
				}
				nr, err := openReceiving(inv, env, ncfg)
				if err != nil {
					r.log.Write(err.Error(), mainlog.Panic)
					continue
				}
				if sup != nil {
					nr.dl.Local = sup
				}
				// One id generator per process: two would repeat ids.
				nr.queue.IDs = ids
				srv := build(ncfg, nr)
				mu.Lock()
				current = srv
				r = nr
				mu.Unlock()
				started()
			}
		}
	}()
	d.Serve(ctx)
	ids.Close()
	mu.Lock()
	r.queue.Spool.Close()
	mu.Unlock()
	return 0
}
