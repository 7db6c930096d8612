// Package auth implements Exim's SMTP authenticators, server side: the
// plaintext (PLAIN, LOGIN, any server_prompts list), cram_md5 and external
// drivers, the generic server options (server_advertise_condition,
// server_condition, server_set_id, server_mail_auth_condition) and the
// replies and log texts Exim 4.96 gives for every outcome.
//
// # The seam with the SMTP server
//
// The SMTP server owns the session. At start-up it builds the servers once
// from the configuration with NewServers. For each EHLO it asks each
// Server whether it is Advertised (server_advertise_condition, expanded in
// the session's context) and remembers the answers; the advertised
// mechanisms are the upper-cased PublicName of those servers, in order.
//
// On "AUTH <arg>" the SMTP server makes its own checks first, in Exim's
// order: nothing advertised (ReplyNotAdvertised), already authenticated
// (ReplyAlreadyAuthenticated), inside a mail transaction
// (ReplyInTransaction), then acl_smtp_auth. It then calls Select, which
// checks the mechanism name (ReplyBadMechanism, 504 for a mechanism that
// is not advertised) and returns the Server and the initial response.
// Server.Start begins the Exchange; the SMTP server sends each challenge as
// "334 <challenge>", reads one line and passes it to Respond, until
// Challenge reports that the exchange is over. Outcome then says what to
// answer (Reply), what to log (LogText, through FailureLogLine), and what
// the session variables become ($authenticated_id, $authenticated_fail_id,
// $sender_host_authenticated).
//
// Expansions are done by the SMTP session through the Expander interface,
// with $auth1.. set from the data the client sent.
//
// The client side (the smtp transport's hosts_require_auth and
// hosts_try_auth) will live beside this in client.go files, reusing the
// base64 codec and the option access.
//
// Exim specification: chapters "SMTP authentication", "The plaintext
// authenticator", "The cram_md5 authenticator", "The external
// authenticator".
package auth

import (
	"fmt"
	"strings"
	"time"

	"github.com/exigo-mta/exigo/internal/config"
)

// Expander expands option strings in the context of the SMTP session.
//
// Expand expands s with $auth1..$auth4 set from vars[0..3] and the numeric
// variables $1..$20 set from vars[0..19] (Exim sets both; the numeric ones
// for compatibility), all other $authN and numeric variables empty. It
// returns the expanded string or an error; an *expand.Error's Forced and
// Defer flags are honoured (forced failure means "no", a defer or other
// failure means "try again later").
//
// An Expander that also implements Commenter receives Exim's authenticator
// commentary (the lines -bh shows after ">>> " and -d+auth prints).
type Expander interface {
	Expand(s string, vars []string) (string, error)
}

// Commenter receives the commentary lines Exim writes while an
// authenticator runs in host-checking mode (-bh, where each is shown with
// a ">>> " prefix) and as auth debug output: the server_condition
// expansion with the $auth and numeric variables, the CRAM-MD5 digests.
// Lines carry no prefix and no newline.
type Commenter interface {
	Comment(line string)
}

// Replies the SMTP server gives before an exchange starts (spec "SMTP
// authentication", section "Authentication on an Exim server"), exactly as
// Exim 4.96 words them.
const (
	ReplyNotAdvertised        = "503 AUTH command used when not advertised"
	ReplyAlreadyAuthenticated = "503 already authenticated"
	ReplyInTransaction        = "503 not permitted in mail transaction"
	ReplyBadMechanism         = "501 invalid character in authentication mechanism name"
)

// Reply codes and texts of the exchange outcomes.
const (
	CodeSucceeded  = 235
	CodeIncorrect  = 535
	CodeTemporary  = 435
	CodeSyntax     = 501
	CodeNoInitial  = 553
	TextSucceeded  = "Authentication succeeded"
	TextIncorrect  = "Incorrect authentication data"
	TextTemporary  = "Unable to authenticate at present"
	TextBadBase64  = "Invalid base64 data"
	TextCancelled  = "Authentication cancelled"
	TextNoInitial  = "Initial data not expected"
	textNotSupport = "authentication mechanism not supported"
)

