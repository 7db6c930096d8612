package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/exigo-mta/exigo/internal/queue"
	"github.com/exigo-mta/exigo/internal/smtpserver"
)

// runLocalSMTP implements -bs: an SMTP session on standard input and
// output, from the calling user (P=local-smtp or local-esmtp, U=login).
// Spec: chapter "The Exim command line", option -bs.
func runLocalSMTP(inv *Invocation, env *Env) int {
	r, code, ok := receivingMode(inv, env)
	if !ok {
		return code
	}
	defer r.queue.IDs.Close()
	defer r.queue.Spool.Close()
	cfg := r.cfg
	u := callerUser()
	trusted := isTrusted(cfg, u)
	rcv := &queue.SpoolReceiver{
		Queue: r.queue, Options: &r.opts, Expand: r.expander(env.Now),
		Login: u.Login, UID: u.UID, GID: u.GID,
		Local: true, Trusted: trusted, User: u, Mode: deliveryMode(inv),
	}
	peer := smtpserver.Peer{}
	remote := false
	if trusted && inv.Host.Address != "" {
		// -oMa from a trusted caller: the session is as if from that
		// host (spec chapter "The Exim command line", -oMa, -oMs, -oMi,
		// -oMt): no local fix-ups, the host in the log and Received:.
		if p, err := parseHostArg(strings.Trim(strings.Replace(inv.Host.Address, "]:", ".", 1), "[]")); err == nil {
			peer, remote = p, true
			if inv.Host.Interface != "" {
				if ip, err := parseHostArg(strings.Trim(strings.Replace(inv.Host.Interface, "]:", ".", 1), "[]")); err == nil {
					peer.LocalAddr, peer.LocalPort = ip.Addr, ip.Port
				}
			}
		}
	}
	var srv *smtpserver.Server
	if remote {
		rcv.Local, rcv.TaintedHost = false, true
		srv = r.smtpServer(env, rcv, false)
		srv.TLS = nil
		srv.Vars["sender_ident"] = u.Login
		if inv.Host.Ident != "" {
			srv.Vars["sender_ident"] = inv.Host.Ident
		}
		if inv.Host.Name != "" {
			srv.Vars["sender_host_name"] = inv.Host.Name
		}
		// -oMaa: the session is as if authenticated by that
		// authenticator (spec chapter "The Exim command line", -oMaa;
		// observed: P=esmtpa, A=name:id, --host_auth in the -H file).
		// Exim 4.96 ignores it without -oMa.
		srv.PreAuthenticated = inv.Host.Authenticator
	} else {
		srv = r.smtpServer(env, rcv, true)
	}
	if trusted {
		setAuthID(srv, inv)
	}
	srv.ConnectionName = u.Login
	if err := srv.Serve(context.Background(), env.Stdin, env.Stdout, peer); err != nil {
		if errors.Is(err, smtpserver.ErrAborted) {
			// Input lost, or dropped for too many syntax or protocol
			// errors: exit status 1 (observed with Exim 4.96).
			return 1
		}
		fmt.Fprintf(env.Stderr, "exim: %v\n", err)
	}
	return 0
}

// runBatchSMTP implements -bS, batched SMTP input: messages given as
// SMTP commands on standard input, nothing answered, the first error
// reported on standard output and standard error in Exim's words and
// ending the batch (exit code 1 when messages were accepted before it,
// 2 otherwise). Spec: chapter "SMTP processing", section "Incoming
// batched SMTP".
func runBatchSMTP(inv *Invocation, env *Env) int {
	r, code, ok := receivingMode(inv, env)
	if !ok {
		return code
	}
	defer r.queue.IDs.Close()
	cfg := r.cfg
	u := callerUser()
	rcv := &queue.SpoolReceiver{
		Queue: r.queue, Options: &r.opts, Expand: r.expander(env.Now),
		Login: u.Login, UID: u.UID, GID: u.GID,
		Local: true, Trusted: isTrusted(cfg, u), User: u, Mode: deliveryMode(inv),
	}
	srv := r.smtpServer(env, rcv, true)
	srv.Batched = true
	if rcv.Trusted {
		// -oMr and -oMai apply to -bS (spec chapter "The Exim command
		// line"); their values are tainted in the -H file (observed).
		srv.BatchProtocol = inv.Host.Protocol
		rcv.TaintedProtocol = inv.Host.Protocol != ""
		setAuthID(srv, inv)
	}
	err := srv.Serve(context.Background(), env.Stdin, env.Stdout, smtpserver.Peer{})
	r.waitDeliveries()
	var be *smtpserver.BatchError
	if errors.As(err, &be) {
		fmt.Fprint(env.Stdout, be.Stdout())
		fmt.Fprint(env.Stderr, be.Stderr())
		return be.ExitCode()
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "exim: %v\n", err)
		return 1
	}
	return 0
}

