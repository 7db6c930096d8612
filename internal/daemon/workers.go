package daemon

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/deliver"
)

// Worker fds, counted from 3 as os/exec's ExtraFiles: the socket to the
// supervisor and the configuration file.
const (
	WorkerSocketFD = 3
	WorkerConfigFD = 4
)

// DefaultIdleWorker is how long an idle worker waits for its next run
// before the supervisor lets it go.
const DefaultIdleWorker = 30 * time.Second

// The worker protocol. A worker is started once for a uid, gid and group list and serves one
// run at a time over a unix stream socket, for as long as it is kept:
//
//  1. the supervisor sends one byte with the message's -D and -H files
//     attached (SCM_RIGHTS), then a frame holding a
//     deliver.LocalRequest;
//  2. the worker acknowledges it with AckByte before it starts, then
//     answers with a frame holding a deliver.LocalResponse (a worker that
//     dies before the acknowledgement did nothing, and the request goes
//     to another);
//
// A frame is a 4-byte big-endian length and that many bytes of JSON. The
// worker exits when the socket closes (the supervisor retires idle
// workers and, after SIGHUP, those started with the old configuration)
// or after the run it is doing when it gets SIGTERM (a cancelled run).

// workerKey is the credentials a worker runs with.
type workerKey struct {
	uid, gid int
	groups   string
}

// worker is one long-lived local-delivery process.
type worker struct {
	key  workerKey
	gen  uint64
	cmd  *exec.Cmd
	conn *net.UnixConn
	dead chan struct{}
	idle *time.Timer
	// spoilt marks a worker that must not be used again (cancelled, or
	// its protocol went wrong).
	spoilt bool
}

// pool holds the idle workers per credentials.
type pool struct {
	mu     sync.Mutex
	gen    uint64
	idle   map[workerKey][]*worker
	all    map[*worker]struct{}
	closed bool
}

// get returns an idle worker for key started with the current
// configuration, or nil.
func (p *pool) get(key workerKey) *worker {
	p.mu.Lock()
	defer p.mu.Unlock()
	for ws := p.idle[key]; len(ws) > 0; ws = p.idle[key] {
		w := ws[len(ws)-1]
		p.idle[key] = ws[:len(ws)-1]
		w.idle.Stop()
		select {
		case <-w.dead:
			continue
		default:
		}
		return w
	}
	return nil
}

// put makes w idle again, or lets it go when it is spoilt, from an old
// configuration, or the pool is closing. maxIdle bounds the idle
// workers per credentials.
func (p *pool) put(w *worker, timeout time.Duration, maxIdle int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if w.spoilt || p.closed || w.gen != p.gen || len(p.idle[w.key]) >= maxIdle {
		w.conn.Close()
		return
	}
	if p.idle == nil {
		p.idle = map[workerKey][]*worker{}
	}
	p.idle[w.key] = append(p.idle[w.key], w)
	w.idle = time.AfterFunc(timeout, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		ws := p.idle[w.key]
		for i, x := range ws {
			if x == w {
				p.idle[w.key] = append(ws[:i:i], ws[i+1:]...)
				w.conn.Close()
				return
			}
		}
	})
}

// retire lets every idle worker go and makes busy ones go when they
// finish (a new configuration); close also refuses new ones.
func (p *pool) retire(close bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gen++
	p.closed = p.closed || close
	for _, ws := range p.idle {
		for _, w := range ws {
			w.idle.Stop()
			w.conn.Close()
		}
	}
	p.idle = nil
}

func (p *pool) track(w *worker, add bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.all == nil {
		p.all = map[*worker]struct{}{}
	}
	if add {
		p.all[w] = struct{}{}
	} else {
		delete(p.all, w)
	}
}

// stop closes the pool, sends SIGTERM to the busy workers and waits a
// few seconds for all of them to exit.
func (p *pool) stop() {
	p.retire(true)
	p.mu.Lock()
	var ws []*worker
	for w := range p.all {
		w.cmd.Process.Signal(syscall.SIGTERM)
		ws = append(ws, w)
	}
	p.mu.Unlock()
	deadline := time.After(5 * time.Second)
	for _, w := range ws {
		select {
		case <-w.dead:
		case <-deadline:
			return
		}
	}
}