// Server is one configured authenticator instance with its server side
// enabled. It is immutable after NewServers and safe for concurrent use by
// many sessions.
type Server struct {
	// Name is the instance name (shown in $sender_host_authenticated, in
	// A= and in "NAME authenticator failed" log lines).
	Name string
	// Driver is the driver name: "plaintext", "cram_md5" or "external".
	Driver string
	// PublicName is public_name, or the instance name when unset. Exim
	// matches it caselessly and advertises it upper-cased (Mechanism).
	PublicName string
	// MailAuthCondition is server_mail_auth_condition, unexpanded, for the
	// AUTH= parameter of MAIL (spec 33.2); empty when unset.
	MailAuthCondition string

	opts     *config.OptionSet
	hostname string // primary_hostname, for the CRAM-MD5 challenge
	now      func() time.Time
	nonce    func() uint32
}

// Options adjusts NewServersOptions. The zero value gives Exim's
// behaviour; tests use it to fix the CRAM-MD5 challenge.
type Options struct {
	// Now is the clock for the CRAM-MD5 challenge; nil means time.Now.
	Now func() time.Time
	// Nonce gives the number before the dot in the CRAM-MD5 challenge.
	// Exim puts its process id there; exigo serves every session from
	// one process, so by default it uses a random number of the same
	// shape, which keeps challenges unique. nil means random.
	Nonce func() uint32
}

// NewServers returns the authenticators of cfg that have their server side
// enabled, in configuration order, or the configuration error Exim gives.
// Drivers exigo does not implement yet (spa, dovecot, cyrus_sasl, gsasl,
// heimdal_gssapi) and the tls driver, which is no SMTP mechanism, are left
// out: they are never advertised.
func NewServers(cfg *config.Config) ([]*Server, error) {
	return NewServersOptions(cfg, Options{})
}

// NewServersOptions is NewServers with Options.
func NewServersOptions(cfg *config.Config, o Options) ([]*Server, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Nonce == nil {
		o.Nonce = randomNonce
	}
	host := ""
	if cfg.Main != nil {
		host = cfg.Main.String("primary_hostname")
	}
	var servers []*Server
	for _, d := range cfg.Authenticators {
		op := d.Options
		// The cram_md5 driver insists on public_name even where the
		// other drivers default it to the instance name (observed).
		if d.Driver == "cram_md5" && !op.IsSet("public_name") {
			return nil, &config.Error{Msg: fmt.Sprintf("no public name specified for the %s authenticator", d.Name)}
		}
		if !serverEnabled(d) {
			continue
		}
		pub := d.Name
		if op.IsSet("public_name") {
			pub = op.String("public_name")
		}
		s := &Server{Name: d.Name, Driver: d.Driver, PublicName: pub, opts: op,
			hostname: host, now: o.Now, nonce: o.Nonce}
		if op.IsSet("server_mail_auth_condition") {
			s.MailAuthCondition = op.String("server_mail_auth_condition")
		}
		servers = append(servers, s)
	}
	// Spec 33.1 public_name: names are matched caselessly, so two server
	// authenticators may not share one.
	for i, a := range servers {
		for _, b := range servers[i+1:] {
			if strings.EqualFold(a.PublicName, b.PublicName) {
				return nil, &config.Error{Msg: fmt.Sprintf("two server authenticators (%s and %s) have the same public name (%s)", a.Name, b.Name, a.PublicName)}
			}
		}
	}
	return servers, nil
}

// serverEnabled reports whether the driver's server side is configured:
// "Server and client functions are disabled if none of their options are
// set" (spec 33), where the option that counts is the one each driver
// needs (observed with Exim 4.96).
func serverEnabled(d *config.Driver) bool {
	switch d.Driver {
	case "plaintext", "external":
		return d.Options.IsSet("server_condition")
	case "cram_md5":
		return d.Options.IsSet("server_secret")
	}
	return false
}

