// Package cutthrough is Exim's cutthrough delivery: the SMTP connection
// to the ultimate destination that the RCPT ACL's
// "control = cutthrough_delivery" opens while the message is still
// being received, which then carries the client's recipients and the
// message, so that the client gets the destination's verdict on the
// data.
//
// The package holds the client side of that connection (Conn) and what
// all sessions of one configuration share (Manager): how an address is
// routed and how an open connection is judged compatible with the next
// recipient. The SMTP server decides when to open, extend, use and
// cancel a connection; the delivery side marks a message delivered
// through cutthrough (deliver.MarkDelivered).
//
// Exim specification: chapter "Access control lists", section "Use of
// the control modifier" (control = cutthrough_delivery/defer=...), and
// chapter "Log files", section "Logging deliveries" (">>" lines).
// Behaviour not spelled out there was observed with Exim 4.96:
//
//   - the connection is made after the first recipient's RCPT ACL has
//     accepted; MAIL carries the real sender and no SIZE=;
//   - a 5xx to that RCPT turns the ACL's accept into a plain rejection
//     ("550 Administrative prohibition"); a 4xx, or no connection at all,
//     drops the cutthrough silently (normal queueing) unless defer=pass,
//     which gives the client the destination's 4xx;
//   - a later recipient routed to the same transport, host and port is
//     added to the connection; one routed elsewhere closes it (QUIT), is
//     checked once over a connection of its own (MAIL, RCPT, QUIT), and
//     the message is then received and delivered normally;
//   - after the data, 2xx logs ">>" lines (recipients in reverse order)
//     before the "<=" line; 5xx is the client's reply and nothing is
//     kept; 4xx keeps the message queued without an immediate delivery
//     attempt (defer=spool) or is the client's reply (defer=pass).
package cutthrough

import (
	"bufio"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Host is one host of a routed address.
type Host struct {
	// Name is the host name as routing gave it, Addr its IP address.
	Name, Addr string
	// Port is the port to connect to (never 0).
	Port int
	// TLS is set when STARTTLS is to be used if the host offers it
	// (the host is not in the transport's hosts_avoid_tls).
	TLS bool
}

// Target is where routing sent an address: the router and the smtp
// transport, and the hosts to try in order. The transport settings that
// a cutthrough connection uses are copied in.
type Target struct {
	Router, Transport string
	Hosts             []Host
	// Helo is the name for EHLO/HELO (the transport's helo_data).
	Helo string
	// Interface is the local address to connect from ("" for any).
	Interface string
	// TLSRoots are the CAs a server's certificate is checked against
	// for CV= (nil: the system's).
	TLSRoots *x509.CertPool
	// ConnectTimeout, CommandTimeout and DataTimeout are the transport's
	// connect_timeout, command_timeout and data_timeout.
	ConnectTimeout, CommandTimeout, DataTimeout time.Duration
}

// Router routes an address in recipient-verification mode (cutthrough
// counts as verification: specification chapter "How Exim receives and
// delivers mail", section "Generic options for routers"). vars are the
// session's variables. ok is false when the address cannot go through
// cutthrough: not routed, or not to an smtp transport.
type Router func(vars map[string]string, addr string) (t Target, ok bool)

// Manager is what every session of one configuration shares.
type Manager struct {
	// Route routes an address; nil disables cutthrough.
	Route Router
	// Dial connects to a host; nil uses net.Dialer.
	Dial func(ctx context.Context, network, local, remote string) (net.Conn, error)
	// MarkDelivered records that a received message's recipients were
	// delivered, before the message is stored (see
	// deliver.MarkDelivered); nil records nothing.
	MarkDelivered func(id string, rcpts []string) error
}

// Reply is one SMTP reply from the destination.
type Reply struct {
	Code  int
	Lines []string
	// Host is the host that answered, when Open or OpenTarget refused.
	Host Host
}

// Class is the first digit of the code (0 for no reply).
func (r Reply) Class() int { return r.Code / 100 }

// Text is the reply as Exim shows it after C= and in a passed-on
// reply: every line with its code, joined by "\n".
func (r Reply) Text() string {
	var b strings.Builder
	for i, l := range r.Lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		sep := " "
		if i < len(r.Lines)-1 {
			sep = "-"
		}
		b.WriteString(strings.TrimRight(strconv.Itoa(r.Code)+sep+l, " "))
	}
	return b.String()
}

// Message is the reply's text without codes, lines joined by "\n".
func (r Reply) Message() string { return strings.Join(r.Lines, "\n") }

// Conn is an open cutthrough connection: the destination has accepted
// MAIL and the recipients in Recipients.
type Conn struct {
	// Target is the route of the first recipient; Host the host
	// connected to.
	Target Target
	Host   Host
	// Recipients are the addresses the destination accepted, in order.
	Recipients []string

	nc         net.Conn
	br         *bufio.Reader
	pipelining bool
	// tlsCipher and tlsVerified are X= and CV= once TLS is running.
	tlsCipher, tlsVerified string
	// inData is set once the destination has accepted DATA.
	inData bool
}

