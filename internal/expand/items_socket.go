package expand

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/exigo-mta/exigo/internal/lists"
	"github.com/exigo-mta/exigo/internal/strerror"
)

// readsocketNode is ${readsocket{spec}{request}{options}{eol}{fail}}.
// Spec: "Expansion items", ${readsocket...}.
type readsocketNode struct {
	args []node
	// closeErr is set when the item's closing "}" is missing at the top
	// level of a string: Exim talks to the socket before it notices, so the
	// socket's own error, if any, comes first.
	closeErr error
}

func parseReadsocket(p *parser, name string) (node, error) {
	var args []node
	for len(args) < 5 {
		n, ok, err := p.parseArg()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		args = append(args, n)
	}
	if len(args) < 2 {
		return nil, errorf("Not enough arguments for '%s' (min is 2)", name)
	}
	p.skipSpace()
	if p.eof() || p.peek() != '}' {
		err := errorf("missing '}' closing %s", name)
		if p.depth > 1 {
			return nil, err
		}
		p.pos = len(p.src)
		return &readsocketNode{args: args, closeErr: err}, nil
	}
	p.pos++
	return &readsocketNode{args: args}, nil
}

// socketOptions are the options of ${readsocket}'s third argument.
type socketOptions struct {
	timeout  time.Duration
	shutdown bool
	tls      bool
	cache    bool
}

// parseSocketOptions reads "timeout:name=value:...". Options Exim does not
// know are ignored, as Exim ignores them.
func parseSocketOptions(s string) (socketOptions, error) {
	o := socketOptions{timeout: 5 * time.Second, shutdown: true}
	first := true
	for _, item := range lists.Split(s, ':') {
		if first {
			first = false
			d, ok := readTime(item)
			if !ok {
				return o, errorf("bad time value %s", item)
			}
			o.timeout = d
			continue
		}
		name, val, _ := strings.Cut(item, "=")
		yes := val == "yes"
		switch name {
		case "shutdown":
			o.shutdown = val != "no"
		case "tls":
			o.tls = yes
		case "cache":
			o.cache = yes
		}
	}
	return o, nil
}

// readTime reads an Exim time value: a sequence of numbers each followed
// by an optional unit (s, m, h, d, w).
// Spec: chapter "The Exim runtime configuration file", "Time interval
// settings".
func readTime(s string) (time.Duration, bool) {
	if s == "" {
		return 0, false
	}
	var total time.Duration
	for s != "" {
		i := 0
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == 0 || i > 9 {
			return 0, false
		}
		n, _ := strconv.Atoi(s[:i])
		d := time.Duration(n) * time.Second
		s = s[i:]
		if s != "" {
			switch s[0] {
			case 's':
			case 'm':
				d *= 60
			case 'h':
				d *= 3600
			case 'd':
				d *= 86400
			case 'w':
				d *= 7 * 86400
			default:
				return 0, false
			}
			s = s[1:]
		}
		total += d
	}
	return total, true
}

func (n *readsocketNode) eval(st *state, b *[]byte) error {
	a, err := st.strArgs(n.args[:2])
	if err != nil {
		return err
	}
	spec, req := a[0], a[1]
	opts := "5s"
	if len(n.args) > 2 {
		if opts, err = st.str(n.args[2]); err != nil {
			return err
		}
	}
	var eol *string
	if len(n.args) > 3 {
		s, err := st.str(n.args[3])
		if err != nil {
			return err
		}
		eol = &s
	}
	if st.ctx.Forbid.ReadSocket {
		return errorf("socket insertions are not permitted")
	}
	res, err := st.readSocket(spec, req, opts)
	if err != nil {
		if len(n.args) < 5 {
			return err
		}
		res, err = st.str(n.args[4])
		if err != nil {
			return err
		}
	} else if eol != nil && *eol != "" {
		res = strings.ReplaceAll(res, "\n", *eol)
	}
	if n.closeErr != nil {
		return n.closeErr
	}
	*b = append(*b, res...)
	return nil
}

// readSocket connects to a unix socket or "inet:host:port", sends the
// request and reads the reply until end of file.
func (st *state) readSocket(spec, req, optText string) (string, error) {
	o, err := parseSocketOptions(optText)
	if err != nil {
		return "", err
	}
	if o.cache && st.ctx.SocketCache == nil {
		st.ctx.SocketCache = &SocketCache{}
	}
	cache := st.ctx.SocketCache
	if o.cache {
		if r, ok := cache.get(spec, req); ok {
			return r, nil
		}
	} else {
		cache.invalidate(spec)
	}
	deadline := time.Now().Add(o.timeout)
	var conn net.Conn
	if rest, ok := strings.CutPrefix(spec, "inet:"); ok {
		conn, err = dialInet(rest, deadline)
	} else {
		d := net.Dialer{Deadline: deadline}
		conn, err = d.Dial("unix", spec)
		if err != nil {
			return "", errorf("failed to connect to socket %s: %s", spec, strerror.Text(err))
		}
	}
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(deadline)
	if o.tls {
		tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true})
		if err := tc.Handshake(); err != nil {
			return "", errorf("TLS connect failed: %s", err)
		}
		conn = tc
	}
	if req != "" {
		if _, err := io.WriteString(conn, req); err != nil {
			return "", errorf("request write to socket failed: %s", strerror.Text(err))
		}
	}
	if o.shutdown && !o.tls {
		type closeWriter interface{ CloseWrite() error }
		if cw, ok := conn.(closeWriter); ok {
			cw.CloseWrite()
		}
	}
	data, err := io.ReadAll(conn)
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return "", errorf("socket read timed out")
		}
		// Exim keeps what it read when a read fails otherwise.
	}
	res := string(data)
	if o.cache {
		cache.put(spec, req, res)
	}
	return res, nil
}

// dialInet connects to "host:port" (the host may be in brackets), trying
// each address of the host in turn.
func dialInet(hp string, deadline time.Time) (net.Conn, error) {
	i := strings.LastIndexByte(hp, ':')
	if i < 0 {
		return nil, errorf("")
	}
	host, portText := hp[:i], hp[i+1:]
	port, err := strconv.Atoi(portText)
	if err != nil {
		port, err = net.LookupPort("tcp", portText)
		if err != nil {
			return nil, errorf("")
		}
	}
	name := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	var ips []string
	if net.ParseIP(name) != nil {
		ips = []string{name}
	} else {
		ips, err = net.LookupHost(name)
		if err != nil || len(ips) == 0 {
			return nil, errorf("no IP address found for host %s", host)
		}
	}
	var last error
	for _, ip := range ips {
		d := net.Dialer{Deadline: deadline}
		c, err := d.Dial("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err == nil {
			return c, nil
		}
		last = err
	}
	return nil, errorf("failed to connect to any address for %s: %s", host, strerror.Text(last))
}
