package lists

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/exigo-mta/exigo/internal/debug"
)

// Kind says which of Exim's four kinds of list is being matched. It picks
// the named list namespace (domainlist, hostlist, addresslist,
// localpartlist) and the item syntax.
type Kind int

// The four kinds of list (Exim specification chapter "Domain, host, address,
// and local part lists", section "Named lists").
const (
	DomainList Kind = iota
	HostList
	AddressList
	LocalPartList
)

// String returns the kind as Exim names it in messages ("domain", "host",
// "address", "local part").
func (k Kind) String() string {
	switch k {
	case DomainList:
		return "domain"
	case HostList:
		return "host"
	case AddressList:
		return "address"
	case LocalPartList:
		return "local part"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Lookuper performs the lookups that list items such as "lsearch;/file" or
// "sqlite;select ..." ask for. It is implemented by the lookup package's
// registry; this package only defines what it needs.
type Lookuper interface {
	// QueryStyle reports whether the bare search type name typ (such as
	// "lsearch" or "sqlite", without partial-, net- or * decorations) is a
	// query-style lookup. It returns an error whose text is Exim's
	// `unknown lookup type "typ"` when typ is not a lookup type.
	QueryStyle(typ string) (bool, error)

	// Find does a single-key lookup of key in file. typ is the search
	// type as written in the list item, without any "net-"/"netN-"
	// prefix (which this package handles) but with any "partialN-" or
	// "partial(prefix)" prefix, "*" or "*@" suffix and ",options" tail:
	// Find implements partial matching and defaults (specification
	// chapter "File and database lookups", sections 6 and 7). found is
	// false when the key is not there. A non-nil error means the lookup
	// could not be done: errors wrapping *fs.PathError (file cannot be
	// opened) are configuration errors, every other error is a DEFER.
	// x expands strings where a lookup type needs it (wildlsearch keys);
	// it may be nil.
	Find(typ, file, key string, x func(string) (string, error)) (data string, found bool, err error)

	// Query runs a query-style lookup; the same rules as Find apply to
	// found and err.
	Query(typ, query string, x func(string) (string, error)) (data string, found bool, err error)
}

// MX is one MX record: target host name and preference.
type MX struct {
	Host string
	Pref int
}

// HostResolver answers the DNS questions that host lists and the @mx_*
// domain list items need. Implementations cache as they see fit.
//
// In every method a nil error with an empty result means a permanent
// "not found" (NXDOMAIN, no data, no verified name); any non-nil error is a
// temporary failure, which list matching reports as a DEFER.
type HostResolver interface {
	// HostNames returns the host names of ip found by reverse lookup
	// (and verified by a forward lookup, as Exim does), primary first.
	HostNames(ip netip.Addr) ([]string, error)
	// HostAddrs returns the IP addresses of a host name.
	HostAddrs(name string) ([]netip.Addr, error)
	// MX returns the MX records of domain, looked up without widening
	// the name (no qualify_single, no search_parents).
	MX(domain string) ([]MX, error)
}

// Named is the definition of a named list from the configuration.
type Named struct {
	// Value is the list text as written (not yet expanded).
	Value string
	// Cache is true for "domainlist_cache" and friends: the result is
	// cached even though the value contains expansions.
	Cache bool
}

// Env is what list matching needs from its surroundings. The zero value
// works for lists that use no lookups, named lists, host names or
// expansions.
type Env struct {
	// Lookups performs "type;file" and "type;query" items; nil makes
	// such items a configuration error.
	Lookups Lookuper
	// NamedList returns the named list of that kind ("+name" items);
	// nil means no named lists are defined.
	NamedList func(kind Kind, name string) (Named, bool)
	// Expand expands a named list's value when it contains "$" (and is
	// also handed to lookups). A forced failure must be returned as an
	// error wrapping ErrForcedFail: the subject is then not in that list.
	// Other errors are DEFERs. Nil means values are used unexpanded.
	Expand func(s string) (string, error)
	// PrimaryHostname is the value of primary_hostname, for "@" items.
	PrimaryHostname string
	// Interfaces are the local interface addresses, for "@[]" items and
	// for deciding whether an MX target is the local host.
	Interfaces []netip.Addr
	// HostsTreatAsLocal is the hosts_treat_as_local domain list: MX
	// targets matching it count as the local host for @mx_* items.
	HostsTreatAsLocal string
	// Resolver answers DNS questions for host lists and @mx_*; nil makes
	// every such question a permanent "not found".
	Resolver HostResolver
	// Cache holds named list results for the message being processed;
	// nil turns caching off. Make a new one per message.
	Cache *Cache
	// HostCache, when set, holds the named host list results instead:
	// an SMTP session keeps one for the connection, as Exim does
	// (observed with Exim 4.96: a second RCPT shows only "host in
	// "+name"?", "- cached" when it matched).
	HostCache *Cache
	// Regexps caches compiled regular expressions; nil compiles each
	// time. It may be shared for the life of a configuration.
	Regexps *RegexpCache
	// Debug receives Exim's -d+lists lines (category debug.Lists).
	Debug *debug.Logger
}

// Match is the result of matching a subject against a list.
type Match struct {
	// Matched says whether the subject is in the list.
	Matched bool
	// Data is the value of the match: what Exim puts in $domain_data,
	// $local_part_data, $host_data, $sender_data, $recipient_data or
	// $value. Its content depends on the item (specification section
	// "Results of list checking"): the lookup result for lookups, the
	// item text for wildcards and regular expressions, the primary host
	// name for "@", empty for IP address items and for a match at the
	// end of a list whose last item is negative.
	Data string
	// Item is the list item that decided the result ("+name" for a named
	// list, as Exim's debug output shows), empty at the end of the list.
	Item string
	// Vars are the numeric variables $0, $1, ... that a "*" or regular
	// expression item sets; nil when the item sets none.
	Vars []string
}

// ErrForcedFail is what Env.Expand returns (wrapped) when the expansion of a
// named list is forced to fail.
var ErrForcedFail = errors.New("forced expansion failure")

// DeferError says the list could not be checked: a lookup deferred, a DNS
// lookup failed temporarily, or a named list is unknown. Exim treats it as
// DEFER (an ACL condition defers; ${if} fails).
type DeferError struct {
	// List is the list text being matched.
	List string
	// Msg is the reason, or "" when Exim gives none ("NULL" in its text).
	Msg string
	// Log is a line Exim also writes to the main and panic logs, or "".
	Log string
}

// Error returns Exim's text: unable to complete match against "LIST": MSG.
func (e *DeferError) Error() string {
	msg := e.Msg
	if msg == "" && e.Log != "" {
		msg = "NULL"
	}
	return fmt.Sprintf("unable to complete match against \"%s\": %s", e.List, msg)
}

// ConfigError is a problem in the list itself (unknown lookup type, bad
// regular expression, unreadable file). Exim writes Msg to the panic log
// and dies.
type ConfigError struct {
	Msg string
}

// Error returns the panic log text.
func (e *ConfigError) Error() string { return e.Msg }

// IsDefer reports whether err (from a Match* function) is a DEFER rather
// than a configuration error.
func IsDefer(err error) bool {
	var d *DeferError
	return errors.As(err, &d)
}

// InCommentary reports whether a list matching debug line (as written to
// Env.Debug) is one that Exim also shows in its "-bh" commentary: the
// "subject in list? result" lines, but not the address match test or
// named list cache lines.
func InCommentary(line string) bool {
	for _, p := range [...]string{" address match test:", " cached yes match for ", " cached no match for ", " cached lookup data = "} {
		if strings.HasPrefix(line, p) {
			return false
		}
	}
	return true
}

// Commentary returns a writer for an Env's Debug logger (category
// debug.Lists) that passes the lines InCommentary accepts to w as -bh
// commentary: ">>> subject in list? result".
func Commentary(w io.Writer) io.Writer { return commentary{w: w, prefix: ">>> "} }

// ExpansionCommentary is Commentary for the lists matched inside a
// string expansion (match_ip, match_domain, match_address ...), which
// Exim indents by one more space.
func ExpansionCommentary(w io.Writer) io.Writer { return commentary{w: w, prefix: ">>>  "} }

type commentary struct {
	w      io.Writer
	prefix string
}

func (c commentary) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimSuffix(string(p), "\n"), "\n") {
		if !InCommentary(line) {
			continue
		}
		fmt.Fprintf(c.w, "%s%s\n", c.prefix, strings.TrimPrefix(line, " "))
	}
	return len(p), nil
}
