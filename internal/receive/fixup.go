package receive

import (
	"fmt"
	"strings"
	"time"

	"github.com/exigo-mta/exigo/internal/message"
	"github.com/exigo-mta/exigo/internal/rewrite"
)

// Expander expands an option value (received_header_text,
// message_id_header_domain ...) with the session's variables overlaid by
// vars, the message variables intake knows.
type Expander func(text string, vars map[string]string) (string, error)

// Intake applies Exim's reception processing to one message.
type Intake struct {
	Options  *Options
	Envelope *Envelope
	// ID is the message id (from the spool package), "1xWrXf-0000lQ-29".
	ID string
	// Now is the reception time (Received:, Date:).
	Now time.Time
	// Expand expands option strings; nil expands nothing (texts are used
	// as they are).
	Expand Expander
	// Extract is -t: take recipients from the headers and drop Bcc:.
	Extract bool
	// Test is -bem: no Received: is added (but $received_count counts
	// it) and no Sender: is created, as Exim's -bem shows.
	Test bool
	// NoQualify is -bnq: leave unqualified header addresses alone.
	NoQualify bool
	// Rewrite is the rewrite section's rules, applied to the envelope
	// and the header lines (nil: none, or already applied by the SMTP
	// session).
	Rewrite *rewrite.Rules
	// RewriteMarks are the deleted lines recording rewritten envelope
	// addresses that the SMTP session made (see RewriteEnvelope); they
	// go where FixUp puts its own.
	RewriteMarks message.Headers
	// RewriteFixupsOnly says the SMTP session has rewritten the envelope
	// and the message's own header lines: Rewrite applies only to the
	// lines the fix-ups add.
	RewriteFixupsOnly bool
	// SenderAsGiven, when not empty, is the sender before the SMTP
	// session rewrote it while verifying it; the fix-ups use it.
	SenderAsGiven string
}

// Date formats t as Exim writes it in Date: and Received: headers.
func Date(t time.Time) string {
	return t.Format("Mon, 2 Jan 2006 15:04:05 -0700")
}

func (in *Intake) expand(text string, vars map[string]string) (string, error) {
	if in.Expand == nil {
		return text, nil
	}
	return in.Expand(text, vars)
}

// localFixups reports whether the local-message fix-ups apply (spec
// "Message processing": locally originated, or submission mode, and not
// suppress_local_fixups).
func (in *Intake) localFixups() bool {
	e := in.Envelope
	return (e.Local || e.Submission != nil) && !e.SuppressLocalFixups
}

