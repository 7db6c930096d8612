// Package daemon is exigo's listening SMTP daemon (-bd, -bdf): it binds
// the sockets of local_interfaces / daemon_smtp_ports / -oX, writes the
// pid file, serves each connection on its own goroutine through
// smtpserver, enforces smtp_accept_max and smtp_accept_max_per_host,
// recovers panics per connection, re-reads the configuration on SIGHUP
// and drains on SIGTERM.
//
// # Privilege separation
//
// Started as root (DESIGN.md, "Privilege separation"), the command line
// binds the sockets and writes the pid file, then a Supervisor stays
// behind as root and starts the daemon proper as exim_user, with the
// sockets inherited (Inherit) and a socketpair on which the daemon's
// Client asks for local deliveries as other users. The supervisor checks
// each request against the configuration (CheckRequest), then hands it
// to a worker, "exigo --local-delivery" running as the user (kept for
// the next run as that user), with the message's spool files passed as
// open read-only fds, and hands the worker's answer back.
// Signals sent to the supervisor are forwarded to the daemon.
//
// Exim specification: chapter 13 "Starting the daemon and the use of
// network interfaces", -bd/-bdf/-oX/-oP in chapter "The Exim command
// line", smtp_accept_max* in chapter "Main configuration".
package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/exigo-mta/exigo/internal/mainlog"
	"github.com/exigo-mta/exigo/internal/smtpserver"
)

// Logger writes log lines; *mainlog.Logger implements it.
type Logger interface {
	Write(text string, to ...mainlog.Which) error
}

// TLSHook starts TLS on a tls_on_connect_ports connection before any SMTP
// is spoken. It is the seam for internal/tlsserver; without one, such
// connections are logged and closed.
type TLSHook interface {
	// Handshake returns the connection wrapped in TLS, with the cipher
	// and version in vars ("tls_in_cipher", "tls_in_ver" ...).
	Handshake(ctx context.Context, c net.Conn) (net.Conn, map[string]string, error)
}

// Daemon is one listening daemon.
type Daemon struct {
	// Listens are the sockets to bind (see Plan).
	Listens []Listen
	// Server returns the SMTP server for a new connection; it changes
	// after a reload.
	Server func() *smtpserver.Server
	// Log receives the daemon's log lines.
	Log Logger
	// Activity, when set, is told of each incoming connection (with the
	// peer's IP address) and returns the function to call when it ends;
	// exiwhat lists these.
	Activity func(ip string) (end func())
	// MaxConn is smtp_accept_max (0: no limit); MaxPerHost is
	// smtp_accept_max_per_host (0: no limit).
	MaxConn, MaxPerHost int
	// TLS handles tls_on_connect ports; nil refuses them.
	TLS TLSHook
	// Drain bounds how long in-flight sessions may run after Shutdown
	// before they get a 421.
	Drain time.Duration
	// Hostname is $smtp_active_hostname for the daemon's own replies.
	Hostname string

	mu    sync.Mutex
	lns   []net.Listener
	conns map[net.Conn]struct{}
	perIP map[netip.Addr]int
	// freed is signalled when a session gives its slot back.
	freed  chan struct{}
	wg     sync.WaitGroup
	closed bool
	// Panics counts recovered session panics.
	Panics int
}

// Bind opens the listening sockets.
func (d *Daemon) Bind() error {
	for _, l := range d.Listens {
		network, addr := l.network()
		ln, err := net.Listen(network, addr)
		if err != nil {
			d.closeListeners()
			return fmt.Errorf("socket bind() to port %d for address %s failed: %w", l.Port, l.addrText(), err)
		}
		d.lns = append(d.lns, ln)
	}
	return nil
}

// Inherit uses already bound sockets, one per Listens entry in order
// (the daemon that a Supervisor started gets them as fds), instead of
// binding.
func (d *Daemon) Inherit(files []*os.File) error {
	if len(files) != len(d.Listens) {
		return fmt.Errorf("inherited %d sockets for %d listening addresses", len(files), len(d.Listens))
	}
	for _, f := range files {
		ln, err := net.FileListener(f)
		f.Close()
		if err != nil {
			d.closeListeners()
			return fmt.Errorf("inherited socket: %w", err)
		}
		d.lns = append(d.lns, ln)
	}
	return nil
}

