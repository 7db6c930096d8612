// The smtp transport (Exim specification chapter "The smtp transport").

package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/exigo-mta/exigo/internal/auth"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/lists"
	"github.com/exigo-mta/exigo/internal/localhost"
	"github.com/exigo-mta/exigo/internal/strerror"
)

// smtpTransport is an smtp (or, with protocol = lmtp, an LMTP-over-TCP)
// transport instance.
type smtpTransport struct {
	*generic
	clients []*auth.Client
	lmtp    bool
	// localLMTP is set for the lmtp transport (socket or command).
	localLMTP bool
	// local are the local host's addresses (package localhost).
	local []netip.Addr
}

func newSMTP(g *generic) (*smtpTransport, error) {
	s := &smtpTransport{generic: g, clients: auth.NewClients(g.cfg)}
	s.lmtp = g.opts.String("protocol") == "lmtp"
	li := localhost.DefaultInterfaces
	if g.cfg.Main.IsSet("local_interfaces") {
		li = g.cfg.Main.String("local_interfaces")
	}
	s.local = localhost.Interfaces(li, g.cfg.Main.String("extra_local_interfaces"), localhost.Machine())
	return s, nil
}

// Local implements Transport.
func (s *smtpTransport) Local() bool { return false }

// rcptState is the progress of one address.
type rcptState struct {
	res  Result
	done bool // final result reached (OK or Fail)
}

// Deliver implements Transport: the router's hosts (or hosts, or
// fallback_hosts) are tried in order; addresses that get a temporary
// error on one host are tried on the next.
func (s *smtpTransport) Deliver(ctx context.Context, d *Delivery) (rs []Result) {
	e := s.newEnv(d)
	defer func() { noteReturnPath(e, rs) }()
	st := make([]rcptState, len(d.Addresses))
	for i, a := range d.Addresses {
		st[i].res = Result{Address: a.Address, Status: Defer, Message: "no host tried"}
	}
	if r := s.sizeLimit(e, d, d.BodySize); r != nil {
		return results(d, *r)
	}
	if r := s.applyReturnPath(e); r != nil {
		return results(d, *r)
	}
	hosts, err := s.hostList(e, d, "hosts")
	if err != nil {
		return results(d, deferErr(err))
	}
	if len(hosts) == 0 {
		// Observed with Exim 4.96 (which logs it to the panic log too).
		return results(d, Result{Status: Defer, Errno: -1, Panic: true, Message: fmt.Sprintf("%s transport called with no hosts set", s.name)})
	}
	// Hosts from the transport's own hosts option (not the router's)
	// are checked for the local host.
	own := len(d.Hosts) == 0 || s.opts.Bool("hosts_override")
	maxTry, _ := s.opts.Int("hosts_max_try")
	tried := 0
	for _, h := range hosts {
		if !s.anyPending(st) || ctx.Err() != nil {
			break
		}
		if maxTry > 0 && tried >= int(maxTry) {
			break
		}
		logHostErr(d, st)
		if own && s.refuseLocal(e, h, st) {
			return resultsOf(st)
		}
		tried++
		s.tryHost(ctx, e, d, h, st)
	}
	if s.anyPending(st) {
		fb, _ := s.hostList(e, &Delivery{}, "fallback_hosts")
		for _, h := range fb {
			if !s.anyPending(st) {
				break
			}
			logHostErr(d, st)
			if s.refuseLocal(e, h, st) {
				break
			}
			s.tryHost(ctx, e, d, h, st)
		}
	}
	return resultsOf(st)
}

// logHostErr logs, before the next host is tried, the connection error
// (a system errno such as "Connection refused") that the open addresses
// of st got from the host tried last, on a line of its own, as Exim
// 4.96 does for every host it fails to reach ("H=name [ip] Connection
// refused"). The error of the last host tried is logged by the caller
// from the results.
func logHostErr(d *Delivery, st []rcptState) {
	for _, x := range st {
		if x.done || x.res.Errno <= 0 || x.res.Host == "" {
			continue
		}
		d.log("H=" + x.res.Host + " [" + x.res.HostAddr + "] " + x.res.Message)
		return
	}
}

// resultsOf returns the results of st.
func resultsOf(st []rcptState) []Result {
	out := make([]Result, len(st))
	for i := range st {
		out[i] = st[i].res
	}
	return out
}

