// Package dns is exigo's DNS stub resolver: it sends queries to a
// configurable list of recursive servers (by default those in
// /etc/resolv.conf) and reports answers with the distinctions Exim acts on:
// records found, no data for the type, the name does not exist (NXDOMAIN),
// a temporary failure (DNS_AGAIN: timeouts, SERVFAIL), or a permanent one
// (DNS_FAIL: REFUSED, FORMERR and the like), and whether the answer carried
// the DNSSEC "authenticated data" (AD) bit.
//
// # Contract for callers
//
// The same *Resolver is shared by the dnsdb lookup, the dnslookup router,
// dnslists and SPF: it is safe for concurrent use and holds no cache (each
// caller caches as Exim does for its own purpose). Names are always queried
// as absolute names (no search list, no ndots), as Exim's dnsdb lookup and
// router do. Tests point a Resolver at a server they start on 127.0.0.1 by
// giving its address to New.
//
// Exim specification: chapter "Main configuration" (dns_retrans, dns_retry,
// dns_dnssec_ok) and chapter "File and database lookups", section "More about
// dnsdb".
package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	mdns "github.com/miekg/dns"
	"golang.org/x/sys/unix"
)

// Status is the outcome class of one query, in Exim's terms.
type Status int

// The outcome classes.
const (
	// Succeed means the answer holds at least one record of the asked type.
	Succeed Status = iota
	// NoData means the name exists but has no records of the asked type.
	NoData
	// NXDomain means the name does not exist (RCODE 3).
	NXDomain
	// Again is a temporary failure: timeout, network error, SERVFAIL, or
	// (with RequireAD) an answer without the AD bit.
	Again
	// Fail is a permanent failure: REFUSED, FORMERR, NOTIMP or a malformed
	// answer.
	Fail
)

// String returns Exim's name for the status (as in debug output).
func (s Status) String() string {
	switch s {
	case Succeed:
		return "DNS_SUCCEED"
	case NoData:
		return "DNS_NODATA"
	case NXDomain:
		return "DNS_NOMATCH"
	case Again:
		return "DNS_AGAIN"
	default:
		return "DNS_FAIL"
	}
}

// DefaultTimeout and DefaultRetries are Exim's defaults when dns_retrans and
// dns_retry are unset (the resolver library's 5 seconds and 2 tries).
const (
	DefaultTimeout = 5 * time.Second
	DefaultRetries = 2
)

// Resolver sends queries to its servers in order until one answers. The
// zero value is not usable; use New, FromResolvConf or System.
type Resolver struct {
	servers []string
	// Timeout is the time to wait for one answer from one server
	// (dns_retrans).
	Timeout time.Duration
	// Retries is how many times the whole server list is tried (dns_retry).
	Retries int
	// conf, set by System, is the resolver configuration file the
	// servers (and, unless overridden, Timeout and Retries) follow.
	conf *confFile
}

// New returns a Resolver that asks the given servers, each "host" or
// "host:port" (port 53 when omitted; IPv6 literals may be bracketed).
func New(servers ...string) *Resolver {
	r := &Resolver{Timeout: DefaultTimeout, Retries: DefaultRetries}
	for _, s := range servers {
		r.servers = append(r.servers, withPort(s))
	}
	return r
}

func withPort(s string) string {
	if _, _, err := net.SplitHostPort(s); err == nil {
		return s
	}
	return net.JoinHostPort(strings.Trim(s, "[]"), "53")
}

// FromResolvConf returns a Resolver using the nameserver lines, timeout and
// attempts options of a resolv.conf file (normally "/etc/resolv.conf").
// A file without nameserver lines gives 127.0.0.1, as the C library does.
func FromResolvConf(path string) (*Resolver, error) {
	cc, err := mdns.ClientConfigFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	r := New()
	for _, s := range cc.Servers {
		r.servers = append(r.servers, net.JoinHostPort(s, cc.Port))
	}
	if len(r.servers) == 0 {
		r.servers = []string{"127.0.0.1:53"}
	}
	if cc.Timeout > 0 {
		r.Timeout = time.Duration(cc.Timeout) * time.Second
	}
	if cc.Attempts > 0 {
		r.Retries = cc.Attempts
	}
	return r, nil
}

// System returns the resolver of the C library's configuration file
// path (normally /etc/resolv.conf): its nameserver lines, and its
// timeout and attempts options unless retrans and retry (dns_retrans
// and dns_retry) are non-zero. As in the C library, a change to the
// file is seen by the next query, so a long-running daemon follows it;
// a file that cannot be read means the resolver on 127.0.0.1.
func System(path string, retrans time.Duration, retry int) *Resolver {
	return &Resolver{Timeout: retrans, Retries: retry, conf: &confFile{path: path}}
}

// confFile is a resolver configuration file and what was last read
// from it.
type confFile struct {
	path string
	mu   sync.Mutex
	id   fileID
	read bool
	cur  *Resolver // servers, timeout and retries from the file
}

// fileID is what tells that a file changed: the C library compares the
// same.
type fileID struct {
	dev, ino     uint64
	size         int64
	mtime, ctime int64
}

