package spool

// optKind says how an option line carries its value.
type optKind int

const (
	optString optKind = iota // "-name value", absent when ""
	optFlag                  // "-name", present when true
	optInt                   // "-name N", absent when negative
	optIntPos                // "-name N", written only when > 0
	optTime                  // "-name SECONDS", absent when zero
	optACL                   // the place of the -aclc/-aclm block
)

// optionOrder lists the option lines in the order Exim 4.96 writes them
// (observed from its spool files; the spec allows any order, and readers
// accept any). Options this package does not know are kept in
// Header.Extra and written after these.
var optionOrder = [...]struct {
	name string
	kind optKind
}{
	{"helo_name", optString},
	{"host_address", optString},
	{"host_name", optString},
	{"host_auth", optString},
	{"host_auth_pubname", optString},
	{"interface_address", optString},
	{"active_hostname", optString},
	{"ident", optString},
	{"received_protocol", optString},
	{"", optACL},
	{"spool_file_wireformat", optFlag},
	{"body_linecount", optInt},
	{"max_received_linelength", optInt},
	{"body_zerocount", optIntPos},
	{"auth_id", optString},
	{"auth_sender", optString},
	{"allow_unqualified_recipient", optFlag},
	{"allow_unqualified_sender", optFlag},
	{"deliver_firsttime", optFlag},
	{"frozen", optTime},
	{"N", optFlag},
	{"host_lookup_deferred", optFlag},
	{"host_lookup_failed", optFlag},
	{"local", optFlag},
	{"localerror", optFlag},
	// Exim 4.96 writes -manual_thaw after -local (seen after -Mt).
	{"manual_thaw", optFlag},
	{"local_scan", optString},
	{"sender_set_untrusted", optFlag},
	{"spam_bar", optString},
	{"spam_score", optString},
	{"spam_score_int", optString},
	{"tls_certificate_verified", optFlag},
	{"tls_cipher", optString},
	{"tls_dane", optFlag},
	{"tls_peercert", optString},
	{"tls_peerdn", optString},
	// Observed: -tls_sni before -tls_ourcert, then -tls_ocsp.
	{"tls_sni", optString},
	{"tls_ourcert", optString},
	{"tls_ocsp", optString},
	{"tls_resumption", optString},
	{"tls_ver", optString},
	{"smtputf8", optFlag},
	{"utf8_downcvt", optFlag},
	{"utf8_optdowncvt", optFlag},
	{"dsn_envid", optString},
	{"dsn_ret", optIntPos},
	{"debug_selector", optString},
	{"debuglog_name", optString},
}

// field returns a pointer to the Header field behind option name
// (*string, *bool, *int or *time.Time), or nil for an unknown name.
func (h *Header) field(name string) any {
	switch name {
	case "helo_name":
		return &h.HeloName
	case "host_address":
		return &h.HostAddress
	case "host_name":
		return &h.HostName
	case "host_auth":
		return &h.HostAuth
	case "host_auth_pubname":
		return &h.HostAuthPubname
	case "interface_address":
		return &h.InterfaceAddress
	case "active_hostname":
		return &h.ActiveHostname
	case "ident":
		return &h.Ident
	case "received_protocol":
		return &h.ReceivedProtocol
	case "spool_file_wireformat":
		return &h.Wireformat
	case "body_linecount":
		return &h.BodyLinecount
	case "max_received_linelength":
		return &h.MaxReceivedLinelength
	case "body_zerocount":
		return &h.BodyZerocount
	case "auth_id":
		return &h.AuthID
	case "auth_sender":
		return &h.AuthSender
	case "allow_unqualified_recipient":
		return &h.AllowUnqualifiedRecipient
	case "allow_unqualified_sender":
		return &h.AllowUnqualifiedSender
	case "deliver_firsttime":
		return &h.DeliverFirsttime
	case "frozen":
		return &h.Frozen
	case "manual_thaw":
		return &h.ManualThaw
	case "N":
		return &h.DontDeliver
	case "host_lookup_deferred":
		return &h.HostLookupDeferred
	case "host_lookup_failed":
		return &h.HostLookupFailed
	case "local":
		return &h.Local
	case "localerror":
		return &h.LocalError
	case "local_scan":
		return &h.LocalScan
	case "sender_set_untrusted":
		return &h.SenderSetUntrusted
	case "spam_bar":
		return &h.SpamBar
	case "spam_score":
		return &h.SpamScore
	case "spam_score_int":
		return &h.SpamScoreInt
	case "tls_certificate_verified":
		return &h.TLSCertificateVerified
	case "tls_cipher":
		return &h.TLSCipher
	case "tls_dane":
		return &h.TLSDANE
	case "tls_peercert":
		return &h.TLSPeerCert
	case "tls_peerdn":
		return &h.TLSPeerDN
	case "tls_ocsp":
		return &h.TLSOCSP
	case "tls_ourcert":
		return &h.TLSOurCert
	case "tls_sni":
		return &h.TLSSNI
	case "tls_resumption":
		return &h.TLSResumption
	case "tls_ver":
		return &h.TLSVer
	case "dsn_envid":
		return &h.DSNEnvID
	case "dsn_ret":
		return &h.DSNRet
	case "smtputf8":
		return &h.SMTPUTF8
	case "utf8_downcvt":
		return &h.UTF8Downcvt
	case "utf8_optdowncvt":
		return &h.UTF8OptDowncvt
	case "debug_selector":
		return &h.DebugSelector
	case "debuglog_name":
		return &h.DebugLogName
	}
	return nil
}

// kindOf returns the kind of a known option.
func kindOf(name string) (optKind, bool) {
	for _, o := range optionOrder {
		if o.name == name && o.kind != optACL {
			return o.kind, true
		}
	}
	return 0, false
}
