package smtpserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/exigo-mta/exigo/internal/config"

	"github.com/exigo-mta/exigo/internal/acl"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/lists"
	"github.com/exigo-mta/exigo/internal/mainlog"
	"github.com/exigo-mta/exigo/internal/mimeacl"
	"github.com/exigo-mta/exigo/internal/smtp"
	"github.com/exigo-mta/exigo/internal/tlsserver"
)

// maxLine caps an SMTP command line.
const maxLine = 16384

// errClose ends a session after the reply that was just sent.
var errClose = errors.New("close connection")

// ErrAborted is what Serve returns for an interactive session that ended
// without QUIT: input lost (also inside a message) or the connection
// dropped for too many syntax or protocol errors. exim -bs then exits
// with status 1 (observed with Exim 4.96); a drop by an ACL or for too
// many unrecognized commands is a normal end.
var ErrAborted = errors.New("SMTP session ended abnormally")

// session is one SMTP conversation.
type session struct {
	srv  *Server
	ctx  context.Context
	r    *bufio.Reader
	w    *bufio.Writer
	peer Peer
	vars expand.VarMap
	acls *acl.Session
	cut  cutState // cutthrough delivery of the message in flight
	// senderAsGiven is the MAIL address before a sender verification
	// rewrote it ("" when it did not).
	senderAsGiven string

	// mailCmds counts MAIL commands (smtp_accept_max_per_connection) and
	// received the messages stored (smtp_accept_queue_per_connection).
	mailCmds, received int
	// hostLooked is set once the client's host name was looked up;
	// hostLookupFailure says why no name was verified.
	hostLooked        bool
	hostLookupFailure string

	helo       string // HELO/EHLO argument once accepted
	heloDone   bool
	esmtp      bool
	sender     string
	senderSet  bool
	recipients []string
	rcptFails  int    // RCPTs rejected in this transaction
	rcptReply  string // text of the first RCPT rejection (for DATA's 503)
	rcptSame   bool   // every RCPT rejection so far had the text rcptReply
	// rcptPending is true after a RCPT rejection until the next DATA or
	// BDAT: with PIPELINING advertised, that DATA's 503 is "expected".
	rcptPending bool
	// mailFailed is true after a MAIL command failed (syntax or ACL):
	// with PIPELINING advertised, the RCPTs that follow are "expected"
	// protocol errors.
	mailFailed bool
	discard    string // stage whose ACL discarded the message ("MAIL", "RCPT")
	discardLog string // the MAIL ACL's log text for its discarded recipients
	discarded  int    // recipients discarded
	bodyType   string
	utf8       bool
	// utf8Proto is set by MAIL with SMTPUTF8 and kept (through RSET and
	// later messages) until the next EHLO or HELO: the protocol gets a
	// "utf8" prefix (observed in Exim 4.96).
	utf8Proto bool
	// aborted marks a session ending abnormally (ErrAborted).
	aborted    bool
	chunking   bool // CHUNKING was advertised
	pipelining bool
	dsn        bool

	synprot  int // syntax and protocol errors
	unknown  int // unrecognized commands
	nonmail  int // non-mail commands
	cmdList  []string
	lastLine string
	msgID    string // -bh: the id of the last accepted message

	pipeConnect, utf8Adv                      bool
	bdat                                      []byte
	quiet                                     bool
	freeRSETUsed, nonmailChecked, nonmailHost bool
	freeRSET                                  bool
	auth                                      authState
	// conn is the network connection when there is one (the daemon), for
	// STARTTLS; tls is the TLS state once negotiated.
	conn net.Conn
	tls  *tlsserver.State
	// began is when the connection was accepted (for D=).
	began time.Time
	// heloVerify is set when the client matches helo_verify_hosts.
	heloVerify bool
	// overlong is the start of a command line longer than maxLine, to be
	// answered as overlongChunks unrecognized commands.
	overlong       string
	overlongChunks int
	// mimeDecoder is the MIME decoder's buffer, kept for the session as
	// Exim keeps it for its process.
	mimeDecoder mimeacl.Decoder
	// batch is the state of batched SMTP input (-bS).
	batch batchState
	// prdr is set when MAIL asked for PRDR (see prdr.go).
	prdr bool
	// selector is log_selector, parsed on first use (see connlog.go).
	selector mainlog.Selector
	selDone  bool
	// connNolog is set for clients in hosts_connection_nolog.
	connNolog bool
	// mailCommands counts MAIL commands (for smtp_no_mail).
	mailCommands int
	// authSenderPreset is $authenticated_sender as the session began
	// (-bs sets it), restored by each MAIL before its AUTH= is applied.
	authSenderPreset string
	authSenderSaved  bool
	// pipeUsed is set once the client has sent a command before the
	// reply to the one before (for the pipelining log field).
	pipeUsed bool
	// load is what the session remembers of the load average
	// (queue_only_load_latch).
	load loadState
	// synprotLine replaces the next syntax or protocol error's log
	// line when synprotOverride is set (see synprotErrorAs).
	synprotLine     string
	synprotOverride bool
}

