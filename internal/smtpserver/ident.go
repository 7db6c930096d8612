package smtpserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/lists"
	"github.com/exigo-mta/exigo/internal/mainlog"
)

// RFC 1413 identification at connection time. Exim specification chapter
// "Main configuration", options rfc1413_hosts and rfc1413_query_timeout:
// when the timeout is not zero and the client matches rfc1413_hosts, the
// server connects from its own address to the client's port 113, asks
// "CLIENTPORT , SERVERPORT" and takes the user id of a
// "CLIENTPORT , SERVERPORT : USERID : OS : user" reply as $sender_ident.
// What Exim 4.96 does with odd replies was observed by running it:
//
//   - The reply is read into what is left of a 2048-byte buffer after the
//     query, until a newline; a reply that fills it without one, that
//     ends before one, or that takes longer than the timeout gives no
//     identity. Only the first line counts; a NUL before its newline
//     spoils it; one carriage return before the newline is dropped.
//   - The ports are decimal numbers as C's %d reads them (leading white
//     space, a sign, leading zeros) and must be the ones asked about;
//     "USERID" is matched case-sensitively; the OS field may be empty and
//     may hold a character set ("UNIX,US-ASCII").
//   - The user id is the rest of the line after leading white space, kept
//     with colons and trailing spaces, cut to 127 bytes, then made
//     printable (see identPrintable); an empty one gives no identity.

const (
	// identPort is the ident service's port (RFC 1413).
	identPort = 113
	// identBuffer is the size of the buffer that holds the query and
	// then the reply: the reply may use what the query leaves.
	identBuffer = 2048
	// identUserMax is the longest user id kept, in bytes.
	identUserMax = 127
)

// identQuery is the query for a connection from clientPort to serverPort.
func identQuery(clientPort, serverPort int) string {
	return fmt.Sprintf("%d , %d\r\n", clientPort, serverPort)
}

// ParseIdentReply parses an RFC 1413 reply (the bytes read up to and
// including the first newline, or fewer) to a query about clientPort and
// serverPort. It returns the user id as Exim keeps it (cut to 127 bytes,
// not yet made printable) and whether the reply gave one. ERROR replies,
// replies about other ports and malformed replies give none.
func ParseIdentReply(reply []byte, clientPort, serverPort int) (string, bool) {
	nl := bytes.IndexByte(reply, '\n')
	if nl < 0 {
		return "", false
	}
	line := reply[:nl]
	if bytes.IndexByte(line, 0) >= 0 {
		return "", false
	}
	line = bytes.TrimSuffix(line, []byte{'\r'})
	p := identParser{b: line}
	if !p.port(clientPort) || !p.lit(",") || !p.port(serverPort) || !p.lit(":") || !p.lit("USERID") || !p.lit(":") {
		return "", false
	}
	// The OS field (with an optional ",charset") runs to the next colon.
	i := bytes.IndexByte(p.b, ':')
	if i < 0 {
		return "", false
	}
	p.b = p.b[i+1:]
	p.space()
	user := p.b
	if len(user) == 0 {
		return "", false
	}
	if len(user) > identUserMax {
		user = user[:identUserMax]
	}
	return string(user), true
}

// identParser reads the fixed part of an ident reply.
type identParser struct{ b []byte }

// isCSpace is C's isspace.
func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func (p *identParser) space() {
	for len(p.b) > 0 && isCSpace(p.b[0]) {
		p.b = p.b[1:]
	}
}

// lit skips white space and then s.
func (p *identParser) lit(s string) bool {
	p.space()
	if !bytes.HasPrefix(p.b, []byte(s)) {
		return false
	}
	p.b = p.b[len(s):]
	return true
}

// port reads a decimal number as %d does and reports whether it is want.
func (p *identParser) port(want int) bool {
	p.space()
	neg := false
	if len(p.b) > 0 && (p.b[0] == '+' || p.b[0] == '-') {
		neg = p.b[0] == '-'
		p.b = p.b[1:]
	}
	n, digits := 0, 0
	for len(p.b) > 0 && p.b[0] >= '0' && p.b[0] <= '9' {
		if n < 1<<20 {
			n = n*10 + int(p.b[0]-'0')
		}
		digits++
		p.b = p.b[1:]
	}
	if digits == 0 {
		return false
	}
	if neg {
		n = -n
	}
	return n == want
}