// FixUp applies the header fix-ups to m in Exim's order: removal of
// Return-Path:/Envelope-To:/Delivery-Date:, -t recipient extraction and
// Bcc: removal, qualification of unqualified header addresses, Sender:
// checks, then Resent-Date:/Resent-Message-Id: at the top or
// Message-Id:/From:/Sender:/Date: at the end, and finally Received: at the
// very top. Deleted and replaced headers stay in m.Headers with type '*'
// (as in the -H spool file); replacements follow the line they replace.
// The envelope's recipients (-t) and sender (submission mode) may change.
func (in *Intake) FixUp(m *Message) error {
	o := in.Options
	hs := m.Headers
	// Spec "Message processing", sections "The Delivery-date: header
	// line", "The Envelope-to: header line", "The Return-path: header
	// line".
	for i := range hs {
		switch strings.ToLower(hs[i].Name) {
		case "return-path":
			if o.ReturnPathRemove {
				hs[i].Type = '*'
			}
		case "envelope-to":
			if o.EnvelopeToRemove {
				hs[i].Type = '*'
			}
		case "delivery-date":
			if o.DeliveryDateRemove {
				hs[i].Type = '*'
			}
		}
	}
	resent := false
	for _, h := range hs {
		if h.Type != '*' && len(h.Name) > 7 && strings.EqualFold(h.Name[:7], "resent-") {
			resent = true
			break
		}
	}
	if in.Extract {
		in.extract(hs, resent)
	}
	// Chapter "Address rewriting", section "When does rewriting
	// happen?": the envelope is rewritten before the header lines (and
	// before Received: shows the sender).
	rcptMarks, senderMarks := splitMarks(in.RewriteMarks)
	rules := in.Rewrite
	if in.RewriteFixupsOnly {
		rules = nil
	}
	rcptMarks = append(rcptMarks, rewriteRecipients(rules, in.Envelope)...)
	// The fix-ups see the sender as it came (a From: made from it is
	// rewritten as a header line); Received: shows it rewritten
	// (observed with Exim 4.96).
	rewrittenSender := in.Envelope.Sender
	asGiven := in.SenderAsGiven
	if len(senderMarks) > 0 {
		asGiven = strings.TrimSpace(senderMarks[0].Value())
	}
	if asGiven != "" {
		in.Envelope.Sender = asGiven
	}
	hs, qualified := in.qualify(hs, resent)
	fix := in.localFixups()
	var top, tail message.Headers
	has := func(name string) bool {
		for _, h := range hs {
			if h.Type != '*' && strings.EqualFold(h.Name, name) {
				return true
			}
		}
		return false
	}
	prefix := ""
	if resent {
		prefix = "Resent-"
	}
	// Sender: for local messages from untrusted users (section "The
	// Sender: header line") and submission mode.
	senderHdr, removeSender := in.senderHeader(hs, prefix)
	if removeSender {
		for i := range hs {
			if hs[i].Type != '*' && strings.EqualFold(hs[i].Name, prefix+"Sender") {
				hs[i].Type = '*'
			}
		}
	}
	if fix {
		if !has(prefix + "Date") {
			if resent {
				top = append(top, newHeader("Resent-Date", Date(in.Now), ' '))
			}
		}
		if !has("Message-Id") && !has("Resent-Message-Id") || resent && !has("Resent-Message-Id") {
			mid, err := in.messageID()
			if err != nil {
				return err
			}
			if resent {
				top = append(top, newHeader("Resent-Message-Id", mid, 'I'))
			} else {
				tail = append(tail, newHeader("Message-Id", mid, 'I'))
			}
		}
		if !has(prefix + "From") {
			if f := in.fromValue(); f != "" {
				tail = append(tail, newHeader(prefix+"From", f, 'F'))
			}
		}
		if senderHdr != "" {
			tail = append(tail, newHeader(prefix+"Sender", senderHdr, 'S'))
		}
		if !resent && !has("Date") {
			tail = append(tail, newHeader("Date", Date(in.Now), ' '))
		}
	}
	in.Envelope.Sender = rewrittenSender
	senderMarks = append(senderMarks, rewriteSender(rules, in.Envelope)...)
	if rules != nil {
		hs = rewriteHeaders(rules, hs, qualified)
	}
	if in.Rewrite != nil {
		tail = rewriteHeaders(in.Rewrite, tail, nil)
	}
	tail = placeMarks(tail, rcptMarks, senderMarks)
	out := make(message.Headers, 0, len(hs)+len(top)+len(tail)+1)
	if !in.Test {
		rcv, err := in.received()
		if err != nil {
			return err
		}
		if rcv != "" {
			out = append(out, message.Header{Name: "Received", Text: rcv, Type: 'P'})
		}
	}
	out = append(out, top...)
	out = append(out, hs...)
	out = append(out, tail...)
	m.Headers = out
	return nil
}

func newHeader(name, value string, typ byte) message.Header {
	return message.Header{Name: name, Text: name + ": " + value + "\n", Type: typ}
}

