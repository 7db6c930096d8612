package daemon

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/deliver"
)

// ChildEnv is the environment variable that marks the daemon process a
// Supervisor started; its value is the number of listening sockets
// passed to it (fds 3 onwards), and the fd after them is the
// supervisor's socket.
const ChildEnv = "EXIGO_PRIVSEP_CHILD"

// LocalDeliveryOption is the hidden long option (DESIGN.md, "Names
// outside Exim's grammar") that starts a local-delivery worker: it reads
// a WorkerInput on its standard input and the configuration file on
// WorkerConfigFD, then serves runs on WorkerSocketFD (see workers.go for
// the protocol).
const LocalDeliveryOption = "--local-delivery"

// WorkerInput is what the supervisor writes to a worker's standard
// input.
type WorkerInput struct {
	// ConfigPath is the configuration file's name (its contents come on
	// WorkerConfigFD); Macros are the daemon's -D macros.
	ConfigPath string         `json:"config_path"`
	Macros     []config.Macro `json:"macros,omitempty"`
}

// maxFrame bounds one request or answer on the supervisor's socket and
// a worker's output.
const maxFrame = 16 << 20

// frame is one message on the supervisor socket, newline-terminated
// JSON. The daemon sends Run (or Cancel for a run in progress); the
// supervisor answers with the same ID and Error or Output (the worker's
// response, which the supervisor does not parse).
type frame struct {
	ID     uint64                `json:"id"`
	Run    *deliver.LocalRequest `json:"run,omitempty"`
	Cancel bool                  `json:"cancel,omitempty"`
	Error  string                `json:"error,omitempty"`
	Output []byte                `json:"output,omitempty"`
}

// Supervisor is the root process of a daemon started as root (DESIGN.md,
// "Privilege separation"): it has bound the listening sockets and
// written the pid file; Run starts the daemon proper as exim_user with
// the sockets inherited, forwards signals to it, and serves its requests
// to run a local transport as another user. It reads no mail and no
// network input; it parses only the daemon's requests (and checks them
// against the configuration), never a worker's output.
type Supervisor struct {
	// Exe is the exigo binary; Args the daemon's argv, argv[0]
	// included (the supervisor's own, so that the daemon reads the same
	// command line).
	Exe  string
	Args []string
	// UID and GID are exim_user and exim_group, which the daemon runs as.
	UID, GID int
	// Listeners are the bound sockets, passed to the daemon as fds 3...
	Listeners []*os.File
	// Config is the configuration the requests are checked against;
	// Reload re-reads it (SIGHUP).
	Config *config.Config
	Reload func() (*config.Config, error)
	// Macros are the -D macros of the command line, for the workers.
	Macros []config.Macro
	// Stderr receives the supervisor's own complaints (the daemon logs
	// the outcomes of its requests).
	Stderr io.Writer
	// MaxWorkers bounds the runs in progress at once (0: 64).
	MaxWorkers int
	// IdleWorker is how long a worker is kept for the next run as its
	// user (0: DefaultIdleWorker; negative: one worker per run).
	IdleWorker time.Duration

	mu   sync.Mutex
	sem  chan struct{}
	pool pool
}

// Run starts the daemon and supervises it until it exits; it returns
// the daemon's exit status. SIGTERM, SIGINT and SIGHUP are forwarded to
// the daemon (after SIGHUP the supervisor re-reads the configuration
// too); when the daemon exits, running workers are told to stop.
func (s *Supervisor) Run() (int, error) {
	if s.MaxWorkers <= 0 {
		s.MaxWorkers = 64
	}
	s.sem = make(chan struct{}, s.MaxWorkers)
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return 1, fmt.Errorf("socketpair: %w", err)
	}
	mine := os.NewFile(uintptr(fds[0]), "supervisor")
	theirs := os.NewFile(uintptr(fds[1]), "daemon")
	cmd := exec.Command(s.Exe)
	if len(s.Args) > 0 {
		cmd.Args = s.Args
	}
	cmd.Env = append(os.Environ(), ChildEnv+"="+strconv.Itoa(len(s.Listeners)))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.ExtraFiles = append(append([]*os.File{}, s.Listeners...), theirs)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: uint32(s.UID), Gid: uint32(s.GID), Groups: []uint32{}},
		// The daemon stops when the supervisor dies. Pdeathsig follows
		// the thread that started the child, so this goroutine keeps
		// its thread until the daemon is gone.
		Pdeathsig: syscall.SIGTERM,
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cmd.Start(); err != nil {
		mine.Close()
		theirs.Close()
		return 1, fmt.Errorf("starting the daemon as uid %d: %w", s.UID, err)
	}
	theirs.Close()
	for _, f := range s.Listeners {
		f.Close()
	}
	conn, err := net.FileConn(mine)
	mine.Close()
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return 1, fmt.Errorf("supervisor socket: %w", err)
	}
	go s.Serve(conn)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// The supervisor now only waits and answers narrow requests: give
	// back the memory that starting up used.
	debug.FreeOSMemory()
	for {
		select {
		case sig := <-sigs:
			if sig == syscall.SIGHUP && s.Reload != nil {
				if cfg, err := s.Reload(); err == nil {
					s.mu.Lock()
					s.Config = cfg
					s.mu.Unlock()
					s.pool.retire(false)
				} else {
					fmt.Fprintf(s.Stderr, "exim supervisor: keeping the old configuration: %v\n", err)
				}
			}
			cmd.Process.Signal(sig)
		case err := <-done:
			conn.Close()
			s.pool.stop()
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
					return 128 + int(ws.Signal()), nil
				}
				return ee.ExitCode(), nil
			}
			if err != nil {
				return 1, err
			}
			return 0, nil
		}
	}
}