// runSendmail implements -bm (the default when recipients or -t are
// given), the sendmail interface: a message on standard input, with -t,
// -i/-oi, -f, -F and -od*. Spec: chapter "The Exim command line" and
// chapter "Message processing".
func runSendmail(inv *Invocation, env *Env) int {
	r, code, ok := receivingMode(inv, env)
	if !ok {
		return code
	}
	defer r.queue.IDs.Close()
	defer r.queue.Spool.Close()
	opts := r.opts
	u := callerUser()
	trusted := isTrusted(r.cfg, u)
	sub := &submission{
		input: env.Stdin, user: u, trusted: trusted, ident: u.Login,
		fullName: inv.FullName, protocol: "local",
		sender:  u.Login + "@" + opts.QualifyDomain,
		extract: inv.ExtractRecipients, ignoreDot: inv.IgnoreDot,
		noQualify: inv.NoQualify, suppressFixups: inv.SuppressFixups,
		errorMode: inv.ErrorMode, mode: deliveryMode(inv),
	}
	if !inv.SenderSet {
		// Without -f the message is the caller's own: Exim 4.96 writes
		// -local and the default $authenticated_id and
		// $authenticated_sender (observed; any -f, even one naming the
		// default sender, drops all three).
		sub.notSMTP = true
		sub.authID, sub.authSender = u.Login, u.Login+"@"+opts.QualifyDomain
	}
	if trusted {
		// -oMr, -oMaa, -oMai and -oMas from a trusted caller; their
		// values are tainted in the -H file (observed with Exim 4.96).
		for _, o := range []struct {
			v    string
			to   *string
			line string
		}{
			{inv.Host.Protocol, &sub.protocol, "received_protocol"},
			{inv.Host.Authenticator, &sub.authName, "host_auth"},
			{inv.Host.AuthID, &sub.authID, "auth_id"},
			{inv.Host.AuthSender, &sub.authSender, "auth_sender"},
		} {
			if o.v != "" {
				*o.to = o.v
				sub.tainted = append(sub.tainted, o.line)
			}
		}
	}
	if inv.SenderSet {
		s := strings.Trim(inv.Sender, "<>")
		switch {
		case trusted:
			sub.sender = qualify(s, opts.QualifyDomain)
			sub.senderSet = true
		case s == "":
			sub.sender = ""
		default:
			// Spec "Trusted and admin users": an untrusted -f is ignored
			// unless untrusted_set_sender allows it; <> is always allowed.
			sub.untrustedSender = true
		}
	}
	for _, a := range inv.Args {
		for _, one := range strings.Split(a, ",") {
			if one = strings.TrimSpace(one); one != "" {
				sub.recipients = append(sub.recipients, qualify(one, opts.QualifyRecipient))
			}
		}
	}
	code = r.submit(env, sub)
	r.waitDeliveries()
	return code
}

// qualify adds the domain to an address without one.
func qualify(addr, domain string) string {
	if addr == "" || strings.Contains(addr, "@") {
		return addr
	}
	return addr + "@" + domain
}

// setAuthID gives an SMTP session from standard input a trusted
// caller's -oMai value as $authenticated_id (spec chapter "The Exim
// command line", -oMai). -oMas is not applied: Exim 4.96 writes no
// -auth_sender for -bs or -bS (observed).
func setAuthID(srv *smtpserver.Server, inv *Invocation) {
	if inv.Host.AuthID != "" {
		srv.Vars["authenticated_id"] = inv.Host.AuthID
	}
}