// Serve runs one SMTP session over r and w until QUIT, a dropped
// connection or the end of input.
func (srv *Server) Serve(ctx context.Context, r io.Reader, w io.Writer, peer Peer) error {
	s := &session{srv: srv, ctx: ctx, w: bufio.NewWriter(w), peer: peer, began: srv.now()}
	s.r = s.newReader(r)
	if c, ok := r.(net.Conn); ok && any(w) == any(r) {
		s.conn = c
	}
	s.vars = expand.VarMap{}
	for k, v := range srv.Vars {
		s.vars[k] = v
	}
	if srv.PreAuthenticated != "" {
		s.auth.done = true
		s.auth.name, s.auth.id = srv.PreAuthenticated, s.vars["authenticated_id"]
		s.vars["sender_host_authenticated"] = srv.PreAuthenticated
	}
	s.setConnVars()
	s.acls = &acl.Session{
		Vars:              s.vars,
		Trace:             srv.Trace,
		HostChecking:      srv.HostChecking,
		Verifier:          srv.Verifier,
		LogWrite:          s.logACL,
		CutthroughCallout: s.cutthroughCallout,
		LookupHostName:    s.reverseLookup,
		LogPrefix:         func() string { return s.hostEq() + " " },
		Host:              &lists.Host{IP: peer.Addr, NameLookedUp: true},
		HostListCache:     lists.NewCache(),
	}
	if srv.NewChecker != nil {
		s.acls.Checker = srv.NewChecker()
	}
	if s.conn != nil {
		if d := s.receiveTimeout(); d > 0 {
			s.conn = &timeoutConn{Conn: s.conn, d: d}
			s.r = s.newReader(s.conn)
		}
	}
	if s.loadRefused() {
		return nil
	}
	if peer.TLSOnConnect && !s.tlsOnConnect() {
		return nil
	}
	defer func() { s.w.Flush() }()
	defer s.cutthroughReset()
	err := s.run()
	if errors.Is(err, errClose) {
		err = nil
	}
	if err == nil && s.aborted {
		return ErrAborted
	}
	return err
}

// markAborted records that an interactive session is ending abnormally
// (see ErrAborted); -bh and batched SMTP have exit codes of their own.
func (s *session) markAborted() {
	if !s.srv.Batched && !s.srv.HostChecking {
		s.aborted = true
	}
}

func (s *session) run() error {
	if s.srv.Batched {
		return s.runBatch()
	}
	if err := s.start(); err != nil {
		return err
	}
	for {
		// Replies go out before a read that could block (see
		// newReader), not after each command.
		if s.overlong != "" {
			// A command line longer than Exim's buffer is taken as
			// several commands of the buffer's size, none recognized.
			for n := s.overlongChunks; n > 0; n-- {
				if err := s.unrecognized(s.overlong); err != nil {
					return err
				}
			}
			s.overlong, s.overlongChunks = "", 0
			continue
		}
		line, err := s.readLine()
		if err != nil {
			return s.lostInput(err)
		}
		if s.overlong != "" {
			continue
		}
		if err := s.command(line); err != nil {
			return err
		}
	}
}