// Files returns the bound sockets as files (duplicates), in Listens
// order, for a Supervisor to pass on; the listeners are then closed.
func (d *Daemon) Files() ([]*os.File, error) {
	var out []*os.File
	for _, ln := range d.lns {
		tl, ok := ln.(*net.TCPListener)
		if !ok {
			return nil, fmt.Errorf("not a TCP listener: %T", ln)
		}
		f, err := tl.File()
		if err != nil {
			return nil, fmt.Errorf("listening socket: %w", err)
		}
		out = append(out, f)
	}
	d.closeListeners()
	d.lns = nil
	return out, nil
}

func (l Listen) addrText() string {
	if l.All {
		return "(any)"
	}
	return l.Addr.String()
}

// Addrs returns the bound addresses (useful when a port was 0).
func (d *Daemon) Addrs() []net.Addr {
	var out []net.Addr
	for _, ln := range d.lns {
		out = append(out, ln.Addr())
	}
	return out
}

func (d *Daemon) closeListeners() {
	for _, ln := range d.lns {
		ln.Close()
	}
}

// Serve accepts connections on every bound socket until ctx is done,
// then shuts down gracefully: no new connections, in-flight sessions get
// up to Drain to finish, the rest get a 421 and are closed.
func (d *Daemon) Serve(ctx context.Context) error {
	d.mu.Lock()
	d.conns = map[net.Conn]struct{}{}
	d.perIP = map[netip.Addr]int{}
	d.freed = make(chan struct{}, 1)
	d.mu.Unlock()
	var acceptWG sync.WaitGroup
	for i, ln := range d.lns {
		acceptWG.Add(1)
		go func(ln net.Listener, l Listen) {
			defer acceptWG.Done()
			d.acceptLoop(ctx, ln, l)
		}(ln, d.Listens[i])
	}
	<-ctx.Done()
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	d.closeListeners()
	acceptWG.Wait()
	d.drain()
	return nil
}

// drain waits for the sessions, then closes those still running with a
// 421.
func (d *Daemon) drain() {
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-time.After(d.Drain):
	}
	d.mu.Lock()
	for c := range d.conns {
		c.SetWriteDeadline(time.Now().Add(time.Second))
		io.WriteString(c, "421 "+d.Hostname+" Service not available - closing connection\r\n")
		c.Close()
	}
	d.mu.Unlock()
	<-done
}

func (d *Daemon) acceptLoop(ctx context.Context, ln net.Listener, l Listen) {
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Too many open files and the like: back off, as net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			d.Log.Write(fmt.Sprintf("accept failed: %v", err), mainlog.Main)
			time.Sleep(delay)
			continue
		}
		delay = 0
		d.admit(ctx, c, l)
	}
}

// addrOf returns the IP and port of a net.Addr.
func addrOf(a net.Addr) (netip.Addr, int) {
	if ta, ok := a.(*net.TCPAddr); ok {
		ap := ta.AddrPort()
		return ap.Addr().Unmap(), int(ap.Port())
	}
	return netip.Addr{}, 0
}

// slotGrace is how long a new connection may wait for a slot when
// smtp_accept_max is reached before it is refused. A session that has
// answered QUIT gives its slot back only when its goroutine next runs,
// which on a busy machine (deliveries using every CPU) can take well
// over a few hundred milliseconds; the client meanwhile connects again.
const slotGrace = 2 * time.Second

// admit applies smtp_accept_max and smtp_accept_max_per_host, then
// starts the session's goroutine. Texts as Exim 4.96 (spec chapter "Main
// configuration", smtp_accept_max and smtp_accept_max_per_host).
func (d *Daemon) admit(ctx context.Context, c net.Conn, l Listen) {
	ip, port := addrOf(c.RemoteAddr())
	d.mu.Lock()
	// A session that has sent its last reply may not have given its slot
	// back yet (its goroutine still has to run); Exim's count of child
	// processes lags the same way. Wait a little for a slot before
	// refusing.
	deadline := time.Now().Add(slotGrace)
	for d.MaxConn > 0 && len(d.conns) >= d.MaxConn && time.Now().Before(deadline) {
		d.mu.Unlock()
		select {
		case <-d.freed:
		case <-time.After(time.Until(deadline)):
		case <-ctx.Done():
		}
		d.mu.Lock()
		if ctx.Err() != nil {
			break
		}
	}
	total := len(d.conns)
	if d.MaxConn > 0 && total >= d.MaxConn {
		d.mu.Unlock()
		d.refuse(c, "421 Too many concurrent SMTP connections; please try again later.", fmt.Sprintf("Connection from [%s] refused: too many connections", ip))
		return
	}
	if d.MaxPerHost > 0 && d.perIP[ip] >= d.MaxPerHost {
		d.mu.Unlock()
		d.refuse(c, "421 Too many concurrent SMTP connections from this IP address; please try again later.", fmt.Sprintf("Connection from [%s] refused: too many connections from that IP address", ip))
		return
	}
	d.conns[c] = struct{}{}
	d.perIP[ip]++
	count := len(d.conns)
	d.wg.Add(1)
	d.mu.Unlock()
	go d.session(ctx, c, l, ip, port, count)
}

