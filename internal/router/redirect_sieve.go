package router

import (
	"strconv"

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
	l := &rdList{}
	for _, a := range res.Actions {
		if a.Kind == filter.Address {
			l.items = append(l.items, rdItem{kind: rdAddress, text: a.Text})
			continue
		}
		l.items = append(l.items, rdItem{kind: rdFile, text: a.Text})
	}
	if err != nil || res.ImplicitKeep {
		l.items = append(l.items, rdItem{kind: rdFile, text: "inbox"})
	}
	if len(l.items) == 0 && res.Discarded {
		return nil, &Result{Status: Discard, Message: "discarded"}
	}
	return l, nil
}
