package spool

import (
	"time"

	"github.com/exigo-mta/exigo/internal/message"
)

// # The -H file
//
// Spec chapter 57, "Format of spool files", section 1. In order:
//
//	ID-H                         the file's own name
//	user uid gid                 caller's login, numeric uid and gid
//	<sender>                     envelope sender, <> for bounces
//	time warnings                arrival second, delay warnings sent
//	-name value                  option lines, any order; "--" = tainted
//	XX | YY addr ...             non-recipients tree, pre-order
//	N                            recipient count
//	address [fields]             one recipient a line
//	                             blank line
//	NNNf Header: text            header length, spool flag, space, text
//
// Exim 4.96 writes these option lines that the chapter does not list:
// -received_time_usec, -received_time_complete, -max_received_linelength,
// -host_auth_pubname, -tls_resumption, -tls_ver, -tls_ourcert,
// -tls_peercert and -smtputf8; all are kept here.

// Header is the parsed content of a -H file.
type Header struct {
	// ID is the message id from the first line.
	ID ID
	// User, UID and GID are the caller's login name and ids (line 2).
	User     string
	UID, GID int
	// Sender is the envelope sender without angle brackets; "" for <>.
	Sender string
	// Received is the arrival time: line 4's seconds plus
	// -received_time_usec.
	Received time.Time
	// WarningCount is the number of delay warnings sent (line 4).
	WarningCount int
	// ReceivedComplete is -received_time_complete (zero: absent).
	ReceivedComplete time.Time
	// NoUsec records that -received_time_usec was absent (files from
	// older Exim releases), so it is not written back.
	NoUsec bool

	// String options: "" means the line is absent.
	HeloName         string // -helo_name
	HostAddress      string // -host_address, as "[ip]:port"
	HostName         string // -host_name
	HostAuth         string // -host_auth, authenticator name
	HostAuthPubname  string // -host_auth_pubname, e.g. PLAIN
	InterfaceAddress string // -interface_address, as "[ip]:port"
	ActiveHostname   string // -active_hostname
	Ident            string // -ident
	ReceivedProtocol string // -received_protocol
	AuthID           string // -auth_id
	AuthSender       string // -auth_sender
	LocalScan        string // -local_scan
	SpamScoreInt     string // -spam_score_int
	SpamBar          string // -spam_bar
	SpamScore        string // -spam_score
	TLSCipher        string // -tls_cipher
	TLSPeerCert      string // -tls_peercert, with Exim's \n escapes
	TLSPeerDN        string // -tls_peerdn
	TLSOurCert       string // -tls_ourcert, with Exim's \n escapes
	TLSSNI           string // -tls_sni
	TLSOCSP          string // -tls_ocsp
	TLSResumption    string // -tls_resumption
	TLSVer           string // -tls_ver
	DSNEnvID         string // -dsn_envid
	DebugSelector    string // -debug_selector
	DebugLogName     string // -debuglog_name

	// ACLVars are the -aclc and -aclm variables in file order.
	ACLVars []ACLVar

	// Numbers; a negative value means the line is absent.
	BodyLinecount         int // -body_linecount
	BodyZerocount         int // -body_zerocount (written when > 0)
	MaxReceivedLinelength int // -max_received_linelength
	DSNRet                int // -dsn_ret: 1 FULL, 2 HDRS, 0 absent

	// Frozen is the time the message was frozen (zero: not frozen).
	Frozen time.Time

	// Flags (option lines without a value).
	AllowUnqualifiedRecipient bool // -allow_unqualified_recipient
	AllowUnqualifiedSender    bool // -allow_unqualified_sender
	DeliverFirsttime          bool // -deliver_firsttime
	ManualThaw                bool // -manual_thaw
	DontDeliver               bool // -N
	HostLookupDeferred        bool // -host_lookup_deferred
	HostLookupFailed          bool // -host_lookup_failed
	Local                     bool // -local
	LocalError                bool // -localerror
	SenderSetUntrusted        bool // -sender_set_untrusted
	Wireformat                bool // -spool_file_wireformat
	TLSCertificateVerified    bool // -tls_certificate_verified
	TLSDANE                   bool // -tls_dane
	SMTPUTF8                  bool // -smtputf8
	UTF8Downcvt               bool // -utf8_downcvt
	UTF8OptDowncvt            bool // -utf8_optdowncvt

	// Tainted names the option lines written with a second hyphen
	// ("--helo_name"): their data came from the network. Keys are
	// option names without hyphens.
	Tainted map[string]bool

	// Extra holds option lines this package does not know, verbatim
	// without the newline; they are written after the known ones.
	Extra []string

	// NonRecipients is the tree of addresses not to deliver to, in the
	// pre-order Exim writes (see BuildTree and Addresses).
	NonRecipients []TreeNode
	// Recipients are the envelope recipients, delivered ones included.
	Recipients []Recipient
	// Headers are the message's header lines with their spool flags.
	Headers message.Headers
}

// ACLVar is one ACL variable: acl_c<Name> or acl_m<Name>.
type ACLVar struct {
	// Kind is 'c' (connection) or 'm' (message).
	Kind byte
	// Name is the rest of the variable name after acl_c or acl_m, e.g.
	// "_foo" or "0".
	Name string
	// Value is the variable's value; it may contain newlines.
	Value string
	// Tainted marks a "--aclc" line.
	Tainted bool
}

// DSN NOTIFY bits stored in a recipient's DSN field (RFC 3461), as Exim
// 4.96 writes them.
const (
	DSNNotifyNever   = 2
	DSNNotifySuccess = 4
	DSNNotifyFailure = 8
	DSNNotifyDelay   = 16
)

// DSN RET values for Header.DSNRet.
const (
	DSNRetFull = 1
	DSNRetHdrs = 2
)

// Recipient is one envelope recipient line.
type Recipient struct {
	// Address is the recipient address.
	Address string
	// ErrorsTo is the errors_to address of a one_time child ("" none).
	ErrorsTo string
	// PNo is the index of the one_time parent in the recipients list,
	// -1 when there is none.
	PNo int
	// ORcpt is the DSN ORCPT parameter, e.g. "rfc822;a@b".
	ORcpt string
	// DSNFlags are the DSNNotify bits.
	DSNFlags int
	// Flags are the #bits read from the file (1: errors_to and parent
	// fields present, 2: DSN fields present). The writer sets the bits
	// the other fields need, so this matters only for round trips.
	Flags int
}

// TreeNode is one line of the non-recipients tree: an address and
// whether a left and a right subtree follow it.
type TreeNode struct {
	Address     string
	Left, Right bool
}

// NewHeader returns a Header for a new message with every optional
// number absent and Exim's -deliver_firsttime set.
func NewHeader(id ID) *Header {
	return &Header{
		ID:                    id,
		BodyLinecount:         -1,
		BodyZerocount:         -1,
		MaxReceivedLinelength: -1,
		DeliverFirsttime:      true,
		Tainted:               map[string]bool{},
	}
}

// NewRecipient returns a plain recipient entry for address.
func NewRecipient(address string) Recipient {
	return Recipient{Address: address, PNo: -1}
}

// Undelivered returns the recipients that are not in the non-recipients
// tree, in order.
func (h *Header) Undelivered() []Recipient {
	done := map[string]bool{}
	for _, n := range h.NonRecipients {
		done[n.Address] = true
	}
	var out []Recipient
	for _, r := range h.Recipients {
		if !done[r.Address] {
			out = append(out, r)
		}
	}
	return out
}
