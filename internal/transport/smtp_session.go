// One SMTP (or LMTP) client session with one host: greeting, EHLO,
// STARTTLS, AUTH, then MAIL/RCPT/DATA or BDAT transactions of at most
// max_rcpt recipients, pipelined when the server allows it (Exim
// specification chapter "The smtp transport"; RFC 5321, RFC 2920
// PIPELINING, RFC 3030 CHUNKING, RFC 3461 DSN, RFC 2033 LMTP).

package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/exigo-mta/exigo/internal/spool"
)

// tryHost runs the transactions for the open addresses of st on h.
func (s *smtpTransport) tryHost(ctx context.Context, e *env, d *Delivery, h Host, st []rcptState) {
	o := s.opts
	port, err := s.port(e, h)
	if err != nil {
		hostErr(st, h, 0, deferErr(err))
		return
	}
	e.vars["host"] = h.Name
	e.vars["host_address"] = h.Addr
	e.vars["host_port"] = strconv.Itoa(port)
	key := poolKey(s.name, h, port)
	msgID := ""
	if d.Header != nil {
		msgID = string(d.Header.ID)
	}
	c := d.Pool.get(key, msgID)
	if c == nil {
		dane, derr := s.daneFor(ctx, e, d, h, port, d.log)
		if derr != nil {
			// The address line shows no host; a deferral has a line of
			// its own with it (observed with Exim 4.96).
			if derr.status == Defer {
				d.log("H=" + h.Name + " [" + h.Addr + "]: DANE error: " + derr.text)
			}
			hostErr(st, Host{}, 25, Result{Status: derr.status, Errno: derr.errno, Message: "DANE error: " + derr.text})
			return
		}
		iface, err := s.expandOpt(e, "interface")
		if err != nil {
			hostErr(st, h, port, deferErr(err))
			return
		}
		var trace *sessionTrace
		if !s.lmtp {
			trace = newTrace(d.Trace)
		}
		if trace != nil && h.Port > 0 {
			if tp, err := s.port(e, Host{}); err == nil && tp != h.Port {
				trace.show(fmt.Sprintf("Transport port=%d replaced by host-specific port=%d\n", tp, h.Port))
			}
		}
		for clear := false; ; clear = true {
			c, err = dial(ctx, h, port, iface, o.Duration("connect_timeout"), trace)
			if err != nil {
				hostErr(st, h, port, netResult(err, ""))
				return
			}
			c.timeout = o.Duration("command_timeout")
			r, tryClear := s.open(e, d, c, h, dane, clear)
			if r == nil {
				break
			}
			c.close()
			if !tryClear || clear {
				hostErr(st, h, port, *r)
				return
			}
		}
	}
	max, _ := o.Int("max_rcpt")
	if max <= 0 {
		max = 1 << 30
	}
	// A connection is kept after a delivery only for another message
	// waiting for the host. The question is asked once there is
	// something to deliver.
	var keepKnown, keepIt bool
	keep := func() bool {
		if !keepKnown {
			keepKnown = true
			keepIt = d.Pool != nil && d.Waiting != nil && d.Waiting(h)
		}
		return keepIt
	}
	ok := true
	for ok {
		var batch []int
		for i := range st {
			if !st[i].done && len(batch) < int(max) {
				batch = append(batch, i)
			}
		}
		if len(batch) == 0 {
			break
		}
		// Addresses deferred in this transaction wait for the next
		// host, not for another transaction here.
		allTried := true
		for i := range st {
			if !st[i].done && !contains(batch, i) {
				allTried = false
			}
		}
		// The last transaction of a session that no other message
		// waits to use may pipeline QUIT after its data.
		last := func() bool { return allTried && !keep() }
		ok = s.transaction(e, d, c, h, port, st, batch, last)
		if ok && allTried {
			break
		}
	}
	// Exim continues a connection only after a delivery on it
	// succeeded (observed with Exim 4.96).
	delivered := false
	for i := range st {
		if st[i].res.Status == OK && st[i].res.HostAddr == h.Addr {
			delivered = true
		}
	}
	// The next message follows its predecessor's DATA with MAIL at
	// once: Exim 4.96 sends no RSET in between (observed).
	c.msg = msgID
	if ok && delivered && !c.quitSent && keep() && d.Pool.put(key, c) {
		// Exim's transport process hands the connection on to a
		// process of its own for the next message, which -v does not
		// show: this session's part ends here, as if closed.
		c.trace.closed()
		c.trace = nil
		return
	}
	if ok {
		c.quit()
		return
	}
	c.close()
}