// startWorker starts a worker running as key's credentials.
func (s *Supervisor) startWorker(cfg *config.Config, key workerKey, groups []uint32, gen uint64) (*worker, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socketpair: %w", err)
	}
	mine := os.NewFile(uintptr(fds[0]), "worker")
	theirs := os.NewFile(uintptr(fds[1]), "supervisor")
	defer theirs.Close()
	defer mine.Close()
	conf, err := os.Open(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	defer conf.Close()
	in, err := json.Marshal(WorkerInput{ConfigPath: cfg.Path, Macros: s.Macros})
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(s.Exe, LocalDeliveryOption)
	cmd.Dir = "/"
	cmd.Env = workerEnv()
	cmd.Stdin = bytes.NewReader(in)
	if f, ok := s.Stderr.(*os.File); ok {
		cmd.Stderr = f
	}
	cmd.ExtraFiles = []*os.File{theirs, conf}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: uint32(key.uid), Gid: uint32(key.gid), Groups: groups},
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting worker as uid %d: %w", key.uid, err)
	}
	c, err := net.FileConn(mine)
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("worker socket: %w", err)
	}
	w := &worker{key: key, gen: gen, cmd: cmd, conn: c.(*net.UnixConn), dead: make(chan struct{})}
	s.pool.track(w, true)
	go func() {
		cmd.Wait()
		s.pool.track(w, false)
		close(w.dead)
	}()
	return w, nil
}

// run hands one request with its spool files to w and returns the raw
// answer. Cancelling ctx sends the worker SIGTERM: its transports defer,
// it answers and exits.
func (w *worker) run(ctx context.Context, req *deliver.LocalRequest, data, hdr *os.File) ([]byte, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	rights := syscall.UnixRights(int(data.Fd()), int(hdr.Fd()))
	if _, _, err := w.conn.WriteMsgUnix([]byte{'R'}, rights, nil); err != nil {
		w.spoilt = true
		return nil, fmt.Errorf("worker: %w: %w", errNotSent, err)
	}
	if err := WriteFrame(w.conn, b); err != nil {
		w.spoilt = true
		return nil, fmt.Errorf("worker: %w: %w", errNotSent, err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-ctx.Done():
			w.cmd.Process.Signal(syscall.SIGTERM)
		case <-stop:
		}
	}()
	// The worker acknowledges a request before it starts on it: without
	// the acknowledgement, nothing was delivered.
	var ack [1]byte
	if _, err := io.ReadFull(w.conn, ack[:]); err != nil || ack[0] != AckByte {
		w.spoilt = true
		return nil, fmt.Errorf("worker: %w: no acknowledgement", errNotSent)
	}
	out, err := ReadFrame(w.conn)
	if ctx.Err() != nil {
		w.spoilt = true
	}
	if err != nil {
		w.spoilt = true
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, errors.New("worker exited without an answer")
		}
		return nil, fmt.Errorf("worker: %w", err)
	}
	return out, nil
}

// AckByte is the worker's acknowledgement of a request.
const AckByte = 'A'

// errNotSent marks a request that never reached its worker (an idle
// worker that has exited): it may be sent to another.
var errNotSent = errors.New("request not sent")

// WriteFrame writes b as one frame of the worker protocol.
func WriteFrame(w io.Writer, b []byte) error {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(b)))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	_, err := w.Write(b)
	return err
}

// ReadFrame reads one frame of the worker protocol (at most maxFrame
// bytes).
func ReadFrame(r io.Reader) ([]byte, error) {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, err
	}
	size := binary.BigEndian.Uint32(n[:])
	if size > maxFrame {
		return nil, fmt.Errorf("frame of %d bytes is too long", size)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}

// ReadRequest is the worker's side of step 1 of the protocol: it reads
// the byte that carries the -D and -H files, then the request frame.
// It returns io.EOF when the supervisor has closed the socket.
func ReadRequest(c *net.UnixConn) (req *deliver.LocalRequest, data, hdr *os.File, err error) {
	var one [1]byte
	oob := make([]byte, syscall.CmsgSpace(2*4))
	n, oobn, _, _, err := c.ReadMsgUnix(one[:], oob)
	if err != nil {
		return nil, nil, nil, err
	}
	if n == 0 {
		return nil, nil, nil, io.EOF
	}
	var fds []int
	msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
	if err == nil {
		for _, m := range msgs {
			if f, err := syscall.ParseUnixRights(&m); err == nil {
				fds = append(fds, f...)
			}
		}
	}
	if len(fds) != 2 {
		for _, fd := range fds {
			syscall.Close(fd)
		}
		return nil, nil, nil, fmt.Errorf("request with %d files, want 2", len(fds))
	}
	data, hdr = os.NewFile(uintptr(fds[0]), "data"), os.NewFile(uintptr(fds[1]), "header")
	b, err := ReadFrame(c)
	if err == nil {
		req = &deliver.LocalRequest{}
		err = json.Unmarshal(b, req)
	}
	if err != nil {
		data.Close()
		hdr.Close()
		return nil, nil, nil, err
	}
	return req, data, hdr, nil
}

// groupsKey renders a group list for workerKey.
func groupsKey(gs []uint32) string {
	var b strings.Builder
	for _, g := range gs {
		fmt.Fprintf(&b, "%d,", g)
	}
	return b.String()
}
