// The client end of an SMTP connection: dialling, commands with
// timeouts, EHLO/HELO, STARTTLS and AUTH, and a pool of open connections
// for reuse by a queue runner.

package transport

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/exigo-mta/exigo/internal/auth"
)

// smtpConn is one client connection.
type smtpConn struct {
	nc      net.Conn
	r       *bufio.Reader
	w       *bufio.Writer
	host    Host
	caps    ehloCaps
	esmtp   bool
	tls     *tls.ConnectionState
	tlsInfo clientTLS     // what the log shows of the TLS session
	timeout time.Duration // command_timeout
	authed  string        // authenticator name after AUTH
	// reused is set once the connection has come out of a Pool.
	reused bool
	// msg is the id of the message last sent down the connection.
	msg string
	// trace shows the session for -v (nil: nothing is shown).
	trace *sessionTrace
	// quitSent is set once QUIT has gone out; its reply is still to
	// be read.
	quitSent bool
	// dropQuitReply leaves the reply to QUIT unread.
	dropQuitReply bool
}

// dial connects to h, from the interface address when set; trace
// shows the attempt.
func dial(ctx context.Context, h Host, port int, iface string, timeout time.Duration, trace *sessionTrace) (*smtpConn, error) {
	d := net.Dialer{Timeout: timeout}
	if iface != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(iface)}
	}
	nc, err := d.DialContext(ctx, "tcp", net.JoinHostPort(h.Addr, strconv.Itoa(port)))
	trace.connecting(h, port, err)
	if err != nil {
		return nil, err
	}
	return &smtpConn{nc: nc, r: bufio.NewReaderSize(nc, 4096), w: bufio.NewWriterSize(nc, 16*1024), host: h, trace: trace}, nil
}

// send writes lines (each without CRLF) and flushes: the last is shown
// as sent, those before it as pipelined.
func (c *smtpConn) send(lines ...string) error {
	for i, l := range lines {
		if i < len(lines)-1 {
			c.trace.sent("|>", l)
		} else {
			c.trace.sent(">>", l)
		}
	}
	return c.write(lines...)
}

// write writes lines (each without CRLF) and flushes, showing nothing.
func (c *smtpConn) write(lines ...string) error {
	c.nc.SetWriteDeadline(time.Now().Add(c.timeout))
	for _, l := range lines {
		c.w.WriteString(l)
		c.w.WriteString("\r\n")
	}
	return c.w.Flush()
}

// read reads one reply within timeout.
func (c *smtpConn) read(timeout time.Duration) (*Reply, error) {
	c.nc.SetReadDeadline(time.Now().Add(timeout))
	r, err := readReply(c.r)
	if err == nil {
		c.trace.reply(r)
	}
	return r, err
}

// cmd sends one command and reads its reply.
func (c *smtpConn) cmd(line string) (*Reply, error) {
	if err := c.send(line); err != nil {
		return nil, err
	}
	return c.read(c.timeout)
}

// Command implements auth.ClientConn: the AUTH command is shown with
// its data hidden, the lines after it hidden altogether.
func (c *smtpConn) Command(line string) (int, string, error) {
	if len(line) > 5 && strings.EqualFold(line[:5], "AUTH ") {
		c.trace.sent(">>", line)
	} else {
		c.trace.secret(line)
	}
	if err := c.write(line); err != nil {
		return 0, "", err
	}
	r, err := c.read(c.timeout)
	if err != nil {
		return 0, "", err
	}
	return r.Code, r.Message(), nil
}

// sayQuit sends QUIT as Exim ends a session: on a connection in clear,
// the sending side is then shut down. Its reply is left to end.
func (c *smtpConn) sayQuit() error {
	c.quitSent = true
	err := c.write("QUIT")
	if c.tls != nil {
		c.trace.sent(">>", "QUIT")
		return err
	}
	c.trace.sent("+>", "QUIT")
	c.trace.show("  SMTP(shutdown)>>\n")
	if tc, ok := c.nc.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
	return err
}

// quit ends the session: QUIT (unless sent already), its reply, and
// the connection closed.
func (c *smtpConn) quit() {
	if (c.quitSent || c.sayQuit() == nil) && !c.dropQuitReply {
		c.read(c.timeout)
	}
	c.close()
}