func contains(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// open reads the greeting and says EHLO/HELO, then STARTTLS and AUTH as
// configured. A non-nil result is a failure of the whole host; with
// tryClear set, the caller should connect again and deliver in clear
// (clear set: no STARTTLS). dane, when set, makes a DANE-verified TLS
// session a must.
func (s *smtpTransport) open(e *env, d *Delivery, c *smtpConn, h Host, dane *daneState, clear bool) (res *Result, tryClear bool) {
	r, err := c.read(c.timeout)
	if err != nil {
		x := netResult(err, "initial connection")
		return &x, false
	}
	if r.Class() != 2 {
		// Exim's smtp transport says QUIT, and does not wait for the
		// reply.
		if !s.lmtp {
			c.send("QUIT")
		}
		// A 5xx greeting fails the addresses (observed with Exim 4.96).
		x := s.replyResult(r, "initial connection", 0, "")
		x.HostLine = true
		return &x, false
	}
	helo, err := s.expandOpt(e, "helo_data")
	if err != nil {
		x := deferErr(err)
		return &x, false
	}
	if helo == "" {
		helo = s.hostname
	}
	verb := "EHLO"
	if s.lmtp {
		verb = "LHLO"
	}
	esmtp := !s.matchHosts(e, "hosts_avoid_esmtp", h)
	if s.lmtp {
		r, err := c.cmd("LHLO " + helo)
		if err != nil {
			x := netResult(err, "LHLO "+helo)
			return &x, false
		}
		if r.Class() != 2 {
			x := s.replyResult(r, "LHLO "+helo, 0, "")
			x.Status = Defer
			return &x, false
		}
		c.esmtp, c.caps = true, parseEHLO(r)
	} else if r, after, err := c.hello(helo, esmtp); err != nil {
		x := netResult(err, after)
		return &x, false
	} else if after != "" {
		x := s.replyResult(r, after, 0, "")
		x.Status = Defer
		return &x, false
	}
	// Spec chapter "The smtp transport" (hosts_require_tls,
	// hosts_avoid_tls, tls_tempfail_tryclear) and section "DANE": with
	// DANE, TLS is a must whatever hosts_require_tls says.
	requireTLS := dane != nil || s.matchHosts(e, "hosts_require_tls", h)
	if !clear && c.caps.startTLS && (dane != nil || !s.matchHosts(e, "hosts_avoid_tls", h)) {
		plan, err := s.tlsPlanFor(e, h, dane, d.now)
		if err != nil {
			x := deferErr(err)
			return &x, false
		}
		r, err := c.cmd("STARTTLS")
		if err != nil {
			x := netResult(err, "STARTTLS")
			return &x, false
		}
		if r.Class() != 2 {
			if requireTLS {
				x := s.replyResult(r, "STARTTLS", ErrnoTLSRequired, ErrTLSRequired)
				x.Status = Defer
				return &x, false
			}
		} else {
			if err := c.startTLS(plan.cfg); err != nil {
				text, isDANE := tlsFailure(err)
				if isDANE {
					d.log("DANE attempt failed; TLS connection to " + h.Name + " [" + h.Addr + "]: " + text)
				}
				x := Result{Status: Defer, Errno: ErrnoTLSFailure, Err: err, Message: "TLS session: " + text}
				if !requireTLS && s.opts.Bool("tls_tempfail_tryclear") {
					d.log("TLS session: " + text + ": delivering unencrypted to H=" + h.Name + " [" + h.Addr + "] (not in hosts_require_tls)")
					return &x, true
				}
				return &x, false
			}
			c.tlsInfo = describeTLS(c.tls, plan.verified)
			if _, after, err := c.hello(helo, true); err != nil || after != "" {
				x := Result{Status: Defer, Message: "SMTP error after " + verb + " in TLS session"}
				return &x, false
			}
		}
	}
	if requireTLS && c.tls == nil {
		d.log("H=" + h.Name + " [" + h.Addr + "]: " + errNoTLS.Error())
		x := Result{Status: Defer, Errno: ErrnoTLSRequired, ErrCode: ErrTLSRequired, Message: errNoTLS.Error()}
		return &x, false
	}
	requireAuth := s.matchHosts(e, "hosts_require_auth", h)
	if (requireAuth || s.matchHosts(e, "hosts_try_auth", h)) && len(c.caps.auth) > 0 {
		okAuth, err := c.authenticate(s.clients, authExpander{e})
		if err != nil && !okAuth {
			x := Result{Status: Defer, ErrCode: ErrAuthFailed, Err: err, Message: "authentication attempt failed: " + err.Error()}
			return &x, false
		}
		if requireAuth && !okAuth {
			x := Result{Status: Defer, ErrCode: ErrAuthFailed, Message: "authentication required but authentication attempt(s) failed"}
			return &x, false
		}
	} else if requireAuth {
		x := Result{Status: Defer, ErrCode: ErrAuthFailed, Message: "authentication required but authentication attempt(s) failed"}
		return &x, false
	}
	return nil, false
}

// transaction sends one message to the addresses batch; it reports
// whether the connection is still usable. When last reports that the
// session ends with this transaction, a pipelining session sends QUIT
// right after the data, as Exim does.
func (s *smtpTransport) transaction(e *env, d *Delivery, c *smtpConn, h Host, port int, st []rcptState, batch []int, last func() bool) bool {
	o := s.opts
	wo := writeOpts{crlf: true, dot: true}
	err := s.writeHeaderOpts(e, d, &wo)
	if err == nil {
		wo.sigs, err = s.dkimSignatures(e, d, &wo)
	}
	var strictErr *dkimStrictError
	if errors.As(err, &strictErr) {
		// Exim finds out while sending the data and defers every
		// address with EACCES.
		for _, i := range batch {
			r := Result{Status: Defer, Errno: int(syscall.EACCES), Err: err, Message: "Permission denied",
				Address: st[i].res.Address, Host: h.Name, HostAddr: h.Addr}
			if port != 25 {
				r.Port = port
			}
			st[i].res = r
			st[i].done = true
		}
		return true
	}
	if err != nil {
		for _, i := range batch {
			st[i].res = withAddr(deferErr(err), st[i].res.Address)
			st[i].done = true
		}
		return true
	}
	var pipelinedTx bool
	set := func(i int, r Result) {
		r.Address = st[i].res.Address
		r.Host, r.HostAddr = h.Name, h.Addr
		r.Continued = c.reused
		if port != 25 {
			r.Port = port
		}
		r.RemotePort = port
		if la, ok := c.nc.LocalAddr().(*net.TCPAddr); ok {
			r.LocalAddr, r.LocalPort = la.IP.String(), la.Port
		}
		r.Pipelined = pipelinedTx
		if c.tls != nil {
			r.TLSCipher, r.TLSVerified, r.TLSPeerDN = c.tlsInfo.cipher, c.tlsInfo.verified, c.tlsInfo.peerDN
		}
		if r.Status == OK {
			r.Auth = c.authed
		}
		st[i].res = r
		st[i].done = r.Status != Defer
	}
	rp, _ := e.get("return_path")
	mail := "MAIL FROM:<" + rp + ">"
	if c.caps.size {
		add, _ := o.Int("size_addition")
		// Exim 4.96 offers one byte less than the message as sent
		// (observed, with and without a body).
		mail += " SIZE=" + strconv.FormatInt(s.messageSize(d, wo)-1+add, 10)
	}
	if c.caps.dsn && d.Header != nil {
		switch d.Header.DSNRet {
		case spool.DSNRetFull:
			mail += " RET=FULL"
		case spool.DSNRetHdrs:
			mail += " RET=HDRS"
		}
		if d.Header.DSNEnvID != "" {
			mail += " ENVID=" + d.Header.DSNEnvID
		}
	}
	// Exim's lmtp transport does not pipeline (observed with 4.96).
	pipelined := c.caps.pipelining && !s.localLMTP && !s.matchHosts(e, "hosts_avoid_pipelining", h)
	pipelinedTx = pipelined
	chunking := c.caps.chunking && s.matchHosts(e, "hosts_try_chunking", h)
	rcpts := make([]string, len(batch))
	for k, i := range batch {
		ad := d.Addresses[i]
		rc := "RCPT TO:<" + rcptAddress(s.generic, ad) + ">"
		if c.caps.dsn {
			rc += dsnParams(ad)
		}
		rcpts[k] = rc
	}
	prefix := ""
	if pipelined {
		prefix = "pipelined "
	}
	if pipelined && chunking {
		return s.pipelinedBDAT(d, c, wo, mail, rcpts, batch, last, set)
	}
	var lines []string
	if pipelined {
		lines = append(append(lines, mail), rcpts...)
		lines = append(lines, "DATA")
		if err := c.send(lines...); err != nil {
			for _, i := range batch {
				set(i, netResult(err, prefix+mail))
			}
			return false
		}
	} else if err := c.send(mail); err != nil {
		for _, i := range batch {
			set(i, netResult(err, mail))
		}
		return false
	}
	r, err := c.read(c.timeout)
	if err != nil {
		for _, i := range batch {
			set(i, netResult(err, prefix+mail))
		}
		return false
	}
	if r.Class() != 2 {
		x := s.hostReply(c, r, prefix+mail, ErrnoMail4xx, ErrMail4xx)
		for _, i := range batch {
			set(i, x)
		}
		if pipelined {
			// Drain the replies to the pipelined commands.
			for range rcpts {
				c.read(c.timeout)
			}
			r, err := c.read(c.timeout)
			showHostLine(c, x)
			if err != nil {
				return false
			} else if r.Code == 354 {
				// RFC 2920: the server should have refused DATA;
				// end the transfer with an empty message.
				c.send(".")
				c.read(c.timeout)
			}
			return true
		}
		showHostLine(c, x)
		return true
	}
	var accepted []int
	for k, i := range batch {
		if !pipelined {
			if err := c.send(rcpts[k]); err != nil {
				set(i, netResult(err, rcpts[k]))
				return false
			}
		}
		r, err := c.read(c.timeout)
		if err != nil {
			for _, j := range batch[k:] {
				set(j, netResult(err, rcpts[k]))
			}
			return false
		}
		if r.Class() == 2 {
			accepted = append(accepted, i)
			continue
		}
		set(i, s.replyResult(r, rcpts[k], ErrnoRcpt4xx, ErrRcpt4xx))
	}
	if chunking {
		return s.sendBDAT(e, d, c, wo, accepted, set)
	}
	if !pipelined && len(accepted) > 0 {
		if err := c.send("DATA"); err != nil {
			for _, i := range accepted {
				set(i, netResult(err, "DATA"))
			}
			return false
		}
	}
	if pipelined || len(accepted) > 0 {
		r, err := c.read(c.timeout)
		if err != nil {
			for _, i := range accepted {
				set(i, netResult(err, prefix+"DATA"))
			}
			return false
		}
		if len(accepted) == 0 {
			// Exim sends DATA pipelined and then has no recipient:
			// RFC 2920 says the server rejects it; if it did not, end
			// the transfer with an empty message.
			if r.Code == 354 {
				c.send(".")
				c.read(c.timeout)
			}
			return true
		}
		if r.Code != 354 {
			x := s.hostReply(c, r, prefix+"DATA", ErrnoData4xx, ErrData4xx)
			showHostLine(c, x)
			for _, i := range accepted {
				set(i, x)
			}
			return true
		}
	} else {
		return true
	}
	c.trace.writingMessage()
	c.nc.SetWriteDeadline(deadline(s.dur(c, "data_timeout")))
	// sent is what S= logs: the bytes of the data block as sent (CRLF
	// line ends, dots doubled) and the ".\r\n" that ends it (observed
	// in Exim 4.96).
	sent, err := writeMessage(c.w, d, &wo)
	sent += 3
	if err != nil {
		for _, i := range accepted {
			set(i, netResult(err, "sending data block"))
		}
		return false
	}
	c.w.WriteString(".\r\n")
	if err := c.w.Flush(); err != nil {
		for _, i := range accepted {
			set(i, netResult(err, "sending data block"))
		}
		return false
	}
	c.trace.dataEnd()
	if pipelined && last() {
		c.sayQuit()
	}
	if s.lmtp {
		for _, i := range accepted {
			r, err := c.read(s.dur(c, "final_timeout"))
			if err != nil {
				set(i, netResult(err, "end of data"))
				return false
			}
			if r.Class() == 2 {
				set(i, Result{Status: OK, Confirmation: r.Text(), Size: sent})
			} else {
				set(i, s.replyResult(r, "end of data", ErrnoData4xx, ErrData4xx))
			}
		}
		return true
	}
	r, err = c.read(s.dur(c, "final_timeout"))
	if err != nil {
		for _, i := range accepted {
			set(i, netResult(err, "end of data"))
		}
		return false
	}
	var x Result
	if r.Class() != 2 {
		x = s.hostReply(c, r, "end of data", ErrnoData4xx, ErrData4xx)
		showHostLine(c, x)
	}
	for _, i := range accepted {
		if r.Class() == 2 {
			set(i, Result{Status: OK, Confirmation: r.Text(), Size: sent})
		} else {
			set(i, x)
		}
	}
	return true
}

// sendBDAT sends the whole message as one "BDAT n LAST" chunk (RFC 3030).
func (s *smtpTransport) sendBDAT(e *env, d *Delivery, c *smtpConn, wo writeOpts, accepted []int, set func(int, Result)) bool {
	if len(accepted) == 0 {
		return true
	}
	buf, cmd, err := chunk(d, wo)
	if err != nil {
		for _, i := range accepted {
			set(i, deferErr(err))
		}
		return true
	}
	c.nc.SetWriteDeadline(deadline(s.dur(c, "data_timeout")))
	c.bufferChunk(cmd, buf)
	if err := c.w.Flush(); err != nil {
		for _, i := range accepted {
			set(i, netResult(err, cmd))
		}
		return false
	}
	return s.chunkResults(c, cmd, "end of data", len(buf), accepted, set)
}

// pipelinedBDAT sends MAIL, the RCPT commands and the whole message as
// one "BDAT n LAST" chunk in one go (RFC 3030 with RFC 2920), and QUIT
// after them when the session ends there, then reads the replies, as
// Exim does.
func (s *smtpTransport) pipelinedBDAT(d *Delivery, c *smtpConn, wo writeOpts, mail string, rcpts []string, batch []int, last func() bool, set func(int, Result)) bool {
	buf, cmd, err := chunk(d, wo)
	if err != nil {
		for _, i := range batch {
			set(i, deferErr(err))
		}
		return true
	}
	c.nc.SetWriteDeadline(deadline(s.dur(c, "data_timeout")))
	for _, l := range append([]string{mail}, rcpts...) {
		c.trace.sent("|>", l)
		c.w.WriteString(l + "\r\n")
	}
	c.bufferChunk(cmd, buf)
	err = c.w.Flush()
	if err == nil && last() {
		err = c.sayQuit()
	}
	after := "pipelined " + mail
	if err != nil {
		for _, i := range batch {
			set(i, netResult(err, after))
		}
		return false
	}
	r, err := c.read(c.timeout)
	if err != nil {
		for _, i := range batch {
			set(i, netResult(err, after))
		}
		return false
	}
	mailOK := r.Class() == 2
	var mailErr Result
	if !mailOK {
		// Exim says the data, and reads no reply to QUIT after the
		// one to BDAT (observed with 4.96).
		mailErr = s.hostReply(c, r, "pipelined end of data", ErrnoMail4xx, ErrMail4xx)
		c.dropQuitReply = true
		for _, i := range batch {
			set(i, mailErr)
		}
	}
	var accepted []int
	for k, i := range batch {
		r, err := c.read(c.timeout)
		if err != nil {
			for _, j := range batch[k:] {
				set(j, netResult(err, rcpts[k]))
			}
			return false
		}
		if !mailOK {
			continue
		}
		if r.Class() == 2 {
			accepted = append(accepted, i)
			continue
		}
		set(i, s.replyResult(r, rcpts[k], ErrnoRcpt4xx, ErrRcpt4xx))
	}
	showHostLine(c, mailErr)
	return s.chunkResults(c, cmd, "pipelined end of data", len(buf), accepted, set)
}

// chunk is the message as one last BDAT chunk, and its command.
func chunk(d *Delivery, wo writeOpts) ([]byte, string, error) {
	wo.dot = false
	var buf bytes.Buffer
	if _, err := writeMessage(&buf, d, &wo); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), fmt.Sprintf("BDAT %d LAST", buf.Len()), nil
}

