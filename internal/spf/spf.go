// Package spf performs Exim's spf and spf_guess ACL conditions on top of
// blitiri.com.ar/go/spf, with DNS through internal/dns, and gives the
// results, comments and Received-SPF: header in the words of libspf2 as
// Exim 4.96 shows them.
//
// Exim specification: chapter "DKIM, SPF, SRS and DMARC", section "SPF
// (Sender Policy Framework)".
package spf

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"

	"blitiri.com.ar/go/spf"
	"github.com/exigo-mta/exigo/internal/dns"
	mdns "github.com/miekg/dns"
)

// Resolver answers DNS questions (implemented by *dns.Resolver).
type Resolver interface {
	Lookup(ctx context.Context, name string, qtype uint16, o dns.Options) *dns.Answer
}

// Request is one check.
type Request struct {
	// IP is the client's address ($sender_host_address).
	IP netip.Addr
	// Helo is $sender_helo_name; Sender the envelope sender ("" for <>).
	Helo, Sender string
	// Hostname is $primary_hostname, which starts the comments.
	Hostname string
	// Guess is the spf_guess condition; GuessRecord is the spf_guess
	// option (Exim's default when empty).
	Guess       bool
	GuessRecord string
	// Template is spf_smtp_comment_template (Exim's default when empty).
	Template string
}

// DefaultGuess and DefaultTemplate are Exim's defaults for the spf_guess
// and spf_smtp_comment_template options.
const (
	DefaultGuess    = "v=spf1 a/24 mx/24 ptr ?all"
	DefaultTemplate = "Please%_see%_http://www.open-spf.org/Why"
)

// Result is what a check sets: $spf_result, $spf_result_guessed,
// $spf_header_comment, $spf_smtp_comment and $spf_received.
type Result struct {
	Result        string
	Guessed       bool
	HeaderComment string
	SMTPComment   string
	Received      string
}

// Invalid is $spf_result when the check could not be made (the top
// record unreadable or malformed, as libspf2 reports it).
const Invalid = "(invalid)"

// Check performs the SPF check of req.
func Check(ctx context.Context, res Resolver, req Request) Result {
	sender := req.Sender
	if sender == "" {
		sender = "postmaster@" + req.Helo
	}
	domain := sender[strings.LastIndexByte(sender, '@')+1:]
	if req.IP.Unmap().IsLoopback() {
		// libspf2 passes local clients without asking the DNS.
		return finish(req, sender, "pass", false, "localhost is always allowed.", "")
	}
	record, status := topRecord(ctx, res, domain)
	guessed := false
	switch status {
	case topInvalid:
		return Result{Result: Invalid}
	case topMultiple:
		return finish(req, sender, "permerror", false, "error in processing during lookup of domain of "+domain+": Multiple SPF or TXT records for domain.", "")
	case topNone:
		if !req.Guess {
			return finish(req, sender, "none", false, "domain of "+domain+" does not provide an SPF record", "")
		}
		record, guessed = req.GuessRecord, true
		if record == "" {
			record = DefaultGuess
		}
	}
	if !validRecord(record) {
		return Result{Result: Invalid}
	}
	ip := net.IP(req.IP.Unmap().AsSlice())
	ad := &adapter{r: res, top: strings.ToLower(domain), record: record}
	r, err := spf.CheckHostWithSender(ip, req.Helo, sender,
		spf.WithContext(ctx), spf.WithResolver(ad), spf.OverrideVoidLookupLimit(1<<20))
	addr := req.IP.Unmap().String()
	reason := "mechanism"
	if r == spf.Neutral && err == nil {
		reason = "default"
	}
	var comment string
	switch r {
	case spf.Pass:
		comment = "domain of " + domain + " designates " + addr + " as permitted sender"
	case spf.Fail:
		comment = "domain of " + domain + " does not designate " + addr + " as permitted sender"
	case spf.SoftFail:
		comment = "transitioning domain of " + domain + " does not designate " + addr + " as permitted sender"
	case spf.Neutral:
		comment = addr + " is neither permitted nor denied by domain of " + domain
	case spf.None:
		comment = "domain of " + domain + " does not provide an SPF record"
	case spf.TempError:
		comment = "encountered temporary error during SPF processing of domain of " + domain
	default:
		r = spf.PermError
		why := "Could not find a valid SPF record"
		switch {
		case errors.Is(err, spf.ErrLookupLimitReached):
			why = "Mechanisms used too many DNS lookups"
		case errors.Is(err, spf.ErrMultipleRecords):
			why = "Multiple SPF or TXT records for domain."
		}
		comment = "error in processing during lookup of domain of " + domain + ": " + why
	}
	smtp := ""
	switch r {
	case spf.Fail, spf.SoftFail, spf.Neutral:
		t := req.Template
		if t == "" {
			t = DefaultTemplate
		}
		smtp = expandTemplate(t, req, sender, domain) + " : Reason: " + reason
	}
	return finish(req, sender, string(r), guessed, comment, smtp)
}

