package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/daemon"
	"github.com/exigo-mta/exigo/internal/deliver"
	"github.com/exigo-mta/exigo/internal/lookup"
	"golang.org/x/sys/unix"
)

// runLocalDelivery is the hidden --local-delivery mode: a worker the
// root supervisor starts, already running as a delivery's uid and gid,
// to run local transports as that user (DESIGN.md, "Privilege
// separation"). It reads a daemon.WorkerInput on stdin and the
// configuration from the fd the supervisor opened (the user may not be
// able to read it by name), then serves runs over the supervisor's
// socket until it closes: each brings the message's -D and -H files as
// open fds and gets a deliver.LocalResponse back. SIGTERM cancels the
// run in progress (its transports defer); the worker answers and exits.
func runLocalDelivery(env *Env) int {
	if os.Geteuid() == 0 {
		fmt.Fprintln(env.Stderr, "exim: local delivery worker must not run as root")
		return 1
	}
	// Other processes of the user (its pipe commands among them) may
	// not trace the worker, which holds whole -H files.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		fmt.Fprintf(env.Stderr, "exim: local delivery: prctl: %v\n", err)
		return 1
	}
	var in daemon.WorkerInput
	if err := json.NewDecoder(io.LimitReader(env.Stdin, 1<<20)).Decode(&in); err != nil {
		fmt.Fprintf(env.Stderr, "exim: local delivery: bad input: %v\n", err)
		return 1
	}
	conf := os.NewFile(daemon.WorkerConfigFD, "config")
	sock := os.NewFile(daemon.WorkerSocketFD, "supervisor")
	if conf == nil || sock == nil {
		fmt.Fprintln(env.Stderr, "exim: local delivery: no supervisor")
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
	fc, err := net.FileConn(sock)
	sock.Close()
	uc, ok := fc.(*net.UnixConn)
	if err != nil || !ok {
		fmt.Fprintf(env.Stderr, "exim: local delivery: supervisor socket: %v\n", err)
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
	var busy sync.Mutex
	go func() {
		// SIGTERM while idle: stop waiting for the next run.
		<-ctx.Done()
		busy.Lock()
		uc.CloseRead()
		busy.Unlock()
	}()
	for ctx.Err() == nil {
		req, data, hdr, err := daemon.ReadRequest(uc)
		if err != nil {
			if errors.Is(err, io.EOF) || ctx.Err() != nil {
				return 0
			}
			fmt.Fprintf(env.Stderr, "exim: local delivery: %v\n", err)
			return 1
		}
		busy.Lock()
		if _, err := uc.Write([]byte{daemon.AckByte}); err != nil {
			data.Close()
			hdr.Close()
			busy.Unlock()
			return 1
		}
		resp := runOne(ctx, w, req, data, hdr)
		b, err := json.Marshal(resp)
		if err == nil {
			err = daemon.WriteFrame(uc, b)
		}
		busy.Unlock()
		if err != nil {
			fmt.Fprintf(env.Stderr, "exim: local delivery: %v\n", err)
			return 1
		}
	}
	return 0
}

// runOne runs one request and closes its spool files.
func runOne(ctx context.Context, w *deliver.LocalWorker, req *deliver.LocalRequest, data, hdr *os.File) *deliver.LocalResponse {
	defer data.Close()
	defer hdr.Close()
	st, err := hdr.Stat()
	if err != nil {
		return &deliver.LocalResponse{Error: fmt.Sprintf("header file: %v", err)}
	}
	resp, err := w.RunLocal(ctx, req, io.NewSectionReader(hdr, 0, st.Size()), data)
	if err != nil {
		return &deliver.LocalResponse{Error: err.Error()}
	}
	return resp
}