// refuseLocal defers every open address of st and reports true when h,
// from the transport's hosts or fallback_hosts, is the local host and
// allow_localhost is not set (spec chapter "The smtp transport",
// allow_localhost; the local host as in chapter "Starting the daemon and
// the use of network interfaces", section "Recognizing the local host").
// Exim 4.96 stops there, without trying the hosts after it, and logs
// "defer (-50): T transport found host H to be local".
func (s *smtpTransport) refuseLocal(e *env, h Host, st []rcptState) bool {
	if s.opts.Bool("allow_localhost") || !s.isLocalHost(e, h) {
		return false
	}
	hostErr(st, Host{}, 25, Result{Status: Defer, Errno: ErrnoHostIsLocal, Message: fmt.Sprintf("%s transport found host %s to be local", s.name, h.Name)})
	return true
}

// isLocalHost reports whether h is the local host: one of its addresses
// is local, or hosts_treat_as_local matches its name.
func (s *smtpTransport) isLocalHost(e *env, h Host) bool {
	if localhost.Contains(s.local, h.Addr) {
		return true
	}
	list := s.cfg.Main.String("hosts_treat_as_local")
	if list == "" || h.Name == "" {
		return false
	}
	if e.ctx.Lists != nil {
		ok, _, err := e.ctx.Lists.MatchList("domain", list, h.Name)
		return err == nil && ok
	}
	m, err := lists.MatchDomain(&lists.Env{Expand: e.expand, PrimaryHostname: s.cfg.Main.String("primary_hostname"), Interfaces: s.local}, list, h.Name)
	return err == nil && m.Matched
}
func (s *smtpTransport) anyPending(st []rcptState) bool {
	for _, x := range st {
		if !x.done {
			return true
		}
	}
	return false
}

// hostList returns the hosts to try: the router's unless hosts_override
// (or there are none), then the option's list. Host names in the option
// are resolved with the system resolver.
func (s *smtpTransport) hostList(e *env, d *Delivery, opt string) ([]Host, error) {
	if opt == "hosts" && len(d.Hosts) > 0 && !s.opts.Bool("hosts_override") {
		return d.Hosts, nil
	}
	raw := s.opts.String(opt)
	if raw == "" {
		return nil, nil
	}
	v := raw
	if opt == "hosts" {
		var err error
		if v, err = e.expand(raw); err != nil {
			return nil, fmt.Errorf("failed to expand hosts \"%s\" in %s transport: %w", raw, s.name, err)
		}
	}
	var out []Host
	for _, item := range splitList(v, ':') {
		name, port := item, 0
		if strings.HasPrefix(item, "[") {
			if j := strings.Index(item, "]"); j > 0 {
				name = item[1:j]
				if p, err := strconv.Atoi(strings.TrimPrefix(item[j+1:], ":")); err == nil {
					port = p
				}
			}
		} else if j := strings.LastIndexByte(item, ':'); j > 0 && net.ParseIP(item) == nil {
			if p, err := strconv.Atoi(item[j+1:]); err == nil {
				name, port = item[:j], p
			}
		}
		if ip := net.ParseIP(name); ip != nil {
			out = append(out, Host{Name: name, Addr: name, Port: port, MX: -1})
			continue
		}
		addrs, err := net.LookupHost(name)
		if err != nil || len(addrs) == 0 {
			continue
		}
		for _, a := range addrs {
			out = append(out, Host{Name: name, Addr: a, Port: port, MX: -1})
		}
	}
	return out, nil
}

// matchHosts matches h against a host list option.
func (s *smtpTransport) matchHosts(e *env, opt string, h Host) bool {
	raw := s.opts.String(opt)
	if raw == "" {
		return false
	}
	v, err := e.expand(raw)
	if err != nil || v == "" {
		return false
	}
	if v == "*" {
		return true
	}
	if e.ctx.Lists != nil {
		ok, _, err := e.ctx.Lists.MatchList("host", v, h.Addr)
		if err == nil {
			return ok
		}
	}
	for _, item := range splitList(v, ':') {
		neg := strings.HasPrefix(item, "!")
		item = strings.TrimPrefix(item, "!")
		if item == "*" || item == h.Addr || strings.EqualFold(item, h.Name) {
			return !neg
		}
	}
	return false
}

// port is the port for h: its own, else the port option.
func (s *smtpTransport) port(e *env, h Host) (int, error) {
	if h.Port > 0 {
		return h.Port, nil
	}
	v, err := s.expandOpt(e, "port")
	if err != nil {
		return 0, err
	}
	switch v {
	case "", "smtp":
		if s.lmtp {
			return 24, nil
		}
		return 25, nil
	case "lmtp":
		return 24, nil
	case "submission":
		return 587, nil
	case "smtps":
		return 465, nil
	}
	if n, err := strconv.Atoi(v); err == nil {
		return n, nil
	}
	if n, err := net.LookupPort("tcp", v); err == nil {
		return n, nil
	}
	return 0, fmt.Errorf("TCP port \"%s\" is not defined for %s transport", v, s.name)
}