// bufferChunk buffers the BDAT command and its chunk, showing them.
func (c *smtpConn) bufferChunk(cmd string, buf []byte) {
	c.trace.show("         will write message using CHUNKING\n")
	c.trace.sent("+>", cmd)
	c.w.WriteString(cmd + "\r\n")
	c.w.Write(buf)
}

// chunkResults reads the reply to the message's chunk and sets the
// results of the accepted addresses; after is what an error follows
// ("end of data", or "pipelined end of data" for a chunk sent with MAIL
// and RCPT).
func (s *smtpTransport) chunkResults(c *smtpConn, cmd, after string, size int, accepted []int, set func(int, Result)) bool {
	r, err := c.read(s.dur(c, "final_timeout"))
	if err != nil {
		for _, i := range accepted {
			set(i, netResult(err, cmd))
		}
		return false
	}
	var x Result
	if r.Class() != 2 {
		x = s.hostReply(c, r, after, ErrnoData4xx, ErrData4xx)
		showHostLine(c, x)
	}
	for _, i := range accepted {
		if r.Class() == 2 {
			// S= counts the chunk as sent (observed in Exim 4.96).
			set(i, Result{Status: OK, Confirmation: r.Text(), Chunking: true, Size: int64(size)})
		} else {
			set(i, x)
		}
	}
	return true
}

func withAddr(r Result, a string) Result {
	r.Address = a
	return r
}

// dsnParams are the RCPT parameters of RFC 3461.
func dsnParams(a Address) string {
	var p string
	if a.DSNFlags != 0 {
		var n []string
		if a.DSNFlags&spool.DSNNotifyNever != 0 {
			n = []string{"NEVER"}
		} else {
			if a.DSNFlags&spool.DSNNotifySuccess != 0 {
				n = append(n, "SUCCESS")
			}
			if a.DSNFlags&spool.DSNNotifyFailure != 0 {
				n = append(n, "FAILURE")
			}
			if a.DSNFlags&spool.DSNNotifyDelay != 0 {
				n = append(n, "DELAY")
			}
		}
		if len(n) > 0 {
			p += " NOTIFY=" + strings.Join(n, ",")
		}
	}
	if a.ORcpt != "" {
		p += " ORCPT=" + a.ORcpt
	}
	return p
}

// dur is a timeout option, or the connection's command timeout where the
// transport has no such option (lmtp has one timeout for everything).
func (s *smtpTransport) dur(c *smtpConn, name string) time.Duration {
	if s.opts.Has(name) {
		if d := s.opts.Duration(name); d > 0 {
			return d
		}
	}
	return c.timeout
}
