package router

import (
	"strconv"
	"strings"

	"github.com/exigo-mta/exigo/internal/lists"
)

// Kind says what an address stands for: a mailbox address, or one of the
// special targets a redirection can generate (Exim specification chapter
// "The redirect router", section "Special items in redirection lists").
type Kind int

// The kinds of address.
const (
	Mailbox   Kind = iota // an ordinary local_part@domain
	Pipe                  // "|command"
	File                  // "/path"
	Directory             // "/path/"
	Autoreply             // ">to": a filter's mail or vacation command
)

// Address is one address being routed. Fields below Parent are filled in
// by routing; callers set Address (and Parent, StartAt for children).
type Address struct {
	// Address is the full address (local_part@domain), or for pipes and
	// files the command or path.
	Address string
	// LocalPart and Domain split Address; for pipes and files they are
	// those of the address that generated them.
	LocalPart, Domain string
	// Kind says whether this is a mailbox, pipe, file or directory.
	Kind Kind
	// Parent is the address whose redirection generated this one.
	Parent *Address
	// StartAt names the router to start at (redirect_router, pass_router);
	// empty means the first router.
	StartAt string
	// RoutedBy names the router that routed (accepted or redirected) this
	// address; the loop check compares it with an ancestor's.
	RoutedBy string
	// Prefix and Suffix are the local part affixes that the deciding
	// router removed; PrefixV and SuffixV the wildcard parts of them.
	Prefix, Suffix, PrefixV, SuffixV string
	// AddressData, DomainData and LocalPartData are the values of
	// $address_data, $domain_data and $local_part_data.
	AddressData, DomainData, LocalPartData string
	// Home is the home directory from check_local_user (or
	// router_home_directory); UID and GID the local user's ids, -1 unset.
	Home     string
	UID, GID int
	// ErrorsTo is where bounces go and the return path of the delivery
	// (errors_to): "" for the sender, NullErrorsTo for none.
	ErrorsTo string
	// HeadersAdd and HeadersRemove are the header changes the routers
	// asked for (headers_add, headers_remove), in order.
	HeadersAdd, HeadersRemove []string
	// Transport is set on pipe and file children: the transport named by
	// pipe_transport, file_transport or directory_transport (and
	// reply_transport for an autoreply).
	Transport string
	// Reply holds an autoreply's values (Autoreply kind), for the
	// autoreply transport.
	Reply map[string]string
	depth int
	// setupErr is why a pipe or file child has no transport; forbidden
	// marks one that forbid_pipe or forbid_file rules out.
	setupErr  string
	forbidden bool
	// cache holds the named domain and local part list results of this
	// address (Exim keeps them per address).
	cache *lists.Cache
}

// NullErrorsTo is Address.ErrorsTo when errors_to expanded to an empty
// string: the delivery uses the null return path and its failures are
// not reported (spec "Generic options for routers", errors_to). An
// errors_to of "<>" itself is an address that fails to verify.
const NullErrorsTo = "<>"

// NewAddress returns an address to route, split at its last "@".
func NewAddress(addr string) *Address {
	a := &Address{Address: addr, UID: -1, GID: -1}
	a.LocalPart, a.Domain = Split(addr)
	return a
}

// Split splits an address at its last "@". With no "@", the domain is
// empty.
func Split(addr string) (localPart, domain string) {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[:i], addr[i+1:]
	}
	return addr, ""
}

// child returns a new address generated from a by redirection.
func (a *Address) child(addr string) *Address {
	c := NewAddress(addr)
	c.Parent = a
	c.depth = a.depth + 1
	c.AddressData = a.AddressData
	c.ErrorsTo = a.ErrorsTo
	c.HeadersAdd = append([]string(nil), a.HeadersAdd...)
	c.HeadersRemove = append([]string(nil), a.HeadersRemove...)
	return c
}

// copyForUnseen returns a copy of a to be routed on after an unseen router.
func (a *Address) copyForUnseen() *Address {
	c := *a
	c.Parent = a
	c.depth = a.depth + 1
	c.HeadersAdd = append([]string(nil), a.HeadersAdd...)
	c.HeadersRemove = append([]string(nil), a.HeadersRemove...)
	return &c
}

// Status is the outcome of routing an address.
type Status int

// The outcomes of Set.Route. Decline and Pass appear only inside the router
// chain and in debug output; Route turns a final decline into Fail.
const (
	Accept Status = iota
	Redirect
	Discard
	Fail
	Defer
	Decline
	Pass
)

var statusNames = [...]string{"accept", "redirect", "discard", "fail", "defer", "decline", "pass"}

// String names the status as Exim's debug output does.
func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "Status(" + strconv.Itoa(int(s)) + ")"
}

// Host is one host a remote transport is to try, in order.
type Host struct {
	// Name is the host name as listed (for IP literals, "[ip]" from
	// ipliteral or the address itself from a host list).
	Name string
	// Addr is its IP address; empty when it could not be found yet.
	Addr string
	// Port is the port given with the host ("host::port"), 0 for the
	// transport's default.
	Port int
	// MX is the MX preference, -1 when the host did not come from an MX
	// record.
	MX int
	// DNSSEC reports that the MX (when there was one) and address
	// records came from DNSSEC-authenticated answers, which DANE needs
	// (spec chapter "Encrypted SMTP connections using TLS/SSL", section
	// "DANE").
	DNSSEC bool
}

// NoMessage is what Exim shows for a defer that carries no message.
const NoMessage = "Temporary internal error"

// Result is what Set.Route decided for one address.
type Result struct {
	Status Status
	// Router names the router that decided ("" when no router accepted).
	Router string
	// Transport is the transport for Accept (expanded).
	Transport string
	// Hosts are the hosts for a remote transport, in the order to try.
	Hosts []Host
	// Children are the addresses generated by a redirection, in the order
	// generated.
	Children []*Address
	// Message is the reason for Fail and Defer, as -bt prints it.
	Message string
	// Errno is Exim's error number for a Defer when it is not -1 (the
	// "defer (N)" of the log line): -17 for an error in a filter.
	Errno int
	// LookupMessage, on a Defer caused by a lookup that deferred, is the
	// lookup's own text (after "gave DEFER: "): a verification in an ACL
	// logs it in place of Message, as Exim does.
	LookupMessage string
	// Precondition is set on a Defer from a precondition's list that
	// failed to expand (domains, local_parts, senders): Exim's -bh
	// commentary does not report it as the router's, and the bounce
	// after the retry timeout gives no message for it (the log does).
	Precondition bool
	// traced, when set, is the message -bh's commentary shows for a
	// Defer in place of Message.
	traced string
	// Public is set on a Defer whose Message the configuration wrote
	// (":defer: text"): Exim shows it to the SMTP client as well.
	Public bool
	// Unseen, when not nil, is a copy of the address to be routed as well,
	// from the router after Router.
	Unseen *Address
	// Address is the routed address (with the data set by the routers).
	Address *Address
	// Private, on a Fail, marks a Message for the log and address tests
	// only: the bounce shows no reason (a self = pass address that no
	// later router took, observed with Exim 4.96).
	Private bool
	// Freeze, on a Defer, asks delivery to freeze the message as well
	// (a router's self = freeze, the default, when the first host is
	// the local host).
	Freeze bool
	// Forbidden marks a pipe or file that forbid_pipe or forbid_file
	// rules out (-bt shows "*** forbidden ***").
	Forbidden bool
}