// errNoHost is returned when no host of a target could be reached.
var errNoHost = errors.New("cutthrough: no host reachable")

// Compatible reports whether t goes over the same transport, host and
// port as the connection (the condition for one connection to carry
// several recipients).
func (c *Conn) Compatible(t Target) bool {
	if t.Transport != c.Target.Transport || t.Interface != c.Target.Interface || len(t.Hosts) == 0 {
		return false
	}
	h := t.Hosts[0]
	return h.Addr == c.Host.Addr && h.Port == c.Host.Port
}

// Open routes rcpt, connects to its first reachable host, and sends
// EHLO, MAIL FROM:<sender> and RCPT TO:<rcpt>. It returns the RCPT's
// reply; the connection is nil unless that reply is 2xx (on any other
// reply it has been closed with QUIT). An error means there was no
// usable answer (not routable for cutthrough, no host reachable, an I/O
// error): cutthrough is then simply not done.
func (m *Manager) Open(ctx context.Context, vars map[string]string, sender, rcpt string) (*Conn, Reply, error) {
	if m == nil || m.Route == nil {
		return nil, Reply{}, errors.New("cutthrough: not configured")
	}
	t, ok := m.Route(vars, rcpt)
	if !ok {
		return nil, Reply{}, errors.New("cutthrough: not routed to an smtp transport")
	}
	return m.OpenTarget(ctx, t, sender, rcpt)
}

// OpenTarget is Open for an address already routed to t.
func (m *Manager) OpenTarget(ctx context.Context, t Target, sender, rcpt string) (*Conn, Reply, error) {
	var lastErr error = errNoHost
	for _, h := range t.Hosts {
		c, err := m.connect(ctx, t, h)
		if err != nil {
			lastErr = err
			continue
		}
		r, err := c.start(sender, rcpt)
		if err != nil {
			c.abort()
			return nil, Reply{}, err
		}
		if r.Class() != 2 {
			c.Close()
			r.Host = h
			return nil, r, nil
		}
		c.Recipients = append(c.Recipients, rcpt)
		return c, r, nil
	}
	return nil, Reply{}, lastErr
}

func (m *Manager) connect(ctx context.Context, t Target, h Host) (*Conn, error) {
	timeout := t.ConnectTimeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	remote := net.JoinHostPort(h.Addr, strconv.Itoa(h.Port))
	var nc net.Conn
	var err error
	if m.Dial != nil {
		nc, err = m.Dial(dctx, "tcp", t.Interface, remote)
	} else {
		d := net.Dialer{}
		if t.Interface != "" {
			d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(t.Interface)}
		}
		nc, err = d.DialContext(dctx, "tcp", remote)
	}
	if err != nil {
		return nil, fmt.Errorf("cutthrough: connecting to %s: %w", remote, err)
	}
	return &Conn{Target: t, Host: h, nc: nc, br: bufio.NewReader(nc)}, nil
}

// start reads the greeting and sends EHLO (HELO when refused), MAIL and
// the first RCPT, returning the RCPT's reply (or the reply that ended
// the dialogue before it).
func (c *Conn) start(sender, rcpt string) (Reply, error) {
	r, err := c.read()
	if err != nil {
		return r, err
	}
	if r.Class() != 2 {
		return r, nil
	}
	r, err = c.cmd("EHLO " + c.Target.Helo)
	if err == nil && r.Class() != 2 {
		r, err = c.cmd("HELO " + c.Target.Helo)
	} else if err == nil && c.Host.TLS && advertises(r, "STARTTLS") {
		if err := c.startTLS(c.Target.TLSRoots); err != nil {
			return Reply{}, err
		}
		r, err = c.cmd("EHLO " + c.Target.Helo)
	}
	if err == nil && r.Class() == 2 {
		c.pipelining = advertises(r, "PIPELINING")
	}
	if err != nil || r.Class() != 2 {
		return r, err
	}
	mail := "MAIL FROM:<" + sender + ">"
	rcptCmd := "RCPT TO:<" + rcpt + ">"
	if c.pipelining {
		// Exim sends MAIL and the first RCPT together when the server
		// pipelines (observed with Exim 4.96).
		if err := c.send(mail, rcptCmd); err != nil {
			return Reply{}, err
		}
		mr, err := c.read()
		if err != nil {
			return mr, err
		}
		rr, err := c.read()
		if err != nil || mr.Class() != 2 {
			return mr, err
		}
		return rr, nil
	}
	if r, err = c.cmd(mail); err != nil || r.Class() != 2 {
		return r, err
	}
	return c.cmd(rcptCmd)
}

