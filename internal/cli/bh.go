package cli

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/debug"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/instance"
	"github.com/exigo-mta/exigo/internal/lists"
	"github.com/exigo-mta/exigo/internal/mainlog"
	"github.com/exigo-mta/exigo/internal/message"
	"github.com/exigo-mta/exigo/internal/receive"
	"github.com/exigo-mta/exigo/internal/smtpserver"
)

// runHostCheck implements -bh ip[.port]: an SMTP session on standard
// input and output as if from that host, running the ACLs, with ">>> "
// commentary and "LOG: " lines on standard error and nothing received or
// logged for real. Spec: chapter "The Exim command line", option -bh,
// and chapter "SMTP processing", section "Testing SMTP sessions".
func runHostCheck(inv *Invocation, env *Env) int {
	peer, err := parseHostArg(inv.ModeArg)
	if err != nil {
		fmt.Fprintf(env.Stderr, "exim: %v\n", err)
		return 1
	}
	if inv.Host.Interface != "" {
		// -oMi: the local end of the pretended connection (I= in the
		// log with incoming_interface).
		if ip, err := parseHostArg(strings.Trim(strings.Replace(inv.Host.Interface, "]:", ".", 1), "[]")); err == nil {
			peer.LocalAddr, peer.LocalPort = ip.Addr, ip.Port
		}
	}
	cfg, code, ok := loadConfig(inv, env)
	if !ok {
		return code
	}
	parts, err := newSMTPParts(cfg, env, false)
	if err != nil {
		fmt.Fprint(env.Stderr, config.StderrText(env.Now(), err))
		return 1
	}
	opts := receive.OptionsFromConfig(cfg)
	srv := &smtpserver.Server{
		Config:       cfg,
		Receiver:     bhReceiver{opts: &opts, expand: bhExpander(cfg, env.Now), now: env.Now},
		Log:          newBHLog(cfg, env),
		Trace:        env.Stderr,
		HostChecking: true,
		Vars:         processVars(cfg),
		Now:          env.Now,
	}
	if inv.Host.Ident != "" {
		// -oMt: -bh makes no RFC 1413 call, but takes the identity
		// given (spec chapter "The Exim command line", -bh, Warning 1).
		srv.Vars["sender_ident"] = inv.Host.Ident
	}
	if !inv.HostCheckCallouts {
		parts.ver.callouts = calloutsOmit
	}
	parts.apply(srv)
	if len(cfg.Rewrite) > 0 {
		vars := processVars(cfg)
		callerVars(cfg, vars)
		in := instance.New(cfg, instance.Options{Debug: env.Debug, Now: env.Now})
		ctx := in.Context(vars, nil)
		if le := listEnv(ctx); le != nil {
			// The rewrite rules' list checks are part of the
			// commentary (observed with Exim 4.96).
			le.Debug = debug.New(debug.Lists, lists.Commentary(env.Stderr))
		}
		if srv.Rewrite, err = newRewriteRules(cfg, ctx, nil); err != nil {
			fmt.Fprint(env.Stderr, config.StderrText(env.Now(), err))
			return 1
		}
	}
	srv.TLS = nil // -bh has no connection to negotiate TLS on
	return serveTesting(srv, env, peer, "**** SMTP testing session as if from host "+smtpserver.FormatHostAddr(peer.Addr)+"\n**** but without any ident (RFC 1413) callback.\n**** This is not for real!\n")
}

// serveTesting runs a session on stdin/stdout, its output preceded by
// the start-up banner lines of -bh.
func serveTesting(srv *smtpserver.Server, env *Env, peer smtpserver.Peer, banner string) int {
	w := &lazyBanner{w: env.Stdout, banner: "\n" + banner + "\n"}
	if err := srv.Serve(context.Background(), env.Stdin, w, peer); err != nil {
		fmt.Fprintf(env.Stderr, "exim: %v\n", err)
	}
	return 0
}

// lazyBanner writes the -bh start-up lines with the first output of
// the session: they begin the reply stream, which is written only when
// input is read (so the commentary of the connection checks and the
// connect ACL comes first), as Exim's is.
type lazyBanner struct {
	w      io.Writer
	banner string
	done   bool
}

func (l *lazyBanner) Write(p []byte) (int, error) {
	if !l.done {
		l.done = true
		io.WriteString(l.w, l.banner)
	}
	return l.w.Write(p)
}