// extract takes the -t recipients from To:/Cc:/Bcc: (or their Resent-
// forms when any Resent- header is present) and marks Bcc: deleted. Spec:
// chapter "The Exim command line", option -t; "Message processing",
// section "The Bcc: header line".
func (in *Intake) extract(hs message.Headers, resent bool) {
	e := in.Envelope
	names := []string{"to", "cc", "bcc"}
	prefix := ""
	if resent {
		prefix = "resent-"
	}
	var found []string
	for i := range hs {
		h := &hs[i]
		if h.Type == '*' {
			continue
		}
		ln := strings.ToLower(h.Name)
		for _, n := range names {
			if ln == prefix+n {
				found = append(found, headerAddresses(h.Text, in.Options.QualifyRecipient)...)
				if n == "bcc" {
					h.Type = '*'
				}
			}
		}
	}
	args := e.Recipients
	var rcpts []string
	seen := map[string]bool{}
	if in.Options.ExtractAddressesRemoveArguments {
		for _, a := range args {
			seen[strings.ToLower(a)] = true
		}
	} else {
		for _, a := range args {
			if !seen[strings.ToLower(a)] {
				seen[strings.ToLower(a)] = true
				rcpts = append(rcpts, a)
			}
		}
	}
	for _, a := range found {
		if !seen[strings.ToLower(a)] {
			seen[strings.ToLower(a)] = true
			rcpts = append(rcpts, a)
		}
	}
	e.Recipients = rcpts
}

// qualify adds the qualify domain to unqualified addresses in address
// headers, replacing each changed header by a new one right after it.
// Spec "Message processing", section "Unqualified addresses". It also
// returns the indices in its result of the headers it made by
// qualifying (not those made from a login-only From:, or Resent-From:
// when resent is set).
func (in *Intake) qualify(hs message.Headers, resent bool) (message.Headers, map[int]bool) {
	e, o := in.Envelope, in.Options
	if in.NoQualify {
		return hs, nil
	}
	made := map[int]bool{}
	var loginFrom message.Headers
	out := make(message.Headers, 0, len(hs))
	for _, h := range hs {
		out = append(out, h)
		if h.Type == '*' {
			continue
		}
		var domain string
		switch strings.ToLower(h.Name) {
		case "from", "sender", "reply-to", "resent-from", "resent-sender":
			if !e.Local && !e.UnqualifiedSender {
				continue
			}
			domain = o.QualifyDomain
		case "to", "cc", "bcc", "resent-to", "resent-cc", "resent-bcc":
			if !e.Local && !e.UnqualifiedRecipient {
				continue
			}
			domain = o.QualifyRecipient
		default:
			continue
		}
		text, changed := qualifyHeader(h.Text, domain)
		lname := strings.ToLower(h.Name)
		from := "from"
		if resent {
			from = "resent-from"
		}
		if lname == from && e.Local && !e.LocalSMTP && !e.SuppressLocalFixups &&
			e.User.Login != "" && strings.TrimSpace(h.Value()) == e.User.Login {
			// A From: with just the caller's login is replaced by the
			// full constructed address, added after the message's own
			// lines (section "The From: header line"; observed with
			// Exim 4.96, for trusted callers too: with -f the phrase
			// is the -F name only, "From:  <login@qualify_domain>").
			out[len(out)-1].Type = '*'
			name := in.userName()
			if e.SenderSet {
				name = e.FullName
			}
			v := e.User.Login + "@" + o.QualifyDomain
			if name != "" || e.SenderSet {
				v = quotePhrase(name) + " <" + v + ">"
			}
			loginFrom = append(loginFrom, message.Header{Name: h.Name, Text: h.Name + ": " + v + "\n", Type: h.Type})
			continue
		}
		if !changed {
			continue
		}
		out[len(out)-1].Type = '*'
		made[len(out)] = true
		out = append(out, message.Header{Name: h.Name, Text: text, Type: h.Type})
	}
	out = append(out, loginFrom...)
	return out, made
}

// userName is the caller's full name: -F, or the gecos field with "&"
// replaced by the capitalized login (section "Constructed addresses").
func (in *Intake) userName() string {
	e := in.Envelope
	if e.FullName != "" {
		return e.FullName
	}
	g := e.User.Gecos
	if i := strings.IndexByte(g, ','); i >= 0 {
		g = g[:i]
	}
	if strings.Contains(g, "&") && e.User.Login != "" {
		l := e.User.Login
		g = strings.ReplaceAll(g, "&", strings.ToUpper(l[:1])+l[1:])
	}
	return g
}

