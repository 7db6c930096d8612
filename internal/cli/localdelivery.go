package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/daemon"
	"github.com/exigo-mta/exigo/internal/deliver"
	"github.com/exigo-mta/exigo/internal/lookup"
	"golang.org/x/sys/unix"
)

// runLocalDelivery is the hidden --local-delivery mode: the worker the
// root supervisor starts, already running as the delivery's uid and gid,
// to run one local transport (DESIGN.md, "Privilege separation"). It
// reads a daemon.WorkerInput on stdin, the message's -D, -H and the
// configuration file from the fds the supervisor opened (the delivery
// user can read none of them by name), and writes a
// deliver.LocalResponse on stdout. SIGTERM cancels the run (its
// transports defer).
func runLocalDelivery(env *Env) int {
	if os.Geteuid() == 0 {
		fmt.Fprintln(env.Stderr, "exim: local delivery worker must not run as root")
		return 1
	}
	// Other processes of the user (its pipe commands among them) may
	// not trace the worker, which holds the whole -H file.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		fmt.Fprintf(env.Stderr, "exim: local delivery: prctl: %v\n", err)
		return 1
	}
	var in daemon.WorkerInput
	if err := json.NewDecoder(io.LimitReader(env.Stdin, 16<<20)).Decode(&in); err != nil || in.Request == nil {
		fmt.Fprintf(env.Stderr, "exim: local delivery: bad input: %v\n", err)
		return 1
	}
	data := os.NewFile(daemon.WorkerDataFD, "data")
	hdr := os.NewFile(daemon.WorkerHeaderFD, "header")
	conf := os.NewFile(daemon.WorkerConfigFD, "config")
	if data == nil || hdr == nil || conf == nil {
		fmt.Fprintln(env.Stderr, "exim: local delivery: spool files not passed")
		return 1
	}
	text, err := io.ReadAll(conf)
	conf.Close()
	if err != nil {
		fmt.Fprintf(env.Stderr, "exim: local delivery: configuration: %v\n", err)
		return 1
	}
	cfg, err := config.LoadBytes(in.ConfigPath, text, config.Options{Macros: in.Macros})
	if err != nil {
		fmt.Fprintf(env.Stderr, "exim: local delivery: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	w := &deliver.LocalWorker{
		Config:  cfg,
		Vars:    processVars(cfg),
		Lookups: modeLookups{lookup.New(lookup.Options{Debug: env.Debug})},
		Now:     env.Now,
	}
	resp, err := w.RunLocal(ctx, in.Request, hdr, data)
	if err != nil {
		fmt.Fprintf(env.Stderr, "exim: local delivery: %v\n", err)
		return 1
	}
	if err := json.NewEncoder(env.Stdout).Encode(resp); err != nil {
		fmt.Fprintf(env.Stderr, "exim: local delivery: %v\n", err)
		return 1
	}
	return 0
}