// Mechanism is the name advertised after "250-AUTH": the public name in
// upper case.
func (s *Server) Mechanism() string { return strings.ToUpper(s.PublicName) }

// option returns the raw value of a server option and whether it is set.
func (s *Server) option(name string) (string, bool) {
	if !s.opts.IsSet(name) {
		return "", false
	}
	return s.opts.String(name), true
}

// AdvertiseError is the failure of server_advertise_condition that Exim
// logs (to the main log): a failure that was neither forced nor a lookup
// defer. Error() is the log text.
type AdvertiseError struct {
	Name, Condition, Msg string
}

func (e *AdvertiseError) Error() string {
	return fmt.Sprintf("failed to expand condition \"%s\" for %s authenticator: %s", e.Condition, e.Name, e.Msg)
}

// Advertised reports whether the mechanism is offered to this client after
// EHLO: server_advertise_condition, when set, must not expand to "", "0",
// "no" or "false" (caselessly). An expansion failure withholds the
// mechanism; unless it was forced or a lookup defer, the error (an
// *AdvertiseError) is returned for the main log. Whether auth_advertise_hosts
// matches the client is the SMTP server's check, made before this one.
// Exim has no built-in TLS-only rule: configurations write one, e.g.
// "${if def:tls_in_cipher}" (spec 33.3, 34.1).
func (s *Server) Advertised(x Expander) (bool, error) {
	cond, ok := s.option("server_advertise_condition")
	if !ok {
		return true, nil
	}
	v, err := x.Expand(cond, nil)
	if err != nil {
		if isForced(err) || isDefer(err) {
			return false, nil
		}
		return false, &AdvertiseError{Name: s.Name, Condition: cond, Msg: err.Error()}
	}
	return !isFalse(v), nil
}

// isFalse is Exim's "empty, 0, no or false" test.
func isFalse(v string) bool {
	return v == "" || v == "0" || strings.EqualFold(v, "no") || strings.EqualFold(v, "false")
}

// Select parses the argument of an AUTH command after the SMTP server's
// own checks and acl_smtp_auth: the mechanism name, then the optional
// initial response. It returns the advertised server for the mechanism
// (advertised[i] says whether servers[i] was advertised to this client)
// and the initial response, or the reply to give: ReplyBadMechanism for a
// name with characters other than letters, digits, "-" and "_", or
// "504 <name> authentication mechanism not supported".
func Select(servers []*Server, advertised []bool, arg string) (srv *Server, initial string, reply string) {
	arg = strings.TrimLeft(arg, " \t")
	mech, rest := arg, ""
	if i := strings.IndexAny(arg, " \t"); i >= 0 {
		mech, rest = arg[:i], arg[i+1:]
	}
	for i := 0; i < len(mech); i++ {
		c := mech[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return nil, "", ReplyBadMechanism
		}
	}
	for i, s := range servers {
		if i < len(advertised) && advertised[i] && strings.EqualFold(s.PublicName, mech) {
			return s, strings.TrimSpace(rest), ""
		}
	}
	return nil, "", fmt.Sprintf("504 %s %s", mech, textNotSupport)
}

// FailureLogLine is the main and reject log line Exim writes when an
// exchange fails (o.LogText not empty); host is the client as the SMTP
// server shows it ("(helo) [ip]", "H=..." is not used here).
func (s *Server) FailureLogLine(host string, o *Outcome) string {
	return fmt.Sprintf("%s authenticator failed for %s: %s", s.Name, host, o.LogText)
}

// LogField is the A= field of a message's arrival line (spec "Log files",
// P= and A=): the authenticator name, ":" and the id when server_set_id
// gave one, and ":" and the authenticated sender with +smtp_mailauth.
func LogField(name, id, sender string) string {
	f := "A=" + name
	if id != "" {
		f += ":" + id
	}
	if sender != "" {
		f += ":" + sender
	}
	return f
}