// newReader buffers the client's input. Pending replies are written
// before each read of r, which is when the client may be waiting for
// them, and not while input already received is being handled: Exim
// flushes its output only when its input buffer needs refilling, so a
// pipelined group (and a message sent with it) is answered in one
// write, and -bh prints the group's replies after its checks.
func (s *session) newReader(r io.Reader) *bufio.Reader {
	return bufio.NewReaderSize(flushingReader{r: r, s: s}, 4096)
}

// flushingReader flushes the session's replies before each read.
type flushingReader struct {
	r io.Reader
	s *session
}

func (f flushingReader) Read(p []byte) (int, error) {
	if f.s.w.Buffered() > 0 {
		if err := f.s.w.Flush(); err != nil {
			return 0, fmt.Errorf("writing reply: %w", err)
		}
	}
	return f.r.Read(p)
}

// runBatch reads batched SMTP input (see batch.go) until QUIT, the end
// of input or the first error.
func (s *session) runBatch() error {
	// Batched SMTP logs "SMTP connection from" at its start and "no
	// MAIL" at its end, nothing else of the smtp_connection family
	// (observed with Exim 4.96).
	s.logConnect(false)
	for {
		line, err := s.readLine()
		if errors.Is(err, io.EOF) {
			s.logNoMail()
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading batched SMTP: %w", err)
		}
		s.batch.line++
		if s.overlong != "" {
			s.lastLine = s.overlong
			s.overlong, s.overlongChunks = "", 0
			s.reply(500, "Command unrecognized")
		} else if done, err := s.batchCommand(line); err != nil {
			return err
		} else if !done {
			err := s.command(line)
			if err != nil && !errors.Is(err, errClose) {
				return err
			}
			if s.batch.err == nil && errors.Is(err, errClose) {
				s.logNoMail()
				return nil
			}
		}
		if s.batch.err != nil {
			return s.batch.err
		}
	}
}

