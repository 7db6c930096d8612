// Package receive is the message intake common to SMTP, -bm, -t, -bS and
// -bem: it reads a message in SMTP form (dot-stuffed, CRLF) or local form
// (Exim's line ending and dot rules), parses the header block, spools the
// body (to a temporary file past a memory threshold), enforces
// message_size_limit, extracts recipients for -t, and applies Exim 4.96's
// header fix-ups (Received:, Message-Id:, Date:, From:, Sender:, Resent-,
// qualification of unqualified addresses, removal of Return-Path:,
// Envelope-To: and Delivery-Date:).
//
// Exim specification: chapter "Message processing" (all sections), the
// -t/-i/-oi/-f/-F options in "The Exim command line", and the main options
// received_header_text, message_id_header_domain/_text, local_from_check,
// local_sender_retain, message_size_limit.
package receive

import (
	"strconv"

	"github.com/exigo-mta/exigo/internal/config"
)

// Envelope describes how and from whom a message arrives: everything the
// fix-ups need that is not in the message itself.
type Envelope struct {
	// Sender is the envelope sender; "" is the null sender <>.
	Sender string
	// Recipients are the envelope recipients (fully qualified). With -t,
	// Extract adds the header recipients here.
	Recipients []string
	// Protocol is $received_protocol ("local", "esmtp", "local-smtp" ...).
	Protocol string

	// Local is true for a message passed on standard input (-bm, -t, -bs,
	// -bS, -bem): "locally originated" in the spec's words.
	Local bool
	// LocalSMTP is true for a local message that came as SMTP (-bs,
	// -bS), whatever protocol name -oMr gave a -bS batch.
	LocalSMTP bool
	// Trusted is true when the caller is a trusted user (root, exim_user,
	// trusted_users, trusted_groups).
	Trusted bool
	// User is the calling user (login, gecos, ids) for local messages.
	User User
	// FullName is the -F value, or "" to use the user's gecos.
	FullName string
	// SenderSet is true when a trusted caller set Sender with -f: a
	// From: header that intake adds is then made from Sender (with
	// FullName as its phrase), and none is added for the null sender.
	SenderSet bool

	// HostAddress, HostName, HostPort, Helo, Ident and RcvHost are the
	// remote host's $sender_host_address, $sender_host_name,
	// $sender_host_port, $sender_helo_name, $sender_ident and
	// $sender_rcvhost ("" for a local message, except Ident, which is the
	// login name for local messages).
	HostAddress, HostName, HostPort, Helo, Ident, RcvHost string
	// AuthID is $authenticated_id; AuthSender is $authenticated_sender.
	AuthID, AuthSender string

	// Submission is non-nil when "control = submission" is in force.
	Submission *Submission
	// SuppressLocalFixups is the suppress_local_fixups control.
	SuppressLocalFixups bool
	// UnqualifiedSender and UnqualifiedRecipient allow qualification of
	// sender-type (From:, Sender:, Reply-To:) and recipient-type (To:,
	// Cc:, Bcc:) header addresses. Local messages always allow both
	// (unless -bnq); remote ones when the host matches
	// sender_unqualified_hosts / recipient_unqualified_hosts.
	UnqualifiedSender, UnqualifiedRecipient bool
}

// Submission holds the options of "control = submission/...".
type Submission struct {
	// Domain is the domain= option; DomainSet says it was given (it may
	// be empty, meaning $authenticated_id is a whole address).
	Domain    string
	DomainSet bool
	// Name is the name= option, the full name for created headers.
	Name string
	// SenderRetain is the sender_retain option.
	SenderRetain bool
}

// User is the calling user of a local submission.
type User struct {
	Login    string
	Gecos    string
	UID, GID int
}

// Options are the configuration values intake depends on. Build them with
// OptionsFromConfig and adjust per invocation.
type Options struct {
	PrimaryHostname    string
	QualifyDomain      string
	QualifyRecipient   string
	ReceivedHeaderText string
	// MessageIDHeaderDomain and MessageIDHeaderText are unexpanded option
	// values; FixUp expands them through the Expander.
	MessageIDHeaderDomain, MessageIDHeaderText string
	LocalFromCheck, LocalSenderRetain          bool
	LocalFromPrefix, LocalFromSuffix           string
	ReturnPathRemove, EnvelopeToRemove         bool
	DeliveryDateRemove                         bool
	ExtractAddressesRemoveArguments            bool
	// MessageSizeLimit is the expanded message_size_limit in bytes; 0 is
	// no limit.
	MessageSizeLimit int64
	// MessageBodyVisible is message_body_visible.
	MessageBodyVisible int
	// HeadersCharset is headers_charset (for RFC 2047 names).
	HeadersCharset string
}

// OptionsFromConfig reads Options from a configuration's main section.
// message_size_limit is taken unexpanded when it is a plain number.
func OptionsFromConfig(cfg *config.Config) Options {
	m := cfg.Main
	o := Options{
		PrimaryHostname:                 m.String("primary_hostname"),
		QualifyDomain:                   m.String("qualify_domain"),
		QualifyRecipient:                m.String("qualify_recipient"),
		ReceivedHeaderText:              m.String("received_header_text"),
		MessageIDHeaderDomain:           m.String("message_id_header_domain"),
		MessageIDHeaderText:             m.String("message_id_header_text"),
		LocalFromCheck:                  m.Bool("local_from_check"),
		LocalSenderRetain:               m.Bool("local_sender_retain"),
		LocalFromPrefix:                 m.String("local_from_prefix"),
		LocalFromSuffix:                 m.String("local_from_suffix"),
		ReturnPathRemove:                m.Bool("return_path_remove"),
		EnvelopeToRemove:                m.Bool("envelope_to_remove"),
		DeliveryDateRemove:              m.Bool("delivery_date_remove"),
		ExtractAddressesRemoveArguments: m.Bool("extract_addresses_remove_arguments"),
		HeadersCharset:                  m.String("headers_charset"),
		MessageBodyVisible:              500,
	}
	if n, ok := m.Int("message_body_visible"); ok {
		o.MessageBodyVisible = int(n)
	}
	if o.QualifyDomain == "" {
		o.QualifyDomain = o.PrimaryHostname
	}
	if o.QualifyRecipient == "" {
		o.QualifyRecipient = o.QualifyDomain
	}
	if n, ok := ParseSize(m.String("message_size_limit")); ok {
		o.MessageSizeLimit = n
	}
	return o
}

// ParseSize parses an Exim size ("50M", "100K", "1G", "1234").
func ParseSize(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	mult := int64(1)
	switch s[len(s)-1] {
	case 'k', 'K':
		mult = 1024
	case 'm', 'M':
		mult = 1024 * 1024
	case 'g', 'G':
		mult = 1024 * 1024 * 1024
	}
	if mult != 1 {
		s = s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 0, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n * mult, true
}