// identPrintable makes a user id printable as Exim shows it in
// $sender_ident, the log and the spool: tabs stay, backspace, form feed,
// carriage return and vertical tab become \b \f \r \v, other control
// characters and bytes from 0x7f up become three-digit octal escapes.
func identPrintable(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\t' || c >= 0x20 && c < 0x7f:
			b.WriteByte(c)
		case c == '\b':
			b.WriteString(`\b`)
		case c == '\f':
			b.WriteString(`\f`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\v':
			b.WriteString(`\v`)
		default:
			fmt.Fprintf(&b, "\\%03o", c)
		}
	}
	return b.String()
}

// errIdentConnectTimeout is a connection to the ident port that did not
// complete within the timeout.
var errIdentConnectTimeout = errors.New("ident connection timed out")

// errIdentTooLong is a reply that filled the buffer without a newline.
var errIdentTooLong = errors.New("ident reply too long")

// LookupIdent asks the ident service of remote (the client's address
// and port) about the connection from remote to local, connecting from
// local's address, within timeout for the whole exchange. It returns the
// printable user id, or "" with the reason when there is none.
func LookupIdent(ctx context.Context, timeout time.Duration, local, remote netip.AddrPort) (string, error) {
	return queryIdent(ctx, timeout, netip.AddrPortFrom(local.Addr(), 0).String(),
		netip.AddrPortFrom(remote.Addr(), identPort).String(), int(remote.Port()), int(local.Port()))
}

