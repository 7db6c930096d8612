// Package checks implements acl.Checker: the ACL conditions that need an
// outside service. It dispatches dnslists to internal/dnsbl, spf and
// spf_guess to internal/spf and malware to internal/malware, and sets the
// variables those conditions define ($dnslist_*, $spf_*, $malware_name).
// Conditions it does not know (spam, regex, mime_regex, decode,
// dkim_*, seen, verify = csa) fail with an error, which defers them.
//
// One Checks is shared by all sessions of a configuration; each SMTP
// session takes its own Session (which holds the dnslists cache and the
// message being received).
package checks

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/exigo-mta/exigo/internal/acl"
	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/dns"
	"github.com/exigo-mta/exigo/internal/dnsbl"
	"github.com/exigo-mta/exigo/internal/lists"
	"github.com/exigo-mta/exigo/internal/mainlog"
	"github.com/exigo-mta/exigo/internal/malware"
	"github.com/exigo-mta/exigo/internal/pcre"
	"github.com/exigo-mta/exigo/internal/spf"
)

// Checks holds what the checks of one configuration share.
type Checks struct {
	cfg *config.Config
	// Resolver answers the DNS questions of dnslists and SPF.
	Resolver *dns.Resolver
	// Expand expands option values that start with "$" (av_scanner) in
	// the session's context; nil leaves them as they are.
	Expand func(s *acl.Session, text string) (string, error)
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// New returns the checks for a configuration, asking res for DNS.
func New(cfg *config.Config, res *dns.Resolver) *Checks {
	return &Checks{cfg: cfg, Resolver: res}
}

// Session is the per-session state; it implements acl.Checker.
type Session struct {
	c     *Checks
	cache dnsbl.Cache
	// data is the message as it is scanned (headers and body), set by
	// SetMessage before the DATA ACL.
	data []byte
	// scanned caches the malware result for the message.
	scanned  bool
	scanName string
}

// Session returns the state for one SMTP session.
func (c *Checks) Session() *Session {
	s := &Session{c: c}
	s.cache.Now = c.Now
	return s
}

// SetMessage gives the session the message for the malware condition
// (as Exim writes it for scanning: the header lines, a blank line and
// the body), forgetting any earlier scan result.
func (s *Session) SetMessage(data []byte) {
	s.data, s.scanned, s.scanName = data, false, ""
}

// Check implements acl.Checker.
func (s *Session) Check(as *acl.Session, cond, arg string) (bool, string, error) {
	ctx := context.Background()
	switch cond {
	case "dnslists":
		return s.dnslists(ctx, as, arg)
	case "spf", "spf_guess":
		return s.spf(ctx, as, cond == "spf_guess", arg)
	case "malware":
		return s.malware(ctx, as, arg)
	}
	return false, "", fmt.Errorf("the \"%s\" condition is not supported", cond)
}

// trace writes a -bh commentary line.
func trace(as *acl.Session, format string, args ...any) {
	if as.Trace != nil {
		fmt.Fprintf(as.Trace, ">>> "+format+"\n", args...)
	}
}

// logLine writes to the logs as the ACL engine does: with the message id
// in front once there is one.
func logLine(as *acl.Session, text string, to ...mainlog.Which) {
	if id := as.Vars["message_exim_id"]; id != "" {
		text = id + " " + text
	}
	if as.LogWrite != nil {
		as.LogWrite(text, to...)
		return
	}
	if as.Log != nil {
		_ = as.Log.Write(text, to...)
	}
}

// dnslists performs the dnslists condition. Exim specification chapter
// "Access control lists", section "Using DNS lists".
func (s *Session) dnslists(ctx context.Context, as *acl.Session, arg string) (bool, string, error) {
	if s.c.Resolver == nil {
		return false, "", errors.New("no DNS resolver for dnslists")
	}
	e := &dnsbl.Env{
		Resolver:    s.c.Resolver,
		Cache:       &s.cache,
		HostAddress: as.Vars["sender_host_address"],
		Trace:       func(f string, a ...any) { trace(as, f, a...) },
	}
	// The defer line is logged with log_selector dnslist_defer (on by
	// default; spec chapter "Log files", section "Reducing or increasing
	// what is logged").
	if sel, err := mainlog.ParseSelector(s.c.cfg.Main.String("log_selector")); err != nil || sel.Has(mainlog.SelDNSListDefer) {
		e.Log = func(t string) { logLine(as, t, mainlog.Main) }
	}
	ok, m, err := dnsbl.Check(ctx, e, arg)
	if err != nil {
		return false, "", errors.New("")
	}
	if ok {
		as.Vars["dnslist_domain"] = m.Domain
		as.Vars["dnslist_matched"] = m.Matched
		if !m.Unknown {
			as.Vars["dnslist_value"] = m.Value
			as.Vars["dnslist_text"] = m.Text
		}
	}
	return ok, "", nil
}

// spf performs the spf and spf_guess conditions: the check runs, the
// $spf_* variables are set, and the condition is true when the result is
// in the list (items may be negated with "!"). Exim specification
// chapter "DKIM, SPF, SRS and DMARC", section "SPF".
func (s *Session) spf(ctx context.Context, as *acl.Session, guess bool, arg string) (bool, string, error) {
	v := as.Vars
	ip, _ := netip.ParseAddr(v["sender_host_address"])
	main := s.c.cfg.Main
	req := spf.Request{
		IP: ip, Helo: v["sender_helo_name"], Sender: v["sender_address"],
		Hostname: v["primary_hostname"], Guess: guess,
		GuessRecord: main.String("spf_guess"), Template: main.String("spf_smtp_comment_template"),
	}
	if req.Hostname == "" {
		req.Hostname = main.String("primary_hostname")
	}
	var r spf.Result
	if s.c.Resolver == nil || !ip.IsValid() {
		r = spf.Result{Result: spf.Invalid}
	} else {
		r = spf.Check(ctx, s.c.Resolver, req)
	}
	v["spf_result"] = r.Result
	v["spf_result_guessed"] = map[bool]string{true: "yes", false: "no"}[r.Guessed]
	v["spf_header_comment"] = r.HeaderComment
	v["spf_smtp_comment"] = r.SMTPComment
	v["spf_received"] = r.Received
	result := r.Result
	if result == spf.Invalid {
		result = "invalid"
	}
	for _, item := range lists.Split(arg, ':') {
		neg := strings.HasPrefix(item, "!")
		name := strings.TrimSpace(strings.TrimPrefix(item, "!"))
		if (name == result) != neg {
			return true, "", nil
		}
	}
	return false, "", nil
}

// malware performs the malware condition: "*", "true" or "1" scan,
// "false", "0" or "" do not, anything else is a regular expression the
// malware name must match; "defer_ok" turns scanner failures into a
// false condition and "tmo=" sets the timeout. Exim specification
// chapter "Content scanning at ACL time", section "Scanning for viruses".
func (s *Session) malware(ctx context.Context, as *acl.Session, arg string) (bool, string, error) {
	items := lists.Split(arg, '/')
	first := ""
	if len(items) > 0 {
		first = items[0]
	}
	deferOK := false
	timeout := malware.DefaultTimeout
	for _, o := range items[min(1, len(items)):] {
		switch {
		case o == "defer_ok":
			deferOK = true
		case strings.HasPrefix(o, "tmo="):
			if d, ok := config.ParseTime(o[4:]); ok {
				timeout = d
			}
		}
	}
	var re *pcre.Regexp
	switch strings.ToLower(first) {
	case "false", "0", "":
		return false, "", nil
	case "true", "*", "1":
	default:
		var err error
		if re, err = pcre.Compile(first); err != nil {
			return false, "", fmt.Errorf("malware acl condition: regular expression error in '%s': %v", first, err)
		}
	}
	if !s.scanned {
		spec := s.c.cfg.Main.String("av_scanner")
		if strings.HasPrefix(spec, "$") && s.c.Expand != nil {
			x, err := s.c.Expand(as, spec)
			if err != nil {
				return s.scanFailed(as, deferOK, []string{"av_scanner starts with $, but expansion failed: " + err.Error()})
			}
			spec = x
		}
		sc, err := malware.Parse(spec)
		if err != nil {
			return s.scanFailed(as, deferOK, []string{err.Error()})
		}
		name, err := sc.Scan(ctx, s.data, timeout)
		if err != nil {
			var se *malware.ScanError
			if errors.As(err, &se) {
				return s.scanFailed(as, deferOK, se.Lines)
			}
			return s.scanFailed(as, deferOK, []string{err.Error()})
		}
		s.scanned, s.scanName = true, name
	}
	as.Vars["malware_name"] = s.scanName
	if s.scanName == "" {
		return false, "", nil
	}
	if re != nil {
		_, ok, err := re.Match(s.scanName)
		if err != nil || !ok {
			return false, "", nil
		}
	}
	return true, "", nil
}

// scanFailed logs a scanner failure to the main and panic logs and
// defers the condition, or makes it false with defer_ok.
func (s *Session) scanFailed(as *acl.Session, deferOK bool, lines []string) (bool, string, error) {
	for _, l := range lines {
		logLine(as, "malware acl condition: "+l, mainlog.Main, mainlog.Panic)
	}
	if deferOK {
		return false, "", nil
	}
	return false, "", errors.New("")
}