// constructed is "name <login@qualify_domain>" for the caller.
func (in *Intake) constructed() string {
	addr := in.Envelope.User.Login + "@" + in.Options.QualifyDomain
	name := in.userName()
	if name == "" {
		return addr
	}
	return quotePhrase(name) + " <" + addr + ">"
}

// fromValue is the value of a From: header created for a message that
// lacks one, or "".
func (in *Intake) fromValue() string {
	e := in.Envelope
	if e.Submission != nil && !e.Local {
		// The name= option becomes the phrase of the address.
		withName := func(a string) string {
			if e.Submission.Name != "" {
				return quotePhrase(e.Submission.Name) + " <" + a + ">"
			}
			return a
		}
		if e.Sender != "" {
			return withName(e.Sender)
		}
		if a := in.submissionAddress(); a != "" {
			return withName(a)
		}
		return ""
	}
	// Local SMTP (-bs, -bS): Exim builds From: from the envelope sender
	// alone, and adds none for the null sender.
	if e.Local && (e.LocalSMTP || strings.HasPrefix(e.Protocol, "local-") && strings.Contains(e.Protocol, "smtp")) {
		return e.Sender
	}
	// A sender set with -f by a trusted caller (observed with Exim 4.96:
	// "-f s@x.example" gives "From: s@x.example", with -F "Name
	// <s@x.example>", and -f <> no From: at all).
	if e.Local && e.SenderSet {
		if e.Sender == "" || e.FullName == "" {
			return e.Sender
		}
		return quotePhrase(e.FullName) + " <" + e.Sender + ">"
	}
	return in.constructed()
}

// submissionAddress is the address submission mode builds from
// $authenticated_id and the domain= option.
func (in *Intake) submissionAddress() string {
	e := in.Envelope
	if e.AuthID == "" || e.Submission == nil {
		return ""
	}
	s := e.Submission
	switch {
	case !s.DomainSet:
		return e.AuthID + "@" + in.Options.QualifyDomain
	case s.Domain == "":
		return e.AuthID
	}
	return e.AuthID + "@" + s.Domain
}

// senderHeader decides the Sender: rules: it returns the value of a
// Sender: header to add ("" for none) and whether existing ones are
// removed. Spec "Message processing", section "The Sender: header line".
func (in *Intake) senderHeader(hs message.Headers, prefix string) (string, bool) {
	e, o := in.Envelope, in.Options
	if e.SuppressLocalFixups {
		return "", false
	}
	fromAddr := func() string {
		for _, h := range hs {
			if h.Type != '*' && strings.EqualFold(h.Name, prefix+"From") {
				if as := headerAddresses(h.Text, ""); len(as) > 0 {
					return as[0]
				}
			}
		}
		return ""
	}
	if e.Submission != nil && !e.Local {
		if e.Submission.SenderRetain {
			return "", false
		}
		a := in.submissionAddress()
		if a == "" {
			return "", true
		}
		// Without a From: header, the one created from the submission
		// address (with name=) stands alone: no Sender: is added.
		if fromAddr() == "" {
			return "", false
		}
		if !in.fromMatches(fromAddr(), a) {
			e.Sender = a
			if e.Submission.Name != "" {
				return quotePhrase(e.Submission.Name) + " <" + a + ">", true
			}
			return a, true
		}
		return "", true
	}
	if !e.Local || e.Trusted {
		return "", false
	}
	remove := !o.LocalSenderRetain
	if !o.LocalFromCheck || in.Test {
		return "", remove
	}
	want := e.User.Login + "@" + o.QualifyDomain
	f := fromAddr()
	if f == "" || in.fromMatches(f, want) {
		return "", remove
	}
	return in.constructed(), remove
}

