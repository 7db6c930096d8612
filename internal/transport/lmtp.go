// The lmtp transport: LMTP to a local socket or to a command's standard
// input and output (Exim specification chapter "The lmtp transport";
// RFC 2033).

package transport

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/exigo-mta/exigo/internal/strerror"
)

// lmtpTransport is an lmtp transport instance.
type lmtpTransport struct {
	*smtpTransport
}

func newLMTP(g *generic) (*lmtpTransport, error) {
	if g.opts.IsSet("socket") == g.opts.IsSet("command") {
		return nil, cfgErr(g, "one (and only one) of command or socket must be set for the "+g.name+" transport")
	}
	s := &smtpTransport{generic: g, lmtp: true, localLMTP: true}
	if err := g.withShadow(); err != nil {
		return nil, err
	}
	return &lmtpTransport{smtpTransport: s}, nil
}

// Local implements Transport.
func (l *lmtpTransport) Local() bool { return true }

// Credentials returns the uid and gid the delivery runs as.
func (l *lmtpTransport) Credentials(d *Delivery) (Cred, error) {
	c, r := l.credentials(l.newEnv(d), d)
	if r != nil {
		return c, errors.New(r.Message)
	}
	return c, nil
}

// Deliver implements Transport: one LHLO, MAIL, RCPTs and DATA, then one
// reply per accepted recipient.
func (l *lmtpTransport) Deliver(ctx context.Context, d *Delivery) []Result {
	e := l.newEnv(d)
	st := make([]rcptState, len(d.Addresses))
	for i, a := range d.Addresses {
		st[i].res = Result{Address: a.Address, Status: Defer}
	}
	cred, r := l.credentials(e, d)
	if r != nil {
		return results(d, *r)
	}
	if r := l.sizeLimit(e, d, d.BodySize); r != nil {
		return results(d, *r)
	}
	c, cmd, r2 := l.connect(ctx, e, cred)
	if r2 != nil {
		return results(d, *r2)
	}
	c.timeout = l.opts.Duration("timeout")
	c.trace = newLMTPTrace(d.Trace)
	h := Host{Name: "localhost", Addr: "127.0.0.1", MX: -1}
	if r, _ := l.open(e, d, c, h, nil, true); r != nil {
		c.close()
		if cmd != nil {
			cmd.Wait()
		}
		return results(d, *r)
	}
	batch := make([]int, len(st))
	for i := range batch {
		batch[i] = i
	}
	if l.transaction(e, d, c, h, 25, st, batch, func() bool { return false }) {
		c.cmd("QUIT")
	}
	c.close()
	if cmd != nil {
		cmd.Wait()
	}
	out := make([]Result, len(st))
	for i := range st {
		out[i] = st[i].res
		out[i].Host, out[i].HostAddr, out[i].TLSCipher = "", "", ""
	}
	return l.runShadow(ctx, e, d, out)
}

// connect opens the socket or starts the command.
func (l *lmtpTransport) connect(ctx context.Context, e *env, cred Cred) (*smtpConn, *exec.Cmd, *Result) {
	if l.opts.IsSet("socket") {
		path, err := l.expandOpt(e, "socket")
		if err != nil {
			x := deferErr(err)
			return nil, nil, &x
		}
		nc, err := (&net.Dialer{}).DialContext(ctx, "unix", path)
		if err != nil {
			x := Result{Status: Defer, Err: err, Errno: strerror.Errno(err), Message: fmt.Sprintf("failed to connect to socket %s for %s transport: %s", path, l.name, strerror.Text(err))}
			return nil, nil, &x
		}
		return &smtpConn{nc: nc, r: bufio.NewReader(nc), w: bufio.NewWriter(nc)}, nil, nil
	}
	args, err := splitCommand(l.opts.String("command"))
	if err != nil || len(args) == 0 {
		x := Result{Status: Defer, Message: fmt.Sprintf("bad command for %s transport", l.name)}
		return nil, nil, &x
	}
	for i, a := range args {
		v, err := e.expand(a)
		if err != nil {
			x := Result{Status: Defer, Err: err, Message: fmt.Sprintf("Expansion of \"%s\" from command \"%s\" in %s transport failed: %s", a, l.opts.String("command"), l.name, err)}
			return nil, nil, &x
		}
		args[i] = v
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		x := deferErr(err)
		return nil, nil, &x
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		x := deferErr(err)
		return nil, nil, &x
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout = inR, outW
	attr := &syscall.SysProcAttr{Setpgid: true}
	if os.Geteuid() == 0 && cred.UID != 0 {
		attr.Credential = &syscall.Credential{Uid: uint32(cred.UID), Gid: uint32(cred.GID), Groups: []uint32{}}
	}
	cmd.SysProcAttr = attr
	if err := cmd.Start(); err != nil {
		inR.Close()
		inW.Close()
		outR.Close()
		outW.Close()
		x := Result{Status: Defer, Err: err, Message: fmt.Sprintf("Failed to create child process for %s transport: %s", l.name, err)}
		return nil, nil, &x
	}
	inR.Close()
	outW.Close()
	nc := &pipeConn{r: outR, w: inW}
	return &smtpConn{nc: nc, r: bufio.NewReader(nc), w: bufio.NewWriter(nc)}, cmd, nil
}

// pipeConn is a net.Conn over a command's standard output (read) and
// standard input (write); os pipes support deadlines.
type pipeConn struct{ r, w *os.File }

func (p *pipeConn) Read(b []byte) (int, error)  { return p.r.Read(b) }
func (p *pipeConn) Write(b []byte) (int, error) { return p.w.Write(b) }
func (p *pipeConn) Close() error {
	p.w.Close()
	return p.r.Close()
}
func (p *pipeConn) LocalAddr() net.Addr  { return pipeAddr{} }
func (p *pipeConn) RemoteAddr() net.Addr { return pipeAddr{} }
func (p *pipeConn) SetDeadline(t time.Time) error {
	p.r.SetReadDeadline(t)
	return p.w.SetWriteDeadline(t)
}
func (p *pipeConn) SetReadDeadline(t time.Time) error  { return p.r.SetReadDeadline(t) }
func (p *pipeConn) SetWriteDeadline(t time.Time) error { return p.w.SetWriteDeadline(t) }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }
