package router

import (
	"fmt"
	"os"

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
		return nil, &Result{Status: Defer, Message: "error in filter data: Sieve filters are not supported by exigo"}
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
		Mailbox:      parseMailbox,
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
