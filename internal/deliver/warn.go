package deliver

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/mainlog"
	"github.com/exigo-mta/exigo/internal/queue"
)

// # Delay warnings
//
// Spec chapter "Main configuration", options delay_warning and
// delay_warning_condition, and chapter "Customizing bounce and warning
// messages", section "Customizing warning messages". Observed with Exim
// 4.96: the warning count in the -H file becomes the number of
// delay_warning times the message's age has passed (one warning is sent
// however many were passed); $warn_message_delay is the last time
// passed, as "N minutes" under two hours and "N hours" from then on.

// warningTimes parses delay_warning; nil means no warnings.
func warningTimes(cfg *config.Config) []time.Duration {
	s := strings.TrimSpace(cfg.Main.String("delay_warning"))
	if !cfg.Main.IsSet("delay_warning") && s == "" {
		s = "24h"
	}
	var out []time.Duration
	for _, f := range strings.Split(s, ":") {
		d, ok := config.ParseTime(strings.TrimSpace(f))
		if !ok || d <= 0 {
			return nil
		}
		out = append(out, d)
	}
	if len(out) > 10 {
		out = out[:10]
	}
	return out
}

// warningsDue returns how many of the warning times age has passed and
// the last of them.
func warningsDue(times []time.Duration, age time.Duration) (int, time.Duration) {
	n, last := 0, time.Duration(0)
	for _, t := range times {
		if t > age {
			return n, last
		}
		n, last = n+1, t
	}
	step := times[0]
	if k := len(times); k > 1 {
		step = times[k-1] - times[k-2]
	}
	if step <= 0 {
		return n, last
	}
	extra := int((age - last) / step)
	return n + extra, last + time.Duration(extra)*step
}

// delayText is $warn_message_delay.
func delayText(d time.Duration) string {
	if d < 2*time.Hour {
		return fmt.Sprintf("%d minutes", int(d/time.Minute))
	}
	return fmt.Sprintf("%d hours", int(d/time.Hour))
}

// templateItem returns the expander of the items of the message file
// named by option, and whether that file is used: item(i) is the i-th
// item expanded in ctx, false when the file is not used, the item is
// absent or empty, or its expansion fails (Exim's default text then).
func (m *attempt) templateItem(option string, ctx *expand.Context) (item func(int) (string, bool), fromFile bool) {
	items, fromFile := m.templateItems(option)
	return func(i int) (string, bool) {
		if !fromFile || i >= len(items) || items[i] == "" {
			return "", false
		}
		s, err := expand.String(items[i], ctx)
		if err != nil {
			return "", false
		}
		return s, true
	}, fromFile
}

// templateItems reads a bounce_message_file or warn_message_file: text
// items separated by lines of exactly four asterisks. ok is false (and
// the failure logged) when the file cannot be read.
func (m *attempt) templateItems(option string) ([]string, bool) {
	name, err := expand.String(m.d.Config.Main.String(option), &expand.Context{Vars: m.vars(), Now: m.d.Now})
	if err != nil || name == "" {
		return nil, false
	}
	data, err := os.ReadFile(name)
	if err != nil {
		m.logPanic(fmt.Sprintf("Failed to open %s for warning message texts: %v", name, err), mainlog.Main)
		return nil, false
	}
	return splitTemplate(string(data)), true
}

