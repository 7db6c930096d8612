package callout

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/exigo-mta/exigo/internal/hintsdb"
)

// Host is one host to call, as routing found it.
type Host struct {
	Name, Addr string
	Port       int
}

// String is how Exim names a host in messages: "name [address]".
func (h Host) String() string { return h.Name + " [" + h.Addr + "]" }

// Expiry are the cache lifetimes (main options callout_negative_expire,
// callout_positive_expire, callout_domain_negative_expire and
// callout_domain_positive_expire).
type Expiry struct {
	Negative, Positive, DomainNegative, DomainPositive time.Duration
}

// DefaultExpiry are Exim's defaults.
var DefaultExpiry = Expiry{Negative: 2 * time.Hour, Positive: 24 * time.Hour, DomainNegative: 3 * time.Hour, DomainPositive: 7 * 24 * time.Hour}

// Request is one callout.
type Request struct {
	// Address is the address verified; Sender is set for a sender
	// verification.
	Address string
	Sender  bool
	// From is the address for MAIL ("" for <>).
	From string
	// Helo is the name sent with EHLO/HELO.
	Helo string
	// Hosts are tried in order.
	Hosts   []Host
	Options Options
	// RandomLocalPart is callout_random_local_part expanded.
	RandomLocalPart string
	// Spool is the spool directory holding db/callout; "" for no cache.
	Spool  string
	Expire Expiry
	// Trace receives -bh commentary (">>> " lines); nil for none.
	Trace io.Writer
	// HostOption matches a host against a host list option of the
	// transport (hosts_require_tls ...) for the commentary and returns
	// the result and its commentary ("no (option unset)"); nil takes
	// every option as unset (hosts_try_fastopen as "*").
	HostOption func(option string, h Host) (bool, string)
	Now        func() time.Time
}

// Status is a callout's outcome.
type Status int

// The outcomes.
const (
	OK Status = iota
	Fail
	Defer
)

// Result is what a callout found.
type Result struct {
	Status Status
	// Failure is the value of $recipient_verify_failure or
	// $sender_verify_failure: "mail", "recipient", "postmaster" or
	// "random" ("random" also on success when the domain accepts any
	// local part, as Exim sets it).
	Failure string
	// Cached is set when the result came from the cache (Exim then has
	// no details: "Previous (cached) callout verification failure").
	Cached bool
	// Host, Sent and Response describe the failing exchange.
	Host, Sent, Response string
	// Reason is the log text: "host [ip] : SMTP error from remote mail
	// server after RCPT TO:<a>: 550 ...".
	Reason string
	// addressAccepted is set when the address itself was accepted
	// (a later postmaster check may still fail).
	addressAccepted bool
}

// CachedText is the message of a failure found in the cache.
const CachedText = "Previous (cached) callout verification failure"

// CachedDomainText is the message of a failure of the domain found in
// the cache (its postmaster refused, or its MAIL FROM:<>).
const CachedDomainText = "(result of earlier verification reused)."

func (r *Request) trace(format string, args ...any) {
	if r.Trace != nil {
		text := fmt.Sprintf(format, args...)
		fmt.Fprintf(r.Trace, ">>> %s\n", strings.ReplaceAll(text, "\n", "\n>>> "))
	}
}

func (r *Request) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// domainOf is the domain of an address.
func domainOf(a string) string {
	if i := strings.LastIndexByte(a, '@'); i >= 0 {
		return strings.ToLower(a[i+1:])
	}
	return ""
}

// addressKey is the cache key of the address record: the address, with
// the sender in front when a non-empty sender was used for a recipient
// (specification section "Additional parameters for callouts").
func (r *Request) addressKey() string {
	if r.From != "" && !r.Sender {
		return r.Address + "/<" + r.From + ">"
	}
	return r.Address
}