// current returns the settings of the file, reading it again when it
// has changed since it was last read.
func (f *confFile) current() *Resolver {
	var id fileID
	var st unix.Stat_t
	if unix.Stat(f.path, &st) == nil {
		id = fileID{dev: st.Dev, ino: st.Ino, size: st.Size, mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano()}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.read && id == f.id {
		return f.cur
	}
	r, err := FromResolvConf(f.path)
	if err != nil {
		r = New("127.0.0.1:53")
	}
	f.id, f.read, f.cur = id, true, r
	return r
}

// settings returns the servers, timeout and retries of the next query.
func (r *Resolver) settings() ([]string, time.Duration, int) {
	if r.conf == nil {
		return r.servers, r.Timeout, r.Retries
	}
	c := r.conf.current()
	timeout, retries := c.Timeout, c.Retries
	if r.Timeout > 0 {
		timeout = r.Timeout
	}
	if r.Retries > 0 {
		retries = r.Retries
	}
	return c.servers, timeout, retries
}

// Servers returns the server addresses (host:port) the Resolver asks.
func (r *Resolver) Servers() []string {
	servers, _, _ := r.settings()
	return append([]string(nil), servers...)
}

// Options changes one query from the Resolver's defaults.
type Options struct {
	// DNSSEC sets the DO bit and asks for the AD bit (dnssec_lax/strict).
	DNSSEC bool
	// RequireAD turns an answer without the AD bit into Again
	// (dnssec_strict).
	RequireAD bool
	// Timeout and Retries override the Resolver's when non-zero.
	Timeout time.Duration
	Retries int
}

// Answer is the result of one query.
type Answer struct {
	// Name is the queried name, without the trailing dot.
	Name string
	// Type is the queried record type (mdns.TypeA, ...).
	Type uint16
	// Status classifies the outcome.
	Status Status
	// AD is the authenticated-data bit of the response.
	AD bool
	// Records are the answer records of the asked type, in the server's
	// order, including those reached through a CNAME chain in the answer.
	Records []mdns.RR
	// TTL is the smallest TTL among Records (0 when there are none).
	TTL uint32
	// Err tells why Status is Again or Fail (nil otherwise).
	Err error
}

// Lookup asks for records of type qtype at name. It never returns a Go
// error: every outcome, including network failures, is in Answer.Status.
func (r *Resolver) Lookup(ctx context.Context, name string, qtype uint16, o Options) *Answer {
	name = strings.TrimSuffix(name, ".")
	a := &Answer{Name: name, Type: qtype}
	if len(name) > 253 || strings.Contains(name, "..") || (name == "" && qtype != mdns.TypeNS) {
		a.Status, a.Err = Fail, fmt.Errorf("invalid domain name %q", name)
		return a
	}
	servers, timeout, retries := r.settings()
	if len(servers) == 0 {
		a.Status, a.Err = Again, errors.New("no DNS servers configured")
		return a
	}
	m := new(mdns.Msg)
	m.SetQuestion(mdns.Fqdn(name), qtype)
	m.RecursionDesired = true
	m.SetEdns0(1232, o.DNSSEC)
	if o.DNSSEC {
		m.AuthenticatedData = true
	}
	if o.Timeout > 0 {
		timeout = o.Timeout
	}
	if o.Retries > 0 {
		retries = o.Retries
	}
	resp, err := exchange(ctx, m, servers, timeout, retries)
	if err != nil {
		a.Status, a.Err = Again, err
		return a
	}
	classify(a, resp)
	if o.RequireAD && a.Status != Again && a.Status != Fail && !a.AD {
		a.Status, a.Err = Again, errors.New("answer not authenticated (no AD bit)")
	}
	return a
}

// exchange tries each server in turn, retries times, falling back to TCP
// when an answer is truncated.
func exchange(ctx context.Context, m *mdns.Msg, servers []string, timeout time.Duration, retries int) (*mdns.Msg, error) {
	var lastErr error
	for try := 0; try < max(retries, 1); try++ {
		for _, srv := range servers {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			c := &mdns.Client{Net: "udp", Timeout: timeout}
			resp, _, err := c.ExchangeContext(ctx, m, srv)
			if err == nil && resp.Truncated {
				c.Net = "tcp"
				resp, _, err = c.ExchangeContext(ctx, m, srv)
			}
			if err != nil {
				lastErr = fmt.Errorf("query to %s: %w", srv, err)
				continue
			}
			return resp, nil
		}
	}
	return nil, lastErr
}

func classify(a *Answer, resp *mdns.Msg) {
	a.AD = resp.AuthenticatedData
	switch resp.Rcode {
	case mdns.RcodeSuccess:
	case mdns.RcodeNameError:
		a.Status = NXDomain
		return
	case mdns.RcodeServerFailure:
		a.Status, a.Err = Again, errors.New("server failure (SERVFAIL)")
		return
	default:
		a.Status, a.Err = Fail, fmt.Errorf("server answered %s", mdns.RcodeToString[resp.Rcode])
		return
	}
	for _, rr := range resp.Answer {
		if rr.Header().Rrtype != a.Type {
			continue
		}
		a.Records = append(a.Records, rr)
		if ttl := rr.Header().Ttl; len(a.Records) == 1 || ttl < a.TTL {
			a.TTL = ttl
		}
	}
	if len(a.Records) == 0 {
		a.Status = NoData
	}
}