// finish builds the variables from the result and the comment.
func finish(req Request, sender, result string, guessed bool, comment, smtp string) Result {
	hc := req.Hostname + ": " + comment
	return Result{
		Result: result, Guessed: guessed, HeaderComment: hc, SMTPComment: smtp,
		Received: "Received-SPF: " + result + " (" + hc + ") client-ip=" + req.IP.Unmap().String() +
			"; envelope-from=" + sender + "; helo=" + req.Helo + ";",
	}
}

type topStatus int

const (
	topFound topStatus = iota
	topNone
	topMultiple
	topInvalid
)

// topRecord fetches the SPF record of the checked domain itself.
func topRecord(ctx context.Context, res Resolver, domain string) (string, topStatus) {
	a := res.Lookup(ctx, domain, mdns.TypeTXT, dns.Options{})
	switch a.Status {
	case dns.Succeed:
	case dns.NXDomain, dns.NoData:
		return "", topNone
	default:
		return "", topInvalid
	}
	var found []string
	for _, rr := range a.Records {
		t, ok := rr.(*mdns.TXT)
		if !ok {
			continue
		}
		s := strings.Join(t.Txt, "")
		l := strings.ToLower(s)
		if l == "v=spf1" || strings.HasPrefix(l, "v=spf1 ") {
			found = append(found, s)
		}
	}
	switch len(found) {
	case 0:
		return "", topNone
	case 1:
		return found[0], topFound
	}
	return "", topMultiple
}

// adapter gives the SPF library its DNS answers from internal/dns, with
// the checked domain's record already known.
type adapter struct {
	r           Resolver
	top, record string
}

func dnsErr(a *dns.Answer, name string) error {
	switch a.Status {
	case dns.NXDomain, dns.NoData:
		return &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	case dns.Again:
		return &net.DNSError{Err: "temporary failure", Name: name, IsTemporary: true}
	}
	return &net.DNSError{Err: "server failure", Name: name}
}

func (d *adapter) LookupTXT(ctx context.Context, name string) ([]string, error) {
	if strings.ToLower(strings.TrimSuffix(name, ".")) == d.top {
		return []string{d.record}, nil
	}
	a := d.r.Lookup(ctx, name, mdns.TypeTXT, dns.Options{})
	if a.Status != dns.Succeed {
		return nil, dnsErr(a, name)
	}
	var out []string
	for _, rr := range a.Records {
		if t, ok := rr.(*mdns.TXT); ok {
			out = append(out, strings.Join(t.Txt, ""))
		}
	}
	return out, nil
}

func (d *adapter) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	a := d.r.Lookup(ctx, name, mdns.TypeMX, dns.Options{})
	if a.Status != dns.Succeed {
		return nil, dnsErr(a, name)
	}
	var out []*net.MX
	for _, rr := range a.Records {
		if m, ok := rr.(*mdns.MX); ok {
			out = append(out, &net.MX{Host: m.Mx, Pref: m.Preference})
		}
	}
	return out, nil
}

func (d *adapter) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	var out []net.IPAddr
	var last *dns.Answer
	for _, t := range []uint16{mdns.TypeA, mdns.TypeAAAA} {
		a := d.r.Lookup(ctx, host, t, dns.Options{})
		for _, rr := range a.Records {
			switch v := rr.(type) {
			case *mdns.A:
				out = append(out, net.IPAddr{IP: v.A})
			case *mdns.AAAA:
				out = append(out, net.IPAddr{IP: v.AAAA})
			}
		}
		if last == nil || a.Status == dns.Again || a.Status == dns.Fail {
			last = a
		}
	}
	if len(out) == 0 {
		return nil, dnsErr(last, host)
	}
	return out, nil
}

func (d *adapter) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return nil, &net.DNSError{Err: "bad address", Name: addr}
	}
	name := dns.ReverseName(ip)
	a := d.r.Lookup(ctx, name, mdns.TypePTR, dns.Options{})
	if a.Status != dns.Succeed {
		return nil, dnsErr(a, name)
	}
	var out []string
	for _, rr := range a.Records {
		if p, ok := rr.(*mdns.PTR); ok {
			out = append(out, p.Ptr)
		}
	}
	return out, nil
}