// Verify performs the callout: the cache first, then the hosts in turn
// until one gives a definite answer.
func Verify(r *Request) Result {
	dom := domainOf(r.Address)
	var db *hintsdb.DB
	if r.Spool != "" && !r.Options.NoCache {
		if d, err := hintsdb.Open(r.Spool, "callout", true); err == nil {
			db = d
			defer db.Close()
		}
	}
	if r.Options.NoCache {
		r.trace("callout cache: disabled by no_cache")
	}
	var drec hintsdb.CalloutRecord
	haveDomain := false
	now := r.now()
	if db != nil {
		if found, _ := db.Get(dom, &drec); found {
			exp := r.Expire.DomainPositive
			if drec.Result == hintsdb.CalloutReject || drec.Postmaster == hintsdb.CalloutReject {
				exp = r.Expire.DomainNegative
			}
			haveDomain = now.Sub(drec.TimeStamp) < exp
		}
		if haveDomain {
			r.trace("callout cache: found domain record for %s", dom)
			switch {
			case drec.Result == hintsdb.CalloutReject:
				r.trace("callout cache: domain gave initial rejection, or does not accept HELO or MAIL FROM:<>")
				return Result{Status: Fail, Failure: "mail", Cached: true}
			case r.Options.Random && drec.Random == hintsdb.CalloutAccept:
				r.trace("callout cache: domain accepts random addresses")
				return Result{Status: OK, Failure: "random", Cached: true}
			case r.Options.Postmaster && drec.Postmaster == hintsdb.CalloutReject:
				r.trace("callout cache: domain does not accept RCPT TO:<postmaster@domain>")
				return Result{Status: Fail, Failure: "postmaster", Cached: true}
			}
		} else {
			drec = hintsdb.CalloutRecord{}
			r.trace("callout cache: no domain record found for %s", dom)
		}
		var arec hintsdb.CalloutRecord
		key := r.addressKey()
		if found, _ := db.Get(key, &arec); found {
			exp := r.Expire.Positive
			if arec.Result != hintsdb.CalloutAccept {
				exp = r.Expire.Negative
			}
			if now.Sub(arec.TimeStamp) < exp {
				r.trace("callout cache: found address record for %s", key)
				if arec.Result == hintsdb.CalloutAccept {
					r.trace("callout cache: address record is positive")
					return Result{Status: OK, Cached: true}
				}
				r.trace("callout cache: address record is negative")
				return Result{Status: Fail, Failure: "recipient", Cached: true}
			}
		}
		r.trace("callout cache: no address record found for %s", key)
	}
	start := now
	var res Result
	connected := false
	for i, h := range r.Hosts {
		if i > 0 && r.now().Sub(start) > r.Options.MaxWait {
			break
		}
		var ok bool
		res, ok = r.call(h, &drec)
		if ok {
			connected = true
			break
		}
	}
	if len(r.Hosts) == 0 {
		res = Result{Status: Defer, Reason: "no hosts"}
	}
	if db != nil && connected {
		drec.TimeStamp = r.now()
		if drec.Result == hintsdb.CalloutUnknown {
			drec.Result = hintsdb.CalloutAccept
		}
		if err := db.Put(dom, &drec); err == nil {
			r.trace("wrote callout cache domain record for %s:\n  result=%d postmaster=%d random=%d", dom, drec.Result, drec.Postmaster, drec.Random)
		}
		// The address's own answer is kept, even when the postmaster
		// check failed after it was accepted (observed with Exim 4.96).
		accepted := (res.Status == OK && res.Failure != "random") || res.addressAccepted
		if accepted || (res.Status == Fail && res.Failure == "recipient") {
			rec := hintsdb.CalloutRecord{TimeStamp: r.now(), Result: hintsdb.CalloutAccept}
			what := "positive"
			if !accepted {
				rec.Result, what = hintsdb.CalloutReject, "negative"
			}
			if err := db.Put(r.addressKey(), &rec); err == nil {
				r.trace("wrote %s callout cache address record for %s", what, r.addressKey())
			}
		}
	}
	return res
}

// conn is an SMTP client connection with Exim-style commentary.
type conn struct {
	r    *Request
	c    net.Conn
	br   *bufio.Reader
	host Host
	// cmdlog is Exim's summary of the exchange ("220:EHLO:250-:...").
	cmdlog []string
}