// splitTemplate splits a message template file into its items at lines
// of exactly four asterisks.
func splitTemplate(data string) []string {
	var items []string
	var cur strings.Builder
	for _, l := range strings.SplitAfter(data, "\n") {
		if strings.TrimRight(l, "\n") == "****" {
			items = append(items, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteString(l)
	}
	return append(items, cur.String())
}

// delayWarning prepares a delay warning when one is due (called with
// the message deferred, before its -H file is rewritten, which records
// the new warning count); m.warning sends it.
func (m *attempt) delayWarning() {
	h := m.h
	if h.Sender == "" || m.d.DontDeliver {
		return
	}
	var addrs []*item
	for _, it := range m.deferLog {
		if it.state == deferred {
			addrs = append(addrs, it)
		}
	}
	if len(addrs) == 0 {
		return
	}
	times := warningTimes(m.d.Config)
	if times == nil {
		return
	}
	// The age in whole seconds (observed: Exim 4.96 sends the second
	// warning of delay_warning = 30m to a message received exactly an
	// hour before, whatever its -received_time_usec).
	age := time.Duration(m.now.Unix()-h.Received.Unix()) * time.Second
	n, delay := warningsDue(times, age)
	if n <= h.WarningCount {
		return
	}
	before := h.WarningCount
	h.WarningCount = n
	dom := addrs[0].addr.Domain
	for _, it := range addrs[1:] {
		if it.addr.Domain != dom {
			dom = ""
		}
	}
	ctx := &expand.Context{Vars: varOverlay{m: expand.VarMap{"domain": dom}, next: m.vars()}, Message: &expand.HeaderBlock{Block: h.Headers}, Lookups: m.d.Lookups, Now: m.d.Now}
	cond, err := expand.String(m.d.Config.Main.String("delay_warning_condition"), ctx)
	switch strings.ToLower(strings.TrimSpace(cond)) {
	case "", "0", "no", "false":
		return
	}
	if err != nil {
		return
	}
	to := h.Sender
	// Sent once the message's own lines are logged.
	m.warning = func() {
		err := m.sendWarning(to, delay, addrs)
		var rej *generatedRejected
		if errors.As(err, &rej) {
			// A warning the non-SMTP ACL refuses is not counted as
			// sent, and the original message says nothing of it
			// (observed with Exim 4.96, unlike a bounce).
			h.WarningCount = before
			err = m.d.Spool.Rewrite(m.lock, h)
		}
		if err != nil {
			m.logPanic(fmt.Sprintf("%s Error in sending delay warning: %v", h.ID, err), mainlog.Main)
		}
	}
}

// sendWarning builds the warning (RFC 3464, Action: delayed) and stores
// it as a message from <>.
func (m *attempt) sendWarning(to string, delay time.Duration, addrs []*item) error {
	h := m.h
	cfg := m.d.Config
	qd := cfg.Main.String("qualify_domain")
	host := cfg.Main.String("primary_hostname")
	boundary := fmt.Sprintf("%d-eximdsn-%d", m.now.Unix(), rand.Int32())
	dtext := delayText(delay)
	vars := varOverlay{m: expand.VarMap{"warn_message_delay": dtext, "warn_message_recipients": to}, next: m.vars()}
	ctx := &expand.Context{Vars: vars, Message: &expand.HeaderBlock{Block: h.Headers}, Lookups: m.d.Lookups, Now: m.d.Now}
	item, _ := m.templateItem("warn_message_file", ctx)
	var msg bytes.Buffer
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
	} else {
		fmt.Fprintf(&msg, "Subject: Warning: message %s delayed %s\n", h.ID, dtext)
	}
	msg.WriteString("\n")
	fmt.Fprintf(&msg, "--%s\nContent-type: text/plain; charset=us-ascii\n\n", boundary)
	if s, ok := item(1); ok {
		msg.WriteString(s)
	} else {
		msg.WriteString("This message was created automatically by mail delivery software.\n")
		if to == h.Sender {
			msg.WriteString("A message that you sent has not yet been delivered to one or more of its\n")
		} else {
			fmt.Fprintf(&msg, "A message sent by\n\n  <%s>\n\nhas not yet been delivered to one or more of its\n", h.Sender)
		}
		fmt.Fprintf(&msg, "recipients after more than %s on the queue on %s.\n\n", dtext, host)
		fmt.Fprintf(&msg, "The message identifier is:     %s\n", h.ID)
		if s, ok := h.Headers.Decoded("subject", "UTF-8"); ok {
			fmt.Fprintf(&msg, "The subject of the message is: %s\n", s)
		}
		if s, ok := h.Headers.Decoded("date", "UTF-8"); ok {
			fmt.Fprintf(&msg, "The date of the message is:    %s\n", s)
		}
		msg.WriteString("\n")
		if len(addrs) == 1 {
			msg.WriteString("The address to which the message has not yet been delivered is:\n")
		} else {
			msg.WriteString("The addresses to which the message has not yet been delivered are:\n")
		}
	}
	msg.WriteString("\n")
	diags := make([]string, len(addrs))
	for i, it := range addrs {
		text, diag := warningEntry(it)
		msg.WriteString(text)
		diags[i] = diag
	}
	msg.WriteString("\n")
	if s, ok := item(2); ok {
		msg.WriteString(s)
	} else {
		msg.WriteString("No action is required on your part. Delivery attempts will continue for\n")
		msg.WriteString("some time, and this warning may be repeated at intervals if the message\n")
		msg.WriteString("remains undelivered. Eventually the mail delivery software will give up,\n")
		msg.WriteString("and when that happens, the message will be returned to you.\n")
	}
	fmt.Fprintf(&msg, "\n--%s\nContent-type: message/delivery-status\n\n", boundary)
	fmt.Fprintf(&msg, "Reporting-MTA: dns; %s\n\n", host)
	for i, it := range addrs {
		fmt.Fprintf(&msg, "Action: delayed\nFinal-Recipient: rfc822;%s\nStatus: 4.0.0\n", it.addr.Address)
		if it.host != "" && diags[i] != "" {
			fmt.Fprintf(&msg, "Remote-MTA: dns; %s\nDiagnostic-Code: smtp; %s\n", it.host, diags[i])
		}
		msg.WriteString("\n")
	}
	fmt.Fprintf(&msg, "--%s\nContent-type: text/rfc822-headers\n\n", boundary)
	fmt.Fprintf(&msg, "Return-path: <%s>\n", h.Sender)
	msg.WriteString(h.Headers.String())
	fmt.Fprintf(&msg, "\n\n--%s--\n", boundary)
	return m.storeTo([]string{to}, msg.Bytes())
}

// warningEntry is the paragraph of one delayed address.
func warningEntry(it *item) (text, diag string) {
	var b strings.Builder
	b.WriteString("  " + it.addr.Address + "\n")
	if it.host != "" {
		b.WriteString("    " + hostLine(it) + "\n")
	}
	if sm := smtpSplit().FindStringSubmatch(it.msg); sm != nil {
		b.WriteString("    Delay reason: " + sm[1] + "\n    " + sm[2] + "\n")
		diag = sm[2]
	} else if it.msg != "" {
		b.WriteString("    Delay reason: " + strings.ReplaceAll(it.msg, "\n", "\n    ") + "\n")
	}
	return b.String(), diag
}