// parseHostArg parses the argument of -bh: an IP address, optionally
// followed by ".port" (IPv4) or ".port" after an IPv6 address.
func parseHostArg(arg string) (smtpserver.Peer, error) {
	if a, err := netip.ParseAddr(arg); err == nil {
		return smtpserver.Peer{Addr: a}, nil
	}
	if i := strings.LastIndexByte(arg, '.'); i > 0 {
		if a, err := netip.ParseAddr(arg[:i]); err == nil {
			if p, err := strconv.Atoi(arg[i+1:]); err == nil && p >= 0 && p < 65536 {
				return smtpserver.Peer{Addr: a, Port: p}, nil
			}
		}
	}
	return smtpserver.Peer{}, fmt.Errorf("%q is not a valid IP address", arg)
}

// bhLog prints log lines as -bh does: "LOG: text" on standard error.
// Exim drops the first 20 characters of the line (the date and time),
// so that with log_selector +millisec the milliseconds remain ("LOG: 284
// text") and with +pid the process id ("LOG: [1234] text").
type bhLog struct {
	w      io.Writer
	prefix func() string
}

func newBHLog(cfg *config.Config, env *Env) bhLog {
	sel, err := mainlog.ParseSelector(cfg.Main.String("log_selector"))
	if err != nil || !sel.Has(mainlog.SelMillisec|mainlog.SelPID) {
		return bhLog{w: env.Stderr}
	}
	pid := os.Getpid()
	return bhLog{w: env.Stderr, prefix: func() string {
		var p string
		if sel.Has(mainlog.SelMillisec) {
			p = fmt.Sprintf("%03d ", env.Now().Nanosecond()/1e6)
		}
		if sel.Has(mainlog.SelPID) {
			p += "[" + strconv.Itoa(pid) + "] "
		}
		return p
	}}
}

func (l bhLog) Write(text string, to ...mainlog.Which) error {
	p := ""
	if l.prefix != nil {
		p = l.prefix()
	}
	_, err := fmt.Fprintf(l.w, "LOG: %s%s\n", p, text)
	return err
}

// bhReceiver receives nothing: -bh only pretends. It applies the
// fix-ups of control = submission to the header block, so that the
// logged size is the one Exim logs.
type bhReceiver struct {
	opts   *receive.Options
	expand receive.Expander
	now    func() time.Time
}

func (b bhReceiver) Receive(_ context.Context, env *smtpserver.Envelope, headers message.Headers, _ []byte) (string, error) {
	if !env.Controls.Submission || b.opts == nil {
		return env.ID, nil
	}
	c := env.Controls
	renv := &receive.Envelope{
		Sender: env.Sender, Recipients: env.Recipients, Protocol: env.Protocol,
		HostAddress: env.HostAddress, HostPort: strconv.Itoa(env.HostPort), Helo: env.HeloName,
		Submission: &receive.Submission{Domain: c.SubmissionDomain, DomainSet: c.SubmissionDomain != "", Name: c.SubmissionName},
	}
	if v := env.Vars; v != nil {
		renv.AuthID, renv.AuthSender = v["authenticated_id"], v["authenticated_sender"]
	}
	opts := *b.opts
	opts.ReceivedHeaderText = ""
	msg := &receive.Message{Headers: append(message.Headers(nil), headers...)}
	in := &receive.Intake{Options: &opts, Envelope: renv, ID: env.ID, Now: b.now(), Expand: b.expand, Test: true}
	if err := in.FixUp(msg); err != nil {
		return env.ID, nil
	}
	env.Size += liveBytes(msg.Headers) - liveBytes(headers)
	return env.ID, nil
}

// liveBytes is the size of the header lines not marked deleted.
func liveBytes(hs message.Headers) int64 {
	var n int64
	for _, h := range hs {
		if h.Type != '*' {
			n += int64(len(h.Text))
		}
	}
	return n
}

// bhExpander expands intake options (message_id_header_text ...) with
// the process variables overlaid by the message's.
func bhExpander(cfg *config.Config, now func() time.Time) receive.Expander {
	vars := processVars(cfg)
	return func(text string, extra map[string]string) (string, error) {
		ctx := &expand.Context{Vars: overlay{base: vars, extra: extra}, Now: now}
		return expand.String(text, ctx)
	}
}
