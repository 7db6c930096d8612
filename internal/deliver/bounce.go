package deliver

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"regexp"
	"strings"

	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/queue"
	"github.com/exigo-mta/exigo/internal/receive"
	"github.com/exigo-mta/exigo/internal/transport"
)

// smtpSplit splits an SMTP error text where Exim breaks it in a bounce:
// after the command, before the reply.
var smtpSplit = regexp.MustCompile(`^(SMTP error from remote mail server after .*?:) ([2-5][0-9][0-9][ -].*)$`)

// bounceEntry is the text part's paragraph for one failed address (spec
// chapter "Customizing bounce and warning messages"; texts as Exim 4.96
// writes them by default).
func bounceEntry(it *item) (text, diag string) {
	var b strings.Builder
	b.WriteString("  " + it.addr.Address + "\n")
	msg := it.msg
	hostErr := it.timedOut && hostError(it)
	if it.host != "" && !hostErr {
		b.WriteString("    " + hostLine(it) + "\n")
	}
	switch {
	case hostErr:
		msg = "retry timeout exceeded"
	case it.timedOut && msg == "":
		// A defer without a message (a lookup that deferred while
		// routing): Exim 4.96 writes only this.
		msg = "retry timeout exceeded"
	case it.timedOut:
		msg += ": retry timeout exceeded"
	}
	if sm := smtpSplit.FindStringSubmatch(msg); sm != nil && !hostErr {
		b.WriteString("    " + sm[1] + "\n    " + sm[2] + "\n")
		diag = sm[2]
	} else if msg != "" {
		for _, l := range strings.Split(msg, "\n") {
			b.WriteString("    " + l + "\n")
		}
	}
	return b.String(), diag
}