func (c *smtpConn) close() {
	c.trace.closed()
	c.nc.Close()
}

// hello sends EHLO (unless avoided) and falls back to HELO when EHLO is
// refused.
func (c *smtpConn) hello(name string, esmtp bool) (*Reply, string, error) {
	if esmtp {
		r, err := c.cmd("EHLO " + name)
		if err != nil {
			return nil, "EHLO " + name, err
		}
		if r.Class() == 2 {
			c.esmtp = true
			c.caps = parseEHLO(r)
			return r, "", nil
		}
	}
	r, err := c.cmd("HELO " + name)
	if err != nil {
		return nil, "HELO " + name, err
	}
	c.esmtp = false
	c.caps = ehloCaps{}
	if r.Class() != 2 {
		return r, "HELO " + name, nil
	}
	return r, "", nil
}

// startTLS upgrades the connection.
func (c *smtpConn) startTLS(cfg *tls.Config) error {
	tc := tls.Client(c.nc, cfg)
	c.nc.SetDeadline(time.Now().Add(c.timeout))
	if err := tc.Handshake(); err != nil {
		return err
	}
	c.nc.SetDeadline(time.Time{})
	st := tc.ConnectionState()
	c.tls = &st
	c.nc = tc
	c.r = bufio.NewReaderSize(tc, 4096)
	c.w = bufio.NewWriterSize(tc, 16*1024)
	return nil
}

// authenticate tries the client authenticators whose public name the
// server offers (spec chapter "SMTP authentication", section
// "Authentication by an Exim client").
func (c *smtpConn) authenticate(clients []*auth.Client, x auth.Expander) (bool, error) {
	for _, cl := range clients {
		offered := false
		for _, m := range c.caps.auth {
			if strings.EqualFold(m, cl.PublicName) {
				offered = true
			}
		}
		if !offered {
			continue
		}
		res, err := cl.Authenticate(c, x)
		switch res {
		case auth.ClientOK:
			c.authed = cl.Name
			return true, nil
		case auth.ClientDefer:
			return false, err
		}
	}
	return false, nil
}

// Pool keeps open SMTP connections by host and transport for reuse, as
// a queue runner does with Exim's continued deliveries. A connection is
// returned after a successful transaction (after RSET) and handed out
// again for the same transport, host address and port, to another
// message: Exim passes a connection on to the messages waiting for the
// host, never to another transport run of the same message (observed
// with Exim 4.96, whose addresses with different errors_to go to the
// same host on new connections). Safe for concurrent use.
type Pool struct {
	mu    sync.Mutex
	conns map[string][]*smtpConn
	// Max is the number of idle connections kept per key (default 1).
	Max int
}

func poolKey(transport string, h Host, port int) string {
	return transport + "|" + h.Addr + "|" + strconv.Itoa(port)
}

func (p *Pool) get(key, msg string) *smtpConn {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	cs := p.conns[key]
	if len(cs) == 0 || (msg != "" && cs[len(cs)-1].msg == msg) {
		return nil
	}
	c := cs[len(cs)-1]
	p.conns[key] = cs[:len(cs)-1]
	c.reused = true
	return c
}

func (p *Pool) put(key string, c *smtpConn) bool {
	if p == nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	max := p.Max
	if max <= 0 {
		max = 1
	}
	if p.conns == nil {
		p.conns = map[string][]*smtpConn{}
	}
	if len(p.conns[key]) >= max {
		return false
	}
	p.conns[key] = append(p.conns[key], c)
	return true
}

// Idle returns the number of connections the pool holds.
func (p *Pool) Idle() int {
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, cs := range p.conns {
		n += len(cs)
	}
	return n
}

// Close sends QUIT on every idle connection and closes it.
func (p *Pool) Close() {
	p.mu.Lock()
	all := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, cs := range all {
		for _, c := range cs {
			c.timeout = 5 * time.Second
			c.quit()
		}
	}
}

var errNoTLS = errors.New("a TLS session is required, but the server did not offer TLS support")

// deadline is now+d, or no deadline for d <= 0.
func deadline(d time.Duration) time.Time {
	if d <= 0 {
		return time.Time{}
	}
	return time.Now().Add(d)
}