// fromMatches compares the From: address with the expected sender,
// allowing local_from_prefix/suffix (only plain "*" wildcards handled).
func (in *Intake) fromMatches(from, want string) bool {
	if strings.EqualFold(from, want) {
		return true
	}
	o := in.Options
	if o.LocalFromPrefix == "" && o.LocalFromSuffix == "" {
		return false
	}
	fl, fd, ok1 := strings.Cut(from, "@")
	wl, wd, ok2 := strings.Cut(want, "@")
	if !ok1 || !ok2 || !strings.EqualFold(fd, wd) {
		return false
	}
	return strings.HasSuffix(fl, wl) && o.LocalFromPrefix == "*" || strings.HasPrefix(fl, wl) && o.LocalFromSuffix == "*"
}

// messageID builds "<E{id}[.text]@{domain}>" (section "The Message-ID:
// header line"; options message_id_header_text/_domain).
func (in *Intake) messageID() (string, error) {
	o := in.Options
	text, err := in.expand(o.MessageIDHeaderText, in.vars(nil))
	if err != nil {
		return "", fmt.Errorf("expansion of \"%s\" (message_id_header_text) failed: %w", o.MessageIDHeaderText, err)
	}
	domain, err := in.expand(o.MessageIDHeaderDomain, in.vars(nil))
	if err != nil {
		return "", fmt.Errorf("expansion of \"%s\" (message_id_header_domain) failed: %w", o.MessageIDHeaderDomain, err)
	}
	if domain == "" {
		domain = o.PrimaryHostname
	}
	var b strings.Builder
	b.WriteString("<E")
	b.WriteString(in.ID)
	if text != "" {
		b.WriteByte('.')
		b.WriteString(sanitize(text, false))
	}
	b.WriteByte('@')
	b.WriteString(sanitize(domain, true))
	b.WriteByte('>')
	return b.String(), nil
}

// sanitize replaces characters not allowed in a message id part with
// "-": RFC 5322 atext for the text part; letters, digits, "-" and "." for
// the domain.
func sanitize(s string, domain bool) string {
	b := []byte(s)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-'
		if domain {
			ok = ok || c == '.'
		} else {
			ok = ok || strings.IndexByte("!#$%&'*+/=?^_`{|}~", c) >= 0
		}
		if !ok {
			b[i] = '-'
		}
	}
	return string(b)
}

// received builds the Received: header: received_header_text expanded,
// then ";\n\t" and the date (spec "Message processing", section "The
// Received: header line").
func (in *Intake) received() (string, error) {
	o := in.Options
	text, err := in.expand(o.ReceivedHeaderText, in.vars(nil))
	if err != nil {
		return "", fmt.Errorf("expansion of \"%s\" (received_header_text) failed: %w", o.ReceivedHeaderText, err)
	}
	if text == "" {
		return "", nil
	}
	return text + ";\n\t" + Date(in.Now) + "\n", nil
}

// quotePhrase makes a display name conform to RFC 5322: runs of text that
// hold characters other than atext and white space are put in quotes;
// quoted strings in the name are kept.
func quotePhrase(name string) string {
	var b strings.Builder
	i := 0
	for i < len(name) {
		if name[i] == '"' {
			j := skipQuoted(name, i)
			b.WriteString(name[i:j])
			i = j
			continue
		}
		j := strings.IndexByte(name[i:], '"')
		if j < 0 {
			j = len(name)
		} else {
			j += i
		}
		seg := name[i:j]
		core := strings.TrimRight(seg, " \t")
		trail := seg[len(core):]
		if needsQuote(core) {
			b.WriteString(`"` + strings.ReplaceAll(strings.ReplaceAll(core, `\`, `\\`), `"`, `\"`) + `"`)
		} else {
			b.WriteString(core)
		}
		b.WriteString(trail)
		i = j
	}
	return b.String()
}

func needsQuote(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ' ' || c == '\t' ||
			strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0 {
			continue
		}
		return true
	}
	return false
}