// sendBounce builds the RFC 3464 delivery status notifications for the
// failed addresses and stores them as new messages from <> (spec
// chapter "How Exim receives and delivers mail": "a bounce message is
// sent to the sender", chapter "Customizing bounce and warning
// messages"). Addresses with an errors_to address (spec chapter
// "Generic options for routers", errors_to) are reported there, one
// bounce per recipient, in the order of the failed chain.
func (m *attempt) sendBounce() error {
	var order []string
	groups := map[string][]*item{}
	for _, it := range m.failChain {
		to := m.h.Sender
		if it.addr.ErrorsTo != "" {
			to = it.addr.ErrorsTo
		}
		if groups[to] == nil {
			order = append(order, to)
		}
		groups[to] = append(groups[to], it)
	}
	var first error
	for _, to := range order {
		if err := m.bounceTo(to, groups[to]); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// bounceReturnLimit is the size of the -D file up to which a bounce
// returns the whole message: bounce_return_size_limit rounded up to the
// 8K chunks the file is copied in (observed with Exim 4.96: a message
// whose -D file is larger gets only its header lines returned). 0
// means no limit.
func (m *attempt) bounceReturnLimit() (limit, shown int64) {
	cfg := m.d.Config
	n := int64(100 * 1024)
	if cfg.Main.IsSet("bounce_return_size_limit") {
		n, _ = cfg.Main.Int("bounce_return_size_limit")
	} else if cfg.Main.IsSet("return_size_limit") {
		n, _ = cfg.Main.Int("return_size_limit")
	}
	if n <= 0 {
		return 0, n
	}
	const chunk = 8192
	return (n/chunk + 1) * chunk, n
}

// bounceTo builds and stores one bounce to rcpt for the failed
// addresses items.
func (m *attempt) bounceTo(to string, items []*item) error {
	d := m.d
	h := m.h
	cfg := d.Config
	host := cfg.Main.String("primary_hostname")
	qd := cfg.Main.String("qualify_domain")
	boundary := fmt.Sprintf("%d-eximdsn-%d", m.now.Unix(), rand.Int32())
	limit, shown := m.bounceReturnLimit()
	var size int64
	body, berr := transport.BodyReader(m.lock.Data())
	if berr == nil {
		size = body.Size()
	}
	vars := varOverlay{m: expand.VarMap{
		"bounce_recipient":         to,
		"bounce_return_size_limit": fmt.Sprint(shown),
		"message_size":             fmt.Sprint(size),
	}, next: m.vars()}
	ctx := &expand.Context{Vars: vars, Message: &expand.HeaderBlock{Block: h.Headers}, Lookups: d.Lookups, Now: d.Now}
	tmpl, fromFile := m.templateItems("bounce_message_file")
	item := func(i int) (string, bool) {
		if !fromFile || i >= len(tmpl) || tmpl[i] == "" {
			return "", false
		}
		s, err := expand.String(tmpl[i], ctx)
		if err != nil {
			return "", false
		}
		return s, true
	}
	var failedList []string
	for _, it := range items {
		failedList = append(failedList, it.addr.Address)
	}
	var msg bytes.Buffer
	fmt.Fprintf(&msg, "X-Failed-Recipients: %s\n", strings.Join(failedList, ",\n  "))
	msg.WriteString("Auto-Submitted: auto-replied\n")
	fmt.Fprintf(&msg, "From: Mail Delivery System <Mailer-Daemon@%s>\n", qd)
	fmt.Fprintf(&msg, "To: %s\n", to)
	if mid := queue.MessageIDOf(h.Headers); mid != "" {
		fmt.Fprintf(&msg, "References: <%s>\n", mid)
	}
	fmt.Fprintf(&msg, "Content-Type: multipart/report; report-type=delivery-status; boundary=%s\n", boundary)
	msg.WriteString("MIME-Version: 1.0\n")
	if s, ok := item(0); ok {
		msg.WriteString(strings.TrimRight(s, "\n") + "\n")
	} else if to == h.Sender {
		msg.WriteString("Subject: Mail delivery failed: returning message to sender\n")
	} else {
		msg.WriteString("Subject: Mail delivery failed\n")
	}
	msg.WriteString("\n")
	fmt.Fprintf(&msg, "--%s\nContent-type: text/plain; charset=us-ascii\n\n", boundary)
	if s, ok := item(1); ok {
		msg.WriteString(s)
	} else {
		msg.WriteString("This message was created automatically by mail delivery software.\n")
		if t := cfg.Main.String("bounce_message_text"); t != "" && !fromFile {
			msg.WriteString(t + "\n")
		} else {
			msg.WriteString("\n")
		}
		if to == h.Sender {
			msg.WriteString("A message that you sent could not be delivered to one or more of its\n")
			msg.WriteString("recipients. This is a permanent error. The following address(es) failed:\n")
		} else {
			fmt.Fprintf(&msg, "A message sent by\n\n  <%s>\n\n", h.Sender)
			msg.WriteString("could not be delivered to one or more of its recipients. The following\n")
			msg.WriteString("address(es) failed:\n")
		}
	}
	msg.WriteString("\n")
	diags := make([]string, len(items))
	for i, it := range items {
		text, diag := bounceEntry(it)
		msg.WriteString(text)
		diags[i] = diag
	}
	fmt.Fprintf(&msg, "\n--%s\nContent-type: message/delivery-status\n\n", boundary)
	fmt.Fprintf(&msg, "Reporting-MTA: dns; %s\n\n", host)
	for i := len(items) - 1; i >= 0; i-- {
		it := items[i]
		fmt.Fprintf(&msg, "Action: failed\nFinal-Recipient: rfc822;%s\nStatus: 5.0.0\n", it.addr.Address)
		if it.host != "" && diags[i] != "" {
			fmt.Fprintf(&msg, "Remote-MTA: dns; %s\nDiagnostic-Code: smtp; %s\n", it.host, diags[i])
		}
		msg.WriteString("\n")
	}
	// The -D file is the id line ("ID-D\n") and the body.
	headersOnly := limit > 0 && size+int64(len(h.ID))+3 > limit
	if headersOnly {
		fmt.Fprintf(&msg, "--%s\nContent-type: text/rfc822-headers\n\n", boundary)
	} else {
		fmt.Fprintf(&msg, "--%s\nContent-type: message/rfc822\n\n", boundary)
	}
	fmt.Fprintf(&msg, "Return-path: <%s>\n", h.Sender)
	msg.WriteString(h.Headers.String())
	if headersOnly {
		msg.WriteString("X-Exim-DSN-Information: Due to administrative limits only headers are returned\n")
	}
	msg.WriteString("\n")
	if berr == nil && !headersOnly {
		io.Copy(&msg, body)
	}
	fmt.Fprintf(&msg, "\n--%s--\n", boundary)
	return m.store(to, msg.Bytes())
}

// store submits a message generated here (a bounce) from <> to rcpt, as
// the Exim user, with protocol "local".
func (m *attempt) store(rcpt string, data []byte) error {
	d := m.d
	if d.Queue == nil {
		return fmt.Errorf("no queue to store the message in")
	}
	in, err := receive.Read(bytes.NewReader(data), receive.ReadOptions{Format: receive.FormatLocal})
	if err != nil {
		return fmt.Errorf("bounce: %w", err)
	}
	defer in.Body.Close()
	u := d.EximUser
	opts := receive.OptionsFromConfig(d.Config)
	env := &receive.Envelope{
		Sender: "", Recipients: []string{rcpt}, Protocol: "local",
		Local: true, Trusted: true,
		User:  receive.User{Login: u.Login, UID: u.UID, GID: u.GID},
		Ident: u.Login, AuthID: u.Login,
	}
	id := d.Queue.NewID()
	now := d.now()
	exp := func(text string, extra map[string]string) (string, error) {
		ctx := &expand.Context{Vars: varOverlay{m: extra, next: d.Vars}, Now: d.Now}
		return expand.String(text, ctx)
	}
	intake := &receive.Intake{Options: &opts, Envelope: env, ID: string(id), Now: now, Expand: exp}
	if err := intake.FixUp(in); err != nil {
		return fmt.Errorf("bounce: %w", err)
	}
	body, err := in.Body.Bytes()
	if err != nil {
		return fmt.Errorf("bounce: %w", err)
	}
	a := &queue.Arrival{
		ID: id, Sender: "", Recipients: env.Recipients, Headers: in.Headers, Body: body,
		Received: now, Login: u.Login, UID: u.UID, GID: u.GID, Protocol: "local",
		Local: true, Ident: u.Login, MessageID: queue.MessageIDOf(in.Headers), MessageIDCreated: true,
		BounceFor: string(m.h.ID), LocalError: true,
	}
	return d.Queue.Store(m.ctx, a, queue.Foreground)
}

var _ = os.Getpid
var _ context.Context
