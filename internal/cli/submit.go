package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/exigo-mta/exigo/internal/queue"
	"github.com/exigo-mta/exigo/internal/receive"
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
	rcv := &queue.SpoolReceiver{
		Queue: r.queue, Options: &r.opts, Expand: r.expander(env.Now),
		Login: u.Login, UID: u.UID, GID: u.GID,
		Local: true, Trusted: isTrusted(cfg, u), User: u, Mode: deliveryMode(inv),
	}
	srv := r.smtpServer(env, rcv, true)
	if err := srv.Serve(context.Background(), env.Stdin, env.Stdout, smtpserver.Peer{}); err != nil {
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
	cfg := r.cfg
	opts := r.opts
	msg, err := receive.Read(env.Stdin, receive.ReadOptions{Format: receive.FormatLocal, DotEnds: !inv.IgnoreDot, SizeLimit: opts.MessageSizeLimit})
	if err != nil {
		var se *receive.SizeError
		if errors.As(err, &se) {
			return failf(env, "%s", se.Local())
		}
		return failf(env, "%v", err)
	}
	defer msg.Body.Close()
	u := callerUser()
	trusted := isTrusted(cfg, u)
	renv := &receive.Envelope{
		Sender:   u.Login + "@" + opts.QualifyDomain,
		Protocol: "local",
		Local:    true, Trusted: trusted, User: u, FullName: inv.FullName,
		Ident: u.Login, AuthID: u.Login,
		SuppressLocalFixups:  inv.SuppressFixups,
		UnqualifiedSender:    !inv.NoQualify,
		UnqualifiedRecipient: !inv.NoQualify,
	}
	if inv.Host.Protocol != "" && trusted {
		renv.Protocol = inv.Host.Protocol
	}
	untrustedSender := false
	if inv.SenderSet {
		s := strings.Trim(inv.Sender, "<>")
		switch {
		case trusted:
			renv.Sender = qualify(s, opts.QualifyDomain)
			renv.SenderSet = true
		case s == "":
			renv.Sender = ""
		default:
			// Spec "Trusted and admin users": an untrusted -f is ignored
			// unless untrusted_set_sender allows it; <> is always allowed.
			untrustedSender = true
		}
	}
	for _, a := range inv.Args {
		for _, one := range strings.Split(a, ",") {
			if one = strings.TrimSpace(one); one != "" {
				renv.Recipients = append(renv.Recipients, qualify(one, opts.QualifyRecipient))
			}
		}
	}
	id := r.queue.NewID()
	now := env.Now()
	original := queue.MessageIDOf(msg.Headers)
	in := &receive.Intake{Options: &opts, Envelope: renv, ID: string(id), Now: now, Expand: r.expander(env.Now), Extract: inv.ExtractRecipients, NoQualify: inv.NoQualify}
	if err := in.FixUp(msg); err != nil {
		return failf(env, "%v", err)
	}
	if len(renv.Recipients) == 0 {
		if inv.ExtractRecipients {
			return failf(env, "no recipients found in headers")
		}
		return failf(env, "no recipients")
	}
	body, err := msg.Body.Bytes()
	if err != nil {
		return failf(env, "%v", err)
	}
	a := &queue.Arrival{
		ID: id, Sender: renv.Sender, Recipients: renv.Recipients, Headers: msg.Headers, Body: body,
		Received: now, Login: u.Login, UID: u.UID, GID: u.GID, Protocol: renv.Protocol,
		Local: true, Ident: u.Login, MessageID: queue.MessageIDOf(msg.Headers), MessageIDCreated: original == "",
		SenderSetUntrusted: untrustedSender,
	}
	if err := r.queue.Store(context.Background(), a, deliveryMode(inv)); err != nil {
		fmt.Fprintf(os.Stderr, "exim: %v\n", err)
		return 1
	}
	r.waitDeliveries()
	return 0
}

// qualify adds the domain to an address without one.
func qualify(addr, domain string) string {
	if addr == "" || strings.Contains(addr, "@") {
		return addr
	}
	return addr + "@" + domain
}