// hostErr sets a result on every address still open.
func hostErr(st []rcptState, h Host, port int, r Result) {
	for i := range st {
		if st[i].done {
			continue
		}
		x := r
		x.Address = st[i].res.Address
		x.Host, x.HostAddr = h.Name, h.Addr
		if port != 25 {
			x.Port = port
		}
		st[i].res = x
		if x.Status != Defer {
			st[i].done = true
		}
	}
}

// netResult turns a network error into a result.
func netResult(err error, after string) Result {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		r := Result{Status: Defer, Errno: int(errno), Err: err, Message: strerror.Text(err)}
		if errno == syscall.ECONNREFUSED {
			r.ErrCode = ErrRefused
		}
		return r
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		if after == "" {
			return Result{Status: Defer, Errno: int(syscall.ETIMEDOUT), ErrCode: ErrTimeout, Err: err, Message: "Connection timed out"}
		}
		return Result{Status: Defer, Errno: int(syscall.ETIMEDOUT), ErrCode: ErrTimeout, Err: err, Message: "SMTP timeout after " + after}
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return Result{Status: Defer, Errno: ErrnoSMTPClosed, ErrCode: ErrLost, Err: err, Message: "Remote host closed connection in response to " + after}
	}
	return Result{Status: Defer, Err: err, Message: err.Error()}
}

// ErrnoSMTPClosed and the reply errnos are Exim's numbers for SMTP
// failures.
const (
	ErrnoSMTPClosed = -18
	ErrnoRcpt4xx    = -44
	ErrnoMail4xx    = -45
	ErrnoData4xx    = -46
)

// replyResult is the result of an unwanted reply to a command.
func (s *smtpTransport) replyResult(r *Reply, after string, errno int, code string) Result {
	msg := "SMTP error from remote mail server after " + after + ": " + r.Text()
	if s.localLMTP {
		msg = "LMTP error after " + after + ": " + r.Text()
	}
	if r.Class() == 5 {
		return Result{Status: Fail, Message: msg}
	}
	return Result{Status: Defer, Errno: errno, ErrCode: code, Message: msg}
}

// hostReply is replyResult for a reply to MAIL or to the data (errno
// and code say which). A 4xx there is also an error of the host's that
// Exim logs on a line of its own, from its transport process, once it
// has read the replies it waits for: with -v, showHostLine shows that
// line there, and the Result says it is shown.
func (s *smtpTransport) hostReply(c *smtpConn, r *Reply, after string, errno int, code string) Result {
	x := s.replyResult(r, after, errno, code)
	if x.Status == Defer && c.trace != nil && !s.localLMTP {
		x.HostLineShown = true
	}
	return x
}

// showHostLine shows the host's line of a hostReply result for -v.
func showHostLine(c *smtpConn, x Result) {
	if x.HostLineShown {
		c.trace.show("LOG: MAIN\n  H=" + c.host.Name + " [" + c.host.Addr + "]: " + x.Message + "\n")
	}
}

// authExpander expands authenticator options in the delivery context.
type authExpander struct{ e *env }

func (a authExpander) Expand(s string, vars []string) (string, error) {
	ctx := a.e.ctx
	ctx.Vars = authVarsOverlay{vars: vars, next: ctx.Vars}
	return expand.String(s, &ctx)
}

type authVarsOverlay struct {
	vars []string
	next expand.Vars
}

func (o authVarsOverlay) Var(name string) (string, bool) {
	if strings.HasPrefix(name, "auth") && len(name) == 5 {
		if n := int(name[4] - '0'); n >= 1 && n <= 4 {
			if n <= len(o.vars) {
				return o.vars[n-1], true
			}
			return "", true
		}
	}
	if o.next == nil {
		return "", false
	}
	return o.next.Var(name)
}

// messageSize is the size of the message as sent (CRLF line ends),
// without DKIM signatures: Exim's SIZE= does not count them.
func (s *smtpTransport) messageSize(d *Delivery, wo writeOpts) int64 {
	wo.dot = false
	wo.sigs = ""
	n, _ := writeMessage(io.Discard, d, &wo)
	return n
}

// osHostname is used when primary_hostname is unset.
var _ = os.Hostname
