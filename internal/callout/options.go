// Package callout performs Exim's callout verification: an SMTP dialogue
// with the hosts an address routes to, up to RCPT, to find out whether
// they would take it (verify = recipient/callout and verify =
// sender/callout), with the callout cache in the hints database
// (spool/db/callout).
//
// Exim specification: chapter "Access control lists", sections
// "Callout verification", "Additional parameters for callouts" and
// "Callout caching".
package callout

import (
	"fmt"
	"strings"
	"time"

	"github.com/exigo-mta/exigo/internal/config"
)

// Options are the parameters of callout[=...].
type Options struct {
	// Timeout is for each response (default 30s); Connect for the
	// connection (default Timeout); MaxWait for the whole callout
	// (default four times Timeout).
	Timeout, Connect, MaxWait time.Duration
	// DeferOK makes a temporary failure a success (without caching).
	DeferOK bool
	// NoCache neither reads nor writes the cache.
	NoCache bool
	// Random checks a made-up local part first.
	Random bool
	// Postmaster checks postmaster@domain after a success, with
	// PostmasterFrom in MAIL; FullPostmaster tries plain "postmaster"
	// too.
	Postmaster, FullPostmaster bool
	PostmasterFrom             string
	// UseSender and UsePostmaster choose the MAIL address of recipient
	// callouts; MailFrom (header_sender only) sets it.
	UseSender, UsePostmaster bool
	MailFrom                 *string
	// Hold keeps the connection for delivery (accepted, not acted on).
	Hold bool
}

// Parse reads the callout parameters from the options of a verify
// condition (the text after "recipient/" or "sender/", items separated
// by "/"). ok is false when there is no callout option.
// condition names the condition in error texts ("recipient/callout=x").
func Parse(options, condition string) (o Options, ok bool, err error) {
	o.Timeout = 30 * time.Second
	for _, item := range strings.Split(options, "/") {
		item = strings.TrimSpace(item)
		name, value, hasValue := strings.Cut(item, "=")
		if n := strings.TrimSpace(name); strings.HasPrefix(n, "callout") && n != "callout" && n != "callout_defer_ok" {
			return o, false, fmt.Errorf("'=' expected after \"callout\" in ACL condition \"%s\"", condition)
		}
		switch strings.TrimSpace(name) {
		case "callout":
			ok = true
		case "callout_defer_ok":
			o.DeferOK = true
			continue
		case "check_postmaster":
			o.Postmaster = true
			continue
		default:
			continue
		}
		if !hasValue {
			continue
		}
		for _, p := range strings.Split(value, ",") {
			p = strings.TrimSpace(p)
			pn, pv, _ := strings.Cut(p, "=")
			pn = strings.TrimSpace(pn)
			pv = strings.TrimSpace(pv)
			switch pn {
			case "defer_ok":
				o.DeferOK = true
			case "no_cache":
				o.NoCache = true
			case "random":
				o.Random = true
			case "postmaster":
				o.Postmaster, o.PostmasterFrom = true, ""
			case "fullpostmaster":
				o.Postmaster, o.FullPostmaster, o.PostmasterFrom = true, true, ""
			case "postmaster_mailfrom":
				o.Postmaster, o.PostmasterFrom = true, pv
			case "use_sender":
				o.UseSender = true
			case "use_postmaster":
				o.UsePostmaster = true
			case "mailfrom":
				v := pv
				o.MailFrom = &v
			case "hold":
				o.Hold = true
			case "connect", "maxwait":
				d, good := config.ParseTime(pv)
				if !good {
					return o, ok, fmt.Errorf("bad time value in ACL condition \"verify %s\"", condition)
				}
				if pn == "connect" {
					o.Connect = d
				} else {
					o.MaxWait = d
				}
			default:
				// Anything else is the timeout (observed with Exim
				// 4.96: an unknown word is a bad time value).
				d, good := config.ParseTime(p)
				if !good {
					return o, ok, fmt.Errorf("bad time value in ACL condition \"verify %s\"", condition)
				}
				o.Timeout = d
			}
		}
	}
	if o.Connect == 0 {
		o.Connect = o.Timeout
	}
	if o.MaxWait == 0 {
		o.MaxWait = 4 * o.Timeout
	}
	return o, ok, nil
}