// reply reads one reply: its code and its lines joined by "\n".
func (c *conn) reply() (int, string, error) {
	c.c.SetReadDeadline(time.Now().Add(c.r.Options.Timeout))
	code, lines, err := readReply(c.br)
	if err != nil {
		return 0, "", err
	}
	c.r.trace("  SMTP<< %s", strings.Join(lines, "\n         "))
	tok := strconv.Itoa(code)
	if len(lines) > 1 {
		tok += "-"
	}
	c.cmdlog = append(c.cmdlog, tok)
	return code, strings.Join(lines, "\n"), nil
}

// Limits on a server's reply: lines longer are cut, and a reply of
// more lines ends there.
const (
	maxReplyLine  = 4096
	maxReplyLines = 100
)

// errBadReply is a reply that does not start with three digits.
var errBadReply = errors.New("malformed SMTP reply")

// readReply reads one SMTP reply (its continuation lines too) and
// returns its code and lines (without line ends).
func readReply(br *bufio.Reader) (int, []string, error) {
	var lines []string
	for len(lines) < maxReplyLines {
		var line []byte
		for {
			chunk, err := br.ReadSlice('\n')
			if len(line) < maxReplyLine {
				line = append(line, chunk[:min(len(chunk), maxReplyLine-len(line))]...)
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				continue
			}
			if err != nil {
				return 0, nil, err
			}
			break
		}
		text := strings.TrimRight(string(line), "\r\n")
		lines = append(lines, text)
		if len(text) < 4 || text[3] != '-' {
			break
		}
	}
	last := lines[len(lines)-1]
	if len(last) < 3 {
		return 0, lines, errBadReply
	}
	code, err := strconv.Atoi(last[:3])
	if err != nil || code < 100 || code > 599 {
		return 0, lines, errBadReply
	}
	return code, lines, nil
}

// cmd sends a command and reads its reply.
func (c *conn) cmd(line string) (int, string, error) {
	c.r.trace("  SMTP>> %s", line)
	if err := c.send(line); err != nil {
		return 0, "", err
	}
	return c.reply()
}

// send writes commands in one go, as Exim flushes its command buffer,
// and notes them in the cmdlog (all but the last marked "|" as
// pipelined).
func (c *conn) send(lines ...string) error {
	var b strings.Builder
	for i, l := range lines {
		b.WriteString(l + "\r\n")
		verb := strings.ToUpper(strings.Fields(l + " x")[0])
		if i < len(lines)-1 {
			verb += "|"
		}
		c.cmdlog = append(c.cmdlog, verb)
	}
	c.r.trace("cmd buf flush %d bytes", b.Len())
	c.c.SetWriteDeadline(time.Now().Add(c.r.Options.Timeout))
	_, err := io.WriteString(c.c, b.String())
	return err
}

// hostOption writes the commentary line for a host list option of the
// transport, as Exim's SMTP client does.
func (r *Request) hostOption(h Host, name string) bool {
	if r.HostOption != nil {
		ok, text := r.HostOption(name, h)
		r.trace("%s in %s? %s", h.Addr, name, text)
		return ok
	}
	if name == "hosts_try_fastopen" {
		r.trace("%s in %s? yes (matched \"*\")", h.Addr, name)
		return true
	}
	r.trace("%s in %s? no (option unset)", h.Addr, name)
	return false
}

// ioReason is the log text of a connection problem.
func ioReason(h Host, err error) string {
	text := err.Error()
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		text = "Connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		text = "Connection reset by peer"
	case errors.Is(err, io.EOF):
		text = "Remote host closed connection"
	default:
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			text = "Connection timed out"
		}
	}
	return h.String() + " : " + text
}