// Serve answers the requests that arrive on conn until it is closed.
// Each request runs on its own goroutine; Cancel frames stop the worker
// of a request in progress.
func (s *Supervisor) Serve(conn net.Conn) {
	defer conn.Close()
	if s.sem == nil {
		s.sem = make(chan struct{}, max(s.MaxWorkers, 64))
	}
	var wmu sync.Mutex
	send := func(f frame) {
		b, _ := json.Marshal(f)
		wmu.Lock()
		defer wmu.Unlock()
		conn.Write(append(b, '\n'))
	}
	var cmu sync.Mutex
	cancels := map[uint64]context.CancelFunc{}
	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, 64<<10), maxFrame)
	var wg sync.WaitGroup
	defer wg.Wait()
	for sc.Scan() {
		var f frame
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			fmt.Fprintf(s.Stderr, "exim supervisor: bad request: %v\n", err)
			return
		}
		if f.Cancel {
			cmu.Lock()
			if c := cancels[f.ID]; c != nil {
				c()
			}
			cmu.Unlock()
			continue
		}
		if f.Run == nil {
			send(frame{ID: f.ID, Error: "empty request"})
			continue
		}
		ctx, cancel := context.WithCancel(context.Background())
		cmu.Lock()
		cancels[f.ID] = cancel
		cmu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := s.RunWorker(ctx, f.Run)
			cmu.Lock()
			delete(cancels, f.ID)
			cmu.Unlock()
			cancel()
			a := frame{ID: f.ID, Output: out}
			if err != nil {
				a.Error = err.Error()
			}
			send(a)
		}()
	}
}

// RunWorker checks req against the configuration, then hands it to a
// worker running as req.UID/req.GID (an idle one if there is one) with
// the message's spool files open for reading, and returns the worker's
// answer (a deliver.LocalResponse, not parsed here).
func (s *Supervisor) RunWorker(ctx context.Context, req *deliver.LocalRequest) ([]byte, error) {
	s.mu.Lock()
	cfg := s.Config
	s.mu.Unlock()
	if err := CheckRequest(cfg, req); err != nil {
		return nil, err
	}
	select {
	case s.sem <- struct{}{}:
		defer func() { <-s.sem }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	data, hdr, err := openSpoolFiles(cfg.Main.String("spool_directory"), req.MessageID)
	if err != nil {
		return nil, err
	}
	defer data.Close()
	defer hdr.Close()
	groups := []uint32{uint32(req.GID)}
	if req.Initgroups {
		groups = userGroups(req.User, req.GID)
	}
	key := workerKey{uid: req.UID, gid: req.GID, groups: groupsKey(groups)}
	idle := s.IdleWorker
	if idle == 0 {
		idle = DefaultIdleWorker
	}
	for try := 0; ; try++ {
		w := s.pool.get(key)
		if w == nil {
			s.pool.mu.Lock()
			gen, closed := s.pool.gen, s.pool.closed
			s.pool.mu.Unlock()
			if closed {
				return nil, errors.New("supervisor is stopping")
			}
			if w, err = s.startWorker(cfg, key, groups, gen); err != nil {
				return nil, err
			}
		}
		out, err := w.run(ctx, req, data, hdr)
		if idle < 0 {
			w.spoilt = true
		}
		s.pool.put(w, idle, 4)
		if errors.Is(err, errNotSent) && try < 2 {
			continue
		}
		return out, err
	}
}

// workerEnv is a worker's whole environment: transports build their
// commands' environments themselves.
func workerEnv() []string {
	env := []string{"PATH=/usr/bin:/bin:/usr/sbin:/sbin"}
	if tz, ok := os.LookupEnv("TZ"); ok {
		env = append(env, "TZ="+tz)
	}
	return env
}
