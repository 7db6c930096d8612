package router

import (
	"fmt"
	"os"
	"strings"

	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/filter"
)

// runFilter runs an Exim filter file for the redirect router (option
// allow_filter) and turns its deliver, save and pipe commands into
// redirection items. When the filter sets up no significant delivery the
// address is passed on as after an unseen router, or declined when
// nothing was generated. Spec: chapter "The redirect router", section
// "Redirection data"; filter document, chapter "Exim filter files".
func (c *call) runFilter(data string) (*rdList, *Result) {
	if !filter.IsEximFilter(data) {
		return c.runSieve(data)
	}
	o := c.r.opts
	where := "filter data"
	if !o.IsSet("data") {
		where = "filter file"
	}
	filterErr := func(err error) *Result {
		return &Result{Status: Defer, Errno: -17, Message: fmt.Sprintf("error in %s: %s", where, err)}
	}
	f, err := filter.ParseWith(data, filter.Options{AllowFail: o.Bool("allow_fail"), AllowFreeze: o.Bool("allow_freeze"), AllowDefer: o.Bool("allow_defer")})
	if err != nil {
		return nil, filterErr(err)
	}
	res, err := f.Run(&filter.Env{
		Expand: func(s string, v filter.Vars) (string, error) {
			ctx := c.exp()
			ctx.Vars = filterVars{c.v, v.Extra}
			ctx.Numeric = v.Numeric
			return expand.String(s, ctx)
		},
		ErrorMessage: isNullSender(c.v),
		NeedLogfile:  !c.mode.Verify && !c.mode.AddressTest,
		Mailbox:      func(s string) (string, error) { return parseMailboxWith(s, c.s.cfg.Main.Bool("allow_domain_literals")) },
	})
	if err != nil {
		return nil, filterErr(err)
	}
	if !c.mode.Verify && !c.mode.AddressTest {
		c.logwrite(res)
	}
	// Spec chapter "The redirect router", allow_fail, allow_defer and
	// allow_freeze; in a user filter freeze defers the address
	// (observed with Exim 4.96).
	switch res.Outcome {
	case filter.Fail:
		return nil, &Result{Status: Fail, Message: res.Message}
	case filter.Defer:
		return nil, &Result{Status: Defer, Message: res.Message, Public: res.Message != ""}
	case filter.Freeze:
		return nil, &Result{Status: Defer, Message: res.Message}
	}
	l := &rdList{}
	for _, d := range res.Deliveries {
		it := rdItem{text: d.Text, kind: rdAddress}
		switch d.Kind {
		case filter.File:
			it.kind = rdFile
			if len(d.Text) > 0 && d.Text[len(d.Text)-1] == '/' {
				it.kind = rdDirectory
			}
		case filter.Pipe:
			it.kind, it.text = rdPipe, "|"+d.Text
		}
		l.items = append(l.items, it)
	}
	// Autoreplies take their place among the deliveries in the order
	// the filter set them up (observed with Exim 4.96 -bt).
	for _, ml := range res.Mails {
		rv := replyValues(ml, c.v)
		it := rdItem{kind: rdReply, text: ">" + bareList(rv["to"]), reply: rv}
		at := min(ml.Seq, len(l.items))
		l.items = append(l.items[:at], append([]rdItem{it}, l.items[at:]...)...)
	}
	if !res.Significant {
		if len(l.items) == 0 {
			return nil, &Result{Status: Decline}
		}
		c.unseen = true
	}
	return l, nil
}

// isNullSender reports whether $sender_address is empty (a bounce).
func isNullSender(v expand.Vars) bool {
	s, ok := v.Var("sender_address")
	return ok && s == ""
}

// filterVars puts the filter's own variables over the router's.
type filterVars struct {
	base  expand.Vars
	extra map[string]string
}

// Var implements expand.Vars.
func (v filterVars) Var(name string) (string, bool) {
	if s, ok := v.extra[name]; ok {
		return s, true
	}
	return v.base.Var(name)
}

// logwrite appends the lines of a filter's logwrite commands to its
// logfile (mode 0600 when created). Filter document, chapter "Exim
// filter files", section "The logwrite command".
func (c *call) logwrite(res *filter.Result) {
	if res.Logfile == "" || len(res.Logwrites) == 0 {
		return
	}
	if uf := c.s.env.UserFiles; uf != nil && c.addr.UID >= 0 {
		if err := uf.AppendFile(c.r.Name, c.lp, c.addr.UID, c.addr.GID, res.Logfile, []byte(strings.Join(res.Logwrites, ""))); err != nil {
			c.debugf("failed to open filter log file %s: %v", res.Logfile, err)
		}
		return
	}
	f, err := os.OpenFile(res.Logfile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		c.debugf("failed to open filter log file %s: %v", res.Logfile, err)
		return
	}
	defer f.Close()
	for _, l := range res.Logwrites {
		f.WriteString(l)
	}
}

// replyValues turns a filter's mail or vacation command into the values
// the autoreply transport takes. Without "to", the reply goes to
// $reply_address. Filter document, chapter "Exim filter files",
// sections "The mail command" and "The vacation command".
func replyValues(ml filter.Mail, v expand.Vars) map[string]string {
	r := map[string]string{}
	for k, s := range ml.Fields {
		r[k] = s
	}
	if _, ok := r["to"]; !ok {
		r["to"], _ = v.Var("reply_address")
	}
	if s, ok := r["extra_headers"]; ok {
		r["headers"] = s
		delete(r, "extra_headers")
	}
	if ml.ExpandFile {
		r["file_expand"] = "true"
	}
	if ml.Return {
		r["return_message"] = "true"
	}
	return r
}

// bareList turns a header-style address list into its bare addresses
// joined by commas, as the log shows an autoreply's recipients
// (">a@b,c@d", observed with Exim 4.96).
func bareList(s string) string {
	var out []string
	depth, quoted, start := 0, false, 0
	flush := func(part string) {
		part = strings.TrimSpace(part)
		if part == "" {
			return
		}
		if a, err := parseMailbox(part); err == nil && a != "" {
			part = a
		}
		out = append(out, part)
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case '<':
			depth++
		case '>':
			depth--
		case ',':
			if !quoted && depth <= 0 {
				flush(s[start:i])
				start = i + 1
			}
		}
	}
	flush(s[start:])
	return strings.Join(out, ",")
}