// readLine reads one command line, without its line ending and trailing
// white space. A line longer than maxLine is read to its end but not
// kept: s.overlong records it (see run).
func (s *session) readLine() (string, error) {
	var b []byte
	total := 0
	for {
		chunk, err := s.r.ReadSlice('\n')
		total += len(chunk)
		if len(b) <= maxLine {
			b = append(b, chunk...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			return "", err
		}
		break
	}
	if total > maxLine {
		s.overlong = strings.TrimRight(string(b[:maxLine]), " \t\r\n")
		s.overlongChunks = (total + maxLine - 1) / maxLine
		return "", nil
	}
	return strings.TrimRight(string(b), " \t\r\n"), nil
}

// lostInput handles the end of input before QUIT (Exim specification
// chapter "SMTP processing": the notquit ACL runs, and the connection is
// logged as lost).
func (s *session) lostInput(err error) error {
	if isTimeout(err) {
		s.reply(421, s.hostname()+": SMTP command timeout - closing connection")
		if s.sel().Has(mainlog.SelLostIncomingConnection) {
			s.log("SMTP command timeout on connection from "+s.logHost(), mainlog.Main)
		}
		return nil
	}
	if !errors.Is(err, io.EOF) && !s.peer.Addr.IsValid() {
		return fmt.Errorf("reading command: %w", err)
	}
	// A read error from a client (a reset connection) is a lost
	// connection too.
	s.markAborted()
	s.closingReply(421, s.hostname()+" lost input connection")
	if !s.srv.Batched {
		s.logLost()
	}
	return nil
}

// reply sends an SMTP reply, one line per "\n"-separated line of text.
func (s *session) reply(code int, text string) {
	s.closingReply(code, text)
	if !s.srv.Batched {
		s.flushUnlessPipelined()
	}
}

// closingReply is the last reply of a session that ends without reading
// more: it is written when the session ends, after the lines logged
// about the ending (observed with Exim 4.96). reply is closingReply
// written at once unless more input is waiting.
func (s *session) closingReply(code int, text string) {
	if s.srv.Batched {
		s.batchReply(code, text)
		return
	}
	s.w.WriteString(smtp.FormatReply(code, text))
}

// dropReply writes the last reply of a connection being dropped, with
// those still waiting, before the drop is logged.
func (s *session) dropReply(code int, text string) {
	s.reply(code, text)
	s.w.Flush()
}

// flushUnlessPipelined writes the pending replies unless more input has
// already arrived: a client pipelining commands gets the replies to the
// group in one write (Exim writes a reply at once when its input buffer
// is empty, and keeps it otherwise).
func (s *session) flushUnlessPipelined() {
	if s.r.Buffered() == 0 {
		s.w.Flush()
	}
}

// log writes a log line. In -bh it carries the id of the last message.
func (s *session) log(text string, to ...mainlog.Which) {
	if s.srv.Log == nil {
		return
	}
	if s.srv.HostChecking && s.msgID != "" {
		text = s.msgID + " " + text
	}
	s.srv.Log.Write(text, to...)
}

// logACL writes a log line for the ACL engine, which puts the message
// id in front itself.
func (s *session) logACL(text string, to ...mainlog.Which) {
	if s.srv.Log != nil {
		s.srv.Log.Write(text, to...)
	}
}

// trace writes a -bh ">>> " line, at once: replies wait in their buffer
// (see newReader), as Exim's do.
func (s *session) trace(format string, args ...any) {
	if s.srv.Trace != nil && !s.quiet {
		fmt.Fprintf(s.srv.Trace, ">>> "+format+"\n", args...)
	}
}

// hostname is $smtp_active_hostname.
func (s *session) hostname() string {
	return s.vars["smtp_active_hostname"]
}

// hostAddr is the client's address as Exim prints it in [brackets].
func (s *session) hostAddr() string {
	a := s.peer.Addr
	if !a.IsValid() {
		return ""
	}
	if s.srv.HostChecking {
		return FormatHostAddr(a)
	}
	return a.String()
}

// fullHost is $sender_fullhost: "(helo) [ip]" or "[ip]".
func (s *session) fullHost() string {
	if !s.peer.Addr.IsValid() && (s.srv.Batched || s.vars["sender_ident"] != "") {
		// Batched input and local SMTP name the caller (observed with
		// Exim 4.96).
		return s.vars["sender_ident"]
	}
	h := "[" + s.hostAddr() + "]"
	if s.logsPort() {
		// With log_selector +incoming_port (Exim specification chapter
		// "Log files", incoming_port).
		h += ":" + strconv.Itoa(s.peer.Port)
	}
	name := s.vars["sender_host_name"]
	if s.helo != "" && !strings.EqualFold(s.helo, name) {
		h = "(" + s.helo + ") " + h
	}
	if name != "" {
		h = name + " " + h
	}
	return h
}

// setConnVars sets the connection's expansion variables.
func (s *session) setConnVars() {
	if s.peer.Addr.IsValid() {
		s.vars["sender_host_address"] = s.hostAddr()
		s.vars["sender_host_port"] = strconv.Itoa(s.peer.Port)
		s.vars["sender_fullhost"] = s.fullHost()
		s.vars["sender_rcvhost"] = s.rcvHost()
	}
	if s.peer.LocalAddr.IsValid() {
		s.vars["interface_address"] = s.peer.LocalAddr.String()
		s.vars["interface_port"] = strconv.Itoa(s.peer.LocalPort)
		s.vars["received_ip_address"] = s.peer.LocalAddr.String()
		s.vars["received_port"] = strconv.Itoa(s.peer.LocalPort)
	}
	s.vars["received_protocol"] = s.protocol()
}

// protocol is $received_protocol for the session so far.
func (s *session) protocol() string {
	p := "smtp"
	if s.esmtp {
		p = "esmtp"
		if s.tls != nil {
			p += "s"
		}
		if s.auth.done {
			p += "a"
		}
	}
	if s.srv.Batched {
		if s.srv.BatchProtocol != "" {
			return s.srv.BatchProtocol
		}
		p = "bsmtp"
	}
	if s.srv.Local {
		p = "local-" + p
	}
	if s.utf8Proto {
		// RFC 6531 section 3.3: UTF8SMTP, UTF8SMTPS, UTF8SMTPA ...
		p = "utf8" + p
	}
	return p
}

// expand expands a string with the session's variables.
func (s *session) expand(str string) (string, error) {
	return expand.String(str, s.context())
}

// context is the expansion context of the session: its variables, the
// message once received, and the instance's lookups and lists.
func (s *session) context() *expand.Context {
	if s.srv.Instance != nil {
		ctx := s.srv.Instance.Context(s.vars, s.acls.Message)
		ctx.Now = s.srv.Now
		return ctx
	}
	return &expand.Context{Vars: s.vars, Now: s.srv.Now}
}

// start checks the connection options, runs the connect ACL and sends
// the banner. Exim specification chapter "SMTP processing", and option
// smtp_banner in chapter "Main configuration".
func (s *session) start() error {
	cfg := s.srv.Config.Main
	// The RFC 1413 call comes first, before any host check (observed
	// with Exim 4.96 -d+ident).
	s.ident()
	s.logConnect(s.hostOption("hosts_connection_nolog"))
	if s.hostOption("host_lookup") {
		s.lookupHostName()
	}
	if s.hostOption("host_reject_connection") {
		s.closingReply(554, "SMTP service not available")
		if s.sel().Has(mainlog.SelConnectionReject) {
			s.log(fmt.Sprintf("refused connection from %s (host_reject_connection)", s.logHost()), mainlog.Main, mainlog.Reject)
		}
		return errClose
	}
	if s.loadReserved() {
		return errClose
	}
	s.hostOption("sender_unqualified_hosts")
	s.hostOption("recipient_unqualified_hosts")
	s.heloVerify = s.hostOption("helo_verify_hosts")
	s.hostOption("helo_try_verify_hosts")
	s.hostOption("helo_accept_junk_hosts")
	s.hostOption("hosts_proxy")
	var connectRes acl.Result
	if cfg.String("acl_smtp_connect") != "" {
		connectRes = s.runACL(acl.Connect)
		if connectRes.Verdict != acl.Accept {
			s.aclReject(acl.Connect, connectRes, "", "")
			return errClose
		}
	}
	s.pipeConnect = s.peer.Addr.IsValid() && s.hostOption("pipelining_connect_advertise_hosts")
	if h := cfg.String("smtp_active_hostname"); h != "" {
		if v, err := s.expand(h); err == nil {
			s.vars["smtp_active_hostname"] = v
		}
	}
	// An accepting connect ACL's message replaces smtp_banner (Exim
	// specification chapter "Access control lists", section "ACL
	// modifiers", message).
	if connectRes.UserMessage != "" {
		s.reply(s.acceptReply(connectRes, smtp.C220ServiceReady, ""))
		return nil
	}
	banner, err := s.expand(cfg.String("smtp_banner"))
	if err != nil {
		s.log(fmt.Sprintf("Expansion of \"%s\" (smtp_banner) failed: %s", cfg.String("smtp_banner"), err), mainlog.Main, mainlog.Panic)
		return errClose
	}
	s.reply(smtp.C220ServiceReady, banner)
	return nil
}

// FormatHostAddr formats an address as -bh shows it: IPv4 as usual, IPv6
// in full (eight groups of four hex digits).
func FormatHostAddr(a netip.Addr) string {
	if !a.Is6() || a.Is4In6() {
		return a.Unmap().String()
	}
	b := a.As16()
	parts := make([]string, 0, 8)
	for i := 0; i < 16; i += 2 {
		parts = append(parts, fmt.Sprintf("%02x%02x", b[i], b[i+1]))
	}
	return strings.Join(parts, ":")
}

// receiveTimeout is smtp_receive_timeout (expanded): how long a read from
// the client may take; 0 means no limit. Spec chapter "Main
// configuration", option smtp_receive_timeout.
func (s *session) receiveTimeout() time.Duration {
	text, err := s.expand(s.srv.Config.Main.String("smtp_receive_timeout"))
	if err != nil {
		return 5 * time.Minute
	}
	d, ok := config.ParseTime(strings.TrimSpace(text))
	if !ok || d <= 0 {
		return 0
	}
	return d
}

// timeoutConn sets a read deadline of d before every read, so that each
// read from the client (a command line, a piece of the message) has
// smtp_receive_timeout to arrive.
type timeoutConn struct {
	net.Conn
	d time.Duration
}

func (c *timeoutConn) Read(b []byte) (int, error) {
	c.Conn.SetReadDeadline(time.Now().Add(c.d))
	return c.Conn.Read(b)
}

// isTimeout reports whether a read failed on smtp_receive_timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