// call talks to one host. ok is false when the host could not be
// reached (the next one is tried).
func (r *Request) call(h Host, drec *hintsdb.CalloutRecord) (Result, bool) {
	port := h.Port
	if port == 0 {
		port = 25
	}
	// The commentary of Exim's SMTP client (observed with Exim 4.96,
	// for a transport with default options).
	r.hostOption(h, "hosts_require_dane")
	r.trace("interface=NULL port=%d", port)
	r.hostOption(h, "hosts_pipe_connect")
	if r.Trace != nil {
		// The option's line continues this one.
		text := fmt.Sprintf(">>> Connecting to %s [%s]:%d ... ", h.Name, h.Addr, port)
		r.Trace = &prefixOnce{w: r.Trace, prefix: text}
		r.hostOption(h, "hosts_try_fastopen")
		r.Trace = r.Trace.(*prefixOnce).w
	} else {
		r.hostOption(h, "hosts_try_fastopen")
	}
	nc, err := net.DialTimeout("tcp", net.JoinHostPort(h.Addr, strconv.Itoa(port)), r.Options.Connect)
	r.trace(" connected")
	if err != nil {
		r.trace("  SMTP(close)>>")
		r.trace("cmdlog: '(unset)'")
		return Result{Status: Defer, Reason: ioReason(h, err)}, false
	}
	defer nc.Close()
	c := &conn{r: r, c: nc, br: bufio.NewReader(nc), host: h}
	defer func() {
		r.trace("  SMTP(close)>>")
		r.trace("cmdlog: '%s'", strings.Join(c.cmdlog, ":"))
	}()
	deferIO := func(err error) (Result, bool) {
		return Result{Status: Defer, Reason: ioReason(h, err)}, true
	}
	smtpErr := func(code int, sent, resp string, failure string) (Result, bool) {
		res := Result{Host: h.Name, Sent: sent, Response: resp, Failure: failure}
		if strings.HasPrefix(sent, "MAIL FROM:") {
			res.Reason = fmt.Sprintf("%s : response to \"%s\" was: %s", h, sent, resp)
		} else {
			res.Reason = fmt.Sprintf("%s : SMTP error from remote mail server after %s: %s", h, sent, resp)
		}
		res.Status = Defer
		if code >= 500 {
			res.Status = Fail
		}
		return res, true
	}
	code, text, err := c.reply()
	if err != nil {
		return deferIO(err)
	}
	if code/100 != 2 {
		if code >= 500 {
			drec.Result = hintsdb.CalloutReject
		}
		return smtpErr(code, "initial connection", text, "mail")
	}
	r.hostOption(h, "hosts_avoid_esmtp")
	hello := "EHLO " + r.Helo
	code, text, err = c.cmd(hello)
	if err == nil && code/100 != 2 {
		hello = "HELO " + r.Helo
		code, text, err = c.cmd(hello)
	}
	if err != nil {
		return deferIO(err)
	}
	if code/100 != 2 {
		if code >= 500 {
			drec.Result = hintsdb.CalloutReject
		}
		return smtpErr(code, hello, text, "mail")
	}
	pipelining := strings.HasPrefix(hello, "EHLO") && advertises(text, "PIPELINING")
	r.hostOption(h, "hosts_require_tls")
	if pipelining && r.hostOption(h, "hosts_avoid_pipelining") {
		pipelining = false
	}
	r.hostOption(h, "hosts_require_auth")
	quit := func() {
		c.cmd("QUIT")
	}
	// mailRcpt sends MAIL and RCPT (together when the server pipelines,
	// as Exim does) and returns the RCPT's reply; a refused MAIL ends
	// the callout with failure (or "postmaster" in that check).
	mailRcpt := func(from, rcpt, failure string) (int, string, *Result) {
		mailCmd := "MAIL FROM:<" + from + ">"
		rcptCmd := "RCPT TO:<" + rcpt + ">"
		var mcode, code int
		var mtext, text string
		var err error
		if pipelining {
			r.trace("  SMTP|> %s", mailCmd)
			r.trace("  SMTP>> %s", rcptCmd)
			if err = c.send(mailCmd, rcptCmd); err == nil {
				if mcode, mtext, err = c.reply(); err == nil {
					code, text, err = c.reply()
				}
			}
		} else {
			mcode, mtext, err = c.cmd(mailCmd)
			if err == nil && mcode/100 == 2 {
				code, text, err = c.cmd(rcptCmd)
			}
		}
		if err != nil {
			res, _ := deferIO(err)
			return 0, "", &res
		}
		if mcode/100 != 2 {
			if mcode >= 500 && from == "" && failure == "mail" {
				drec.Result = hintsdb.CalloutReject
			}
			res, _ := smtpErr(mcode, mailCmd, mtext, failure)
			quit()
			return 0, "", &res
		}
		if failure == "mail" {
			drec.Result = hintsdb.CalloutAccept
		}
		return code, text, nil
	}
	dom := domainOf(r.Address)
	if r.Options.Random && r.RandomLocalPart != "" && drec.Random == hintsdb.CalloutUnknown {
		code, _, res := mailRcpt(r.From, r.RandomLocalPart+"@"+dom, "mail")
		if res != nil {
			return *res, true
		}
		if code/100 == 2 {
			drec.Random, drec.RandomStamp = hintsdb.CalloutAccept, r.now()
			quit()
			return Result{Status: OK, Failure: "random"}, true
		}
		if code >= 500 {
			drec.Random, drec.RandomStamp = hintsdb.CalloutReject, r.now()
		}
		if _, _, err := c.cmd("RSET"); err != nil {
			return deferIO(err)
		}
	}
	code, text, res := mailRcpt(r.From, r.Address, "mail")
	if res != nil {
		return *res, true
	}
	if code/100 != 2 {
		res, ok := smtpErr(code, "RCPT TO:<"+r.Address+">", text, "recipient")
		quit()
		return res, ok
	}
	if r.Options.Postmaster && drec.Postmaster == hintsdb.CalloutUnknown {
		r.trace("Cutthrough cancelled by presence of postmaster verify")
		if _, _, err := c.cmd("RSET"); err != nil {
			return deferIO(err)
		}
		sent := "RCPT TO:<postmaster@" + dom + ">"
		code, text, res := mailRcpt(r.Options.PostmasterFrom, "postmaster@"+dom, "postmaster")
		if res != nil {
			// A refused MAIL is the postmaster check's failure
			// (observed with Exim 4.96).
			if res.Status == Fail {
				drec.Postmaster, drec.PostmasterStamp = hintsdb.CalloutReject, r.now()
			}
			res.addressAccepted = true
			return *res, true
		}
		if code >= 500 && r.Options.FullPostmaster {
			// The failure reported stays that of postmaster@domain
			// (observed with Exim 4.96).
			c2, _, err := c.cmd("RCPT TO:<postmaster>")
			if err != nil {
				return deferIO(err)
			}
			if c2/100 == 2 {
				code = c2
			}
		}
		if code/100 != 2 {
			if code >= 500 {
				drec.Postmaster, drec.PostmasterStamp = hintsdb.CalloutReject, r.now()
			}
			res, ok := smtpErr(code, sent, text, "postmaster")
			res.addressAccepted = true
			quit()
			return res, ok
		}
		drec.Postmaster, drec.PostmasterStamp = hintsdb.CalloutAccept, r.now()
	}
	quit()
	return Result{Status: OK}, true
}

// advertises reports whether an EHLO reply lists the extension.
func advertises(reply, ext string) bool {
	for _, l := range strings.Split(reply, "\n") {
		if len(l) > 4 && strings.EqualFold(strings.Fields(l[4:] + " ")[0], ext) {
			return true
		}
	}
	return false
}

// prefixOnce replaces the ">>> " of the first line written through it
// with prefix.
type prefixOnce struct {
	w      io.Writer
	prefix string
	done   bool
}

func (p *prefixOnce) Write(b []byte) (int, error) {
	if !p.done {
		p.done = true
		out := append([]byte(p.prefix), bytes.TrimPrefix(b, []byte(">>> "))...)
		if _, err := p.w.Write(out); err != nil {
			return 0, err
		}
		return len(b), nil
	}
	return p.w.Write(b)
}