// Add sends RCPT TO:<rcpt> on the connection and returns the reply; an
// accepted address joins Recipients.
func (c *Conn) Add(rcpt string) (Reply, error) {
	r, err := c.cmd("RCPT TO:<" + rcpt + ">")
	if err == nil && r.Class() == 2 {
		c.Recipients = append(c.Recipients, rcpt)
	}
	return r, err
}

// StartData sends DATA, as Exim does when its client sends DATA, and
// returns the reply; the message follows with Data once it has been
// received and accepted. A reply other than 3xx leaves the connection
// as it was.
func (c *Conn) StartData() (Reply, error) {
	r, err := c.cmd("DATA")
	if err == nil && r.Class() == 3 {
		c.inData = true
	}
	return r, err
}

// Data sends the message (header lines and body, lines ending in "\n"
// or "\r\n", without the final dot), after DATA when StartData has not
// sent it, and returns the destination's reply to the data. The
// connection is closed with QUIT afterwards, whatever the outcome.
func (c *Conn) Data(msg []byte) (Reply, error) {
	defer c.Close()
	if !c.inData {
		r, err := c.StartData()
		if err != nil || r.Class() != 3 {
			return r, err
		}
	}
	timeout := c.Target.DataTimeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	c.nc.SetWriteDeadline(time.Now().Add(timeout))
	w := bufio.NewWriter(c.nc)
	if err := writeDotStuffed(w, msg); err != nil {
		return Reply{}, fmt.Errorf("cutthrough: sending data: %w", err)
	}
	if err := w.Flush(); err != nil {
		return Reply{}, fmt.Errorf("cutthrough: sending data: %w", err)
	}
	return c.readTimeout(timeout)
}

// Close ends the connection with QUIT (waiting briefly for the reply).
// Inside the data, where the destination would take it as message
// text, QUIT is sent all the same and the connection closed at once,
// as Exim does when its client's message is refused after DATA.
func (c *Conn) Close() {
	if c == nil || c.nc == nil {
		return
	}
	if err := c.send("QUIT"); err == nil && !c.inData {
		c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		readReply(c.br)
	}
	c.abort()
}

// abort closes the connection without QUIT.
func (c *Conn) abort() {
	if c.nc != nil {
		c.nc.Close()
		c.nc = nil
	}
}

func (c *Conn) send(lines ...string) error {
	c.nc.SetWriteDeadline(time.Now().Add(c.commandTimeout()))
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l + "\r\n")
	}
	if _, err := c.nc.Write([]byte(b.String())); err != nil {
		return fmt.Errorf("cutthrough: sending %s: %w", strings.Fields(lines[0])[0], err)
	}
	return nil
}

func (c *Conn) read() (Reply, error) { return c.readTimeout(c.commandTimeout()) }

func (c *Conn) commandTimeout() time.Duration {
	if c.Target.CommandTimeout > 0 {
		return c.Target.CommandTimeout
	}
	return 5 * time.Minute
}

func (c *Conn) readTimeout(timeout time.Duration) (Reply, error) {
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	c.nc.SetReadDeadline(time.Now().Add(timeout))
	r, err := readReply(c.br)
	c.inData = false
	if err != nil {
		return r, fmt.Errorf("cutthrough: reading reply from %s [%s]: %w", c.Host.Name, c.Host.Addr, err)
	}
	return r, nil
}

func (c *Conn) cmd(line string) (Reply, error) {
	if err := c.send(line); err != nil {
		return Reply{}, err
	}
	return c.read()
}

// advertises reports whether an EHLO reply lists the extension.
func advertises(r Reply, ext string) bool {
	for _, l := range r.Lines[min(1, len(r.Lines)):] {
		if f := strings.Fields(l); len(f) > 0 && strings.EqualFold(f[0], ext) {
			return true
		}
	}
	return false
}

// Where is the part of a log line that says where the message went
// and what the destination answered: `R=router T=transport H=name [ip]
// C="reply"` (specification chapter "Log files", section "Logging
// deliveries"; a multi-line reply has its line ends as "\n").
func (c *Conn) Where(r Reply) string {
	conf := strings.ReplaceAll(r.Text(), "\n", `\n`)
	tls := ""
	if c.tlsCipher != "" {
		tls = " X=" + c.tlsCipher + " CV=" + c.tlsVerified
	}
	return fmt.Sprintf("R=%s T=%s H=%s [%s]%s C=\"%s\"", c.Target.Router, c.Target.Transport, c.Host.Name, c.Host.Addr, tls, conf)
}

// DeliveryLines are the ">>" log lines of a delivery through the
// connection that r confirmed, without time stamps: one per recipient,
// the last recipient first (observed with Exim 4.96).
func (c *Conn) DeliveryLines(id string, r Reply) []string {
	out := make([]string, 0, len(c.Recipients))
	for i := len(c.Recipients) - 1; i >= 0; i-- {
		out = append(out, fmt.Sprintf("%s >> %s %s", id, c.Recipients[i], c.Where(r)))
	}
	return out
}