// queryIdent connects from localAddr to the ident service at identAddr,
// asks about clientPort and serverPort and reads the reply, all within
// timeout; the reply is read into a bounded buffer (see identBuffer).
func queryIdent(ctx context.Context, timeout time.Duration, localAddr, identAddr string, clientPort, serverPort int) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	la, err := net.ResolveTCPAddr("tcp", localAddr)
	if err != nil {
		return "", fmt.Errorf("ident local address: %w", err)
	}
	d := net.Dialer{LocalAddr: la}
	c, err := d.DialContext(ctx, "tcp", identAddr)
	if err != nil {
		if ne := net.Error(nil); ctx.Err() != nil || errors.As(err, &ne) && ne.Timeout() {
			return "", errIdentConnectTimeout
		}
		return "", fmt.Errorf("ident connection: %w", err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	q := identQuery(clientPort, serverPort)
	if _, err := c.Write([]byte(q)); err != nil {
		return "", fmt.Errorf("ident query: %w", err)
	}
	buf := make([]byte, identBuffer-len(q))
	n := 0
	for bytes.IndexByte(buf[:n], '\n') < 0 {
		if n == len(buf) {
			return "", errIdentTooLong
		}
		m, err := c.Read(buf[n:])
		n += m
		if err != nil && bytes.IndexByte(buf[:n], '\n') < 0 {
			return "", fmt.Errorf("ident reply: %w", err)
		}
	}
	user, ok := ParseIdentReply(buf[:n], clientPort, serverPort)
	if !ok {
		return "", fmt.Errorf("ident reply %q not understood", strings.TrimRight(string(buf[:n]), "\r\n"))
	}
	return identPrintable(user), nil
}

// identTimeout is rfc1413_query_timeout; 0 means no queries.
func (s *session) identTimeout() time.Duration {
	t, ok := config.ParseTime(strings.TrimSpace(s.srv.Config.Main.String("rfc1413_query_timeout")))
	if !ok || t <= 0 {
		return 0
	}
	return t
}

// ident makes the RFC 1413 call for a real connection (never in -bh or
// -bs) when rfc1413_query_timeout is set and the client matches
// rfc1413_hosts, and sets $sender_ident and $sender_rcvhost.
func (s *session) ident() {
	if s.conn == nil || s.srv.HostChecking || !s.peer.Addr.IsValid() || !s.peer.LocalAddr.IsValid() {
		return
	}
	d := s.identTimeout()
	if d <= 0 {
		return
	}
	list := s.srv.Config.Main.String("rfc1413_hosts")
	if list == "" {
		return
	}
	if m, err := lists.MatchHost(s.listEnv(), list, &lists.Host{IP: s.peer.Addr, NameLookedUp: true}); err != nil || !m.Matched {
		return
	}
	user, err := LookupIdent(s.ctx, d, netip.AddrPortFrom(s.peer.LocalAddr, uint16(s.peer.LocalPort)), netip.AddrPortFrom(s.peer.Addr, uint16(s.peer.Port)))
	if errors.Is(err, errIdentConnectTimeout) && s.ctx.Err() == nil {
		// Only a connection that times out is logged, with
		// log_selector +ident_timeout (Exim specification chapter "Log
		// files"); a reply that does not come in time is not.
		if sel, err := mainlog.ParseSelector(s.srv.Config.Main.String("log_selector")); err == nil && sel.Has(mainlog.SelIdentTimeout) {
			s.log("ident connection to "+s.hostAddr()+" timed out", mainlog.Main)
		}
	}
	if err != nil || user == "" {
		return
	}
	s.vars["sender_ident"] = user
	s.vars["sender_rcvhost"] = s.rcvHost()
}

// rcvHost is $sender_rcvhost (spec chapter "String expansions"): the
// verified host name, or the address in brackets, then in parentheses
// the address and port (after a name) or "port=n" (after an address;
// the port only when log_selector has incoming_port), the HELO name
// unless it is the host name or the address, and the ident:
// "name ([ip]:port helo=x ident=user)", "[ip] (port=n helo=x)".
func (s *session) rcvHost() string {
	var extra []string
	name := s.vars["sender_host_name"]
	addr := "[" + s.hostAddr() + "]"
	h := addr
	if name != "" {
		h = name
		a := addr
		if s.logsPort() {
			a += ":" + strconv.Itoa(s.peer.Port)
		}
		extra = append(extra, a)
	} else if s.logsPort() {
		extra = append(extra, "port="+strconv.Itoa(s.peer.Port))
	}
	if s.helo != "" && !strings.EqualFold(s.helo, name) && s.helo != addr && s.helo != s.hostAddr() {
		extra = append(extra, "helo="+s.helo)
	}
	if id := s.vars["sender_ident"]; id != "" {
		extra = append(extra, "ident="+id)
	}
	if len(extra) > 0 {
		h += " (" + strings.Join(extra, " ") + ")"
	}
	return h
}

// logsPort reports whether the client's port is part of its description
// (log_selector has incoming_port and the port is known: -bh without a
// port gives none).
func (s *session) logsPort() bool {
	if s.peer.Port == 0 || !s.peer.Addr.IsValid() {
		return false
	}
	sel, err := mainlog.ParseSelector(s.srv.Config.Main.String("log_selector"))
	return err == nil && sel.Has(mainlog.SelIncomingPort)
}

// logHost is the client as log lines name it: $sender_fullhost, then
// " U=ident" when an identity is known (as Exim writes every line about
// a remote client).
// hostEq is how log lines name the client: "H=" and logHost, or, for a
// local session (-bs without -oMa), "U=" and the caller (observed with
// Exim 4.96).
func (s *session) hostEq() string {
	if !s.peer.Addr.IsValid() && !s.srv.Batched {
		if id := s.vars["sender_ident"]; id != "" {
			return "U=" + id
		}
	}
	return "H=" + s.logHost()
}

func (s *session) logHost() string {
	return s.logHostBase() + s.interfaceField()
}

// logHostBase is logHost without the I= field of incoming_interface.
func (s *session) logHostBase() string {
	h := s.fullHost()
	if id := s.vars["sender_ident"]; id != "" && s.peer.Addr.IsValid() {
		h += " U=" + id
	}
	return h
}
