package router

import (
	"crypto/md5"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/filter"
)

// runSieve runs a Sieve filter for the redirect router (allow_filter):
// keep and fileinto become file deliveries through file_transport
// (keep to the folder "inbox"), redirect becomes a new address. An
// error in the script leaves the actions taken before it and keeps the
// message as well; nothing is logged (observed with Exim 4.96). A
// discard with nothing else delivered is logged as "discarded". Filter
// document, chapter "Sieve filter files"; spec chapter "The redirect
// router", section "Redirection data".
func (c *call) runSieve(data string) (*rdList, *Result) {
	o := c.r.opts
	env := &filter.SieveEnv{
		Headers:   func(string) []string { return nil },
		Recipient: c.addr.Address,
		Vacation:  o.IsSet("sieve_vacation_directory"),
	}
	if hb, ok := c.s.env.Message.(*expand.HeaderBlock); ok && hb != nil {
		env.Headers = filter.SieveHeaders(hb.Block)
	}
	env.Sender, _ = c.v.Var("sender_address")
	if s, ok := c.v.Var("message_size"); ok {
		env.Size, _ = strconv.ParseInt(s, 10, 64)
	}
	res, err := filter.RunSieve(data, env)
	if err != nil {
		c.debugf("Sieve error: %v", err)
	}
	if c.mode.AddressTest && c.s.env.DebugPrint != nil {
		// -bt shows how the filter ended on its standard error
		// (observed with Exim 4.96).
		switch {
		case err != nil:
			fmt.Fprintf(c.s.env.DebugPrint, "Sieve error: %v\n", err)
		case res.ImplicitKeep:
			fmt.Fprint(c.s.env.DebugPrint, "Implicit keep\n")
		default:
			fmt.Fprint(c.s.env.DebugPrint, "No implicit keep\n")
		}
	}
	l := &rdList{}
	for _, a := range res.Actions {
		if a.Kind == filter.Address {
			l.items = append(l.items, rdItem{kind: rdAddress, text: a.Text})
			continue
		}
		l.items = append(l.items, rdItem{kind: rdFile, text: a.Text})
	}
	for _, v := range res.Vacations {
		if rv := c.sieveVacation(v, env); rv != nil {
			l.items = append(l.items, rdItem{kind: rdReply, text: ">" + rv["to"], reply: rv})
		}
	}
	if err != nil || res.ImplicitKeep {
		l.items = append(l.items, rdItem{kind: rdFile, text: "inbox"})
	}
	if len(l.items) == 0 && res.Discarded {
		return nil, &Result{Status: Discard, Message: "discarded"}
	}
	return l, nil
}

// sieveVacation turns a vacation action into an autoreply for
// reply_transport, or nil when no reply is due. The reply goes to the
// envelope sender, only when the recipient (or one of :addresses) is
// in To:, Cc: or Bcc:, never to <>, to an automatic message or to a
// mailing list's owner; once per :days for each sender, remembered in
// sieve_vacation_directory. RFC 5230; filter document, chapter "Sieve
// filter files", section "Vacation"; the reply's form was observed
// with Exim 4.96.
func (c *call) sieveVacation(v filter.SieveVacation, env *filter.SieveEnv) map[string]string {
	sender := env.Sender
	if sender == "" {
		return nil
	}
	lp := strings.ToLower(sender)
	if i := strings.LastIndexByte(lp, '@'); i >= 0 {
		lp = lp[:i]
	}
	if strings.HasPrefix(lp, "owner-") || strings.HasSuffix(lp, "-request") || lp == "mailer-daemon" {
		return nil
	}
	for _, a := range env.Headers("auto-submitted") {
		if !strings.EqualFold(strings.TrimSpace(a), "no") {
			return nil
		}
	}
	mine := append([]string{env.Recipient}, v.Addresses...)
	found := false
	for _, h := range []string{"to", "cc", "bcc"} {
		for _, val := range env.Headers(h) {
			for _, a := range filter.SplitAddressList(val) {
				for _, m := range mine {
					if strings.EqualFold(a, m) {
						found = true
					}
				}
			}
		}
	}
	if !found {
		return nil
	}
	subject := v.Subject
	if subject == "" {
		orig := ""
		if s := env.Headers("subject"); len(s) > 0 {
			orig = s[0]
		}
		subject = qEncode("Auto: " + orig)
	}
	from := v.From
	if from == "" {
		from = env.Recipient
	}
	r := map[string]string{
		"to":      sender,
		"from":    from,
		"subject": subject,
		"headers": "MIME-Version: 1.0\nContent-Type: text/plain;\n\tcharset=\"utf-8\"\nContent-Transfer-Encoding: quoted-printable",
		"text":    qpEncode(v.Reason),
	}
	if dir, err := c.expandOpt("sieve_vacation_directory"); err == nil && dir != "" {
		// Exim creates the directory when it is missing, in the
		// delivery process: as the Exim user when
		// deliver_drop_privilege is set.
		if !c.mode.Verify && !c.mode.AddressTest {
			c.makeVacationDir(dir)
		}
		h := v.Handle
		if h == "" {
			h = v.Subject + "\x00" + v.From + "\x00" + v.Reason
		}
		r["once"] = filepath.Join(dir, fmt.Sprintf("%X", md5.Sum([]byte(h))))
		r["once_repeat"] = strconv.FormatInt(v.Days, 10) + "d"
	}
	return r
}

// qEncode returns s as one RFC 2047 "Q" encoded word in UTF-8 when it
// holds anything but letters, digits and "!*+-/".
func qEncode(s string) string {
	plain := true
	for i := 0; i < len(s); i++ {
		if !qSafe(s[i]) {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	var b strings.Builder
	b.WriteString("=?utf-8?Q?")
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ' ':
			b.WriteByte('_')
		case qSafe(c):
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "=%02X", c)
		}
	}
	b.WriteString("?=")
	return b.String()
}

func qSafe(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!*+-/", c) >= 0
}

// qpEncode encodes text as quoted-printable (RFC 2045 section 6.7),
// keeping its line breaks.
func qpEncode(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		n := 0
		for i := 0; i < len(line); i++ {
			c := line[i]
			var enc string
			switch {
			case (c == ' ' || c == '\t') && i == len(line)-1:
				enc = fmt.Sprintf("=%02X", c)
			case c >= 33 && c <= 126 && c != '=' || c == ' ' || c == '\t':
				enc = string(c)
			default:
				enc = fmt.Sprintf("=%02X", c)
			}
			if n+len(enc) > 75 {
				b.WriteString("=\n")
				n = 0
			}
			b.WriteString(enc)
			n += len(enc)
		}
	}
	return b.String()
}

// makeVacationDir creates sieve_vacation_directory when it is missing.
// A root process that stands for a delivery process without root
// (deliver_drop_privilege) gives the directory to the Exim user, so that
// the autoreply transports, which run as users, find it as under Exim.
func (c *call) makeVacationDir(dir string) {
	if _, err := os.Stat(dir); err == nil {
		return
	}
	if os.MkdirAll(dir, 0o700) != nil || os.Geteuid() != 0 || !c.s.cfg.Main.Bool("deliver_drop_privilege") {
		return
	}
	uid, uok := c.s.cfg.Main.Int("exim_user")
	gid, gok := c.s.cfg.Main.Int("exim_group")
	if uok && gok {
		os.Chown(dir, int(uid), int(gid))
	}
}