// refuse answers a connection refused for lack of a slot; the log line
// is under log_selector's connection_reject (spec chapter "Log files").
func (d *Daemon) refuse(c net.Conn, reply, logText string) {
	if d.selector().Has(mainlog.SelConnectionReject) {
		d.Log.Write(logText, mainlog.Main)
	}
	c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, reply+"\r\n")
	c.Close()
}

// session serves one connection, recovering a panic into a 421 for this
// client and a paniclog line. count is the number of connections in
// progress, this one included, for the smtp_connection log line (spec
// chapter "Log files", smtp_connection).
func (d *Daemon) session(ctx context.Context, c net.Conn, l Listen, ip netip.Addr, port, count int) {
	defer func() {
		if r := recover(); r != nil {
			d.mu.Lock()
			d.Panics++
			d.mu.Unlock()
			d.Log.Write(fmt.Sprintf("SMTP session from [%s] crashed: %v; stack: %s", ip, r, compactStack()), mainlog.Panic)
			c.SetWriteDeadline(time.Now().Add(time.Second))
			io.WriteString(c, "421 "+d.Hostname+" Unexpected failure, please try later\r\n")
		}
		c.Close()
		d.mu.Lock()
		delete(d.conns, c)
		if d.perIP[ip]--; d.perIP[ip] <= 0 {
			delete(d.perIP, ip)
		}
		d.mu.Unlock()
		select {
		case d.freed <- struct{}{}:
		default:
		}
		d.wg.Done()
	}()
	local, lport := addrOf(c.LocalAddr())
	peer := smtpserver.Peer{Addr: ip, Port: port, LocalAddr: local, LocalPort: lport, ConnectionCount: count}
	if d.Activity != nil {
		defer d.Activity(ip.String())()
	}
	srv := d.Server()
	var conn net.Conn = c
	if l.TLSOnConnect && srv.TLS != nil {
		// The SMTP server negotiates TLS itself before its banner.
		peer.TLSOnConnect = true
	} else if l.TLSOnConnect {
		if d.TLS == nil {
			d.Log.Write(fmt.Sprintf("TLS error on connection from [%s] (tls_on_connect): TLS support not available", ip), mainlog.Main)
			return
		}
		tc, vars, err := d.TLS.Handshake(ctx, c)
		if err != nil {
			d.Log.Write(fmt.Sprintf("TLS error on connection from [%s] (SSL_accept): %v", ip, err), mainlog.Main)
			return
		}
		conn = tc
		copy := *srv
		copy.Vars = mergeVars(srv.Vars, vars)
		srv = &copy
	}
	srv.Serve(ctx, conn, conn, peer)
}

func mergeVars(base map[string]string, extra map[string]string) map[string]string {
	m := make(map[string]string, len(base)+len(extra))
	for k, v := range base {
		m[k] = v
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// compactStack is the panicking goroutine's stack on one line.
func compactStack() string {
	b := debug.Stack()
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c == '\n' {
			c = '|'
		}
		if c != '\t' {
			out = append(out, c)
		}
	}
	return string(out)
}

// WritePIDFile writes the daemon's pid to path (Exim's pid_file_path,
// -oP), as decimal and a newline.
func WritePIDFile(path string) error {
	if err := os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return fmt.Errorf("failed to open pid file %s: %w", path, err)
	}
	return nil
}

// Active returns the number of sessions in progress.
func (d *Daemon) Active() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.conns)
}

// selector is the log_selector of the daemon's Logger when it has one
// (*mainlog.Logger does), else Exim's default.
func (d *Daemon) selector() mainlog.Selector {
	if l, ok := d.Log.(interface{ Selector() mainlog.Selector }); ok {
		return l.Selector()
	}
	return mainlog.DefaultSelector
}
