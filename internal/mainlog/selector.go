// Package mainlog writes Exim's three logs, mainlog, rejectlog and
// paniclog, in Exim's line format: a time stamp, optionally the process
// id, then the text. log_selector decides which optional items appear and
// log_file_path where the files live (with %s for the log name and %D or
// %M for dated files) or whether lines go to syslog.
//
// Exim specification: chapter "Log files".
package mainlog

import (
	"fmt"
	"strings"
)

// Selector is a set of optional log items (log_selector).
type Selector uint64

// The optional log items, in the order of the specification's table
// (chapter "Log files", section "Reducing or increasing what is logged").
const (
	Sel8BitMIME Selector = 1 << iota
	SelACLWarnSkipped
	SelAddressRewrite
	SelAllParents
	SelArguments
	SelConnectionReject
	SelDelayDelivery
	SelDeliverTime
	SelDeliverySize
	SelDKIM
	SelDKIMVerbose
	SelDNSListDefer
	SelDNSSEC
	SelETRN
	SelHostLookupFailed
	SelIdentTimeout
	SelIncomingInterface
	SelIncomingPort
	SelLostIncomingConnection
	SelMillisec
	SelMsgID
	SelMsgIDCreated
	SelOutgoingInterface
	SelOutgoingPort
	SelQueueRun
	SelQueueTime
	SelQueueTimeExclusive
	SelQueueTimeOverall
	SelPID
	SelPipelining
	SelProxy
	SelReceiveTime
	SelReceivedRecipients
	SelReceivedSender
	SelRejectedHeader
	SelRetryDefer
	SelReturnPathOnDelivery
	SelSenderOnDelivery
	SelSenderVerifyFail
	SelSizeReject
	SelSkipDelivery
	SelSMTPConfirmation
	SelSMTPConnection
	SelSMTPIncompleteTransaction
	SelSMTPMailAuth
	SelSMTPNoMail
	SelSMTPProtocolError
	SelSMTPSyntaxError
	SelSubject
	SelTLSCertificateVerified
	SelTLSCipher
	SelTLSPeerDN
	SelTLSResumption
	SelTLSSNI
	SelUnknownInList
	selEnd
)

// SelAll is "+all".
const SelAll = selEnd - 1

// DefaultSelector is what Exim logs when log_selector is not set (the
// items marked with an asterisk in the specification's table).
const DefaultSelector = SelACLWarnSkipped | SelConnectionReject | SelDelayDelivery |
	SelDKIM | SelDNSListDefer | SelETRN | SelHostLookupFailed |
	SelLostIncomingConnection | SelMsgID | SelQueueRun | SelRejectedHeader |
	SelRetryDefer | SelSenderVerifyFail | SelSizeReject | SelSkipDelivery |
	SelSMTPConfirmation | SelTLSCertificateVerified | SelTLSCipher

var selectorNames = map[string]Selector{
	"8bitmime": Sel8BitMIME, "acl_warn_skipped": SelACLWarnSkipped,
	"address_rewrite": SelAddressRewrite, "all_parents": SelAllParents,
	"arguments": SelArguments, "connection_reject": SelConnectionReject,
	"delay_delivery": SelDelayDelivery, "deliver_time": SelDeliverTime,
	"delivery_size": SelDeliverySize, "dkim": SelDKIM,
	"dkim_verbose": SelDKIMVerbose, "dnslist_defer": SelDNSListDefer,
	"dnssec": SelDNSSEC, "etrn": SelETRN,
	"host_lookup_failed": SelHostLookupFailed, "ident_timeout": SelIdentTimeout,
	"incoming_interface": SelIncomingInterface, "incoming_port": SelIncomingPort,
	"lost_incoming_connection": SelLostIncomingConnection, "millisec": SelMillisec,
	"msg_id": SelMsgID, "msg_id_created": SelMsgIDCreated,
	"outgoing_interface": SelOutgoingInterface, "outgoing_port": SelOutgoingPort,
	"queue_run": SelQueueRun, "queue_time": SelQueueTime,
	"queue_time_exclusive": SelQueueTimeExclusive, "queue_time_overall": SelQueueTimeOverall,
	"pid": SelPID, "pipelining": SelPipelining, "proxy": SelProxy,
	"receive_time": SelReceiveTime, "received_recipients": SelReceivedRecipients,
	"received_sender": SelReceivedSender, "rejected_header": SelRejectedHeader,
	"retry_defer": SelRetryDefer, "return_path_on_delivery": SelReturnPathOnDelivery,
	"sender_on_delivery": SelSenderOnDelivery, "sender_verify_fail": SelSenderVerifyFail,
	"size_reject": SelSizeReject, "skip_delivery": SelSkipDelivery,
	"smtp_confirmation": SelSMTPConfirmation, "smtp_connection": SelSMTPConnection,
	"smtp_incomplete_transaction": SelSMTPIncompleteTransaction,
	"smtp_mailauth":               SelSMTPMailAuth, "smtp_no_mail": SelSMTPNoMail,
	"smtp_protocol_error": SelSMTPProtocolError, "smtp_syntax_error": SelSMTPSyntaxError,
	"subject": SelSubject, "tls_certificate_verified": SelTLSCertificateVerified,
	"tls_cipher": SelTLSCipher, "tls_peerdn": SelTLSPeerDN,
	"tls_resumption": SelTLSResumption, "tls_sni": SelTLSSNI,
	"unknown_in_list": SelUnknownInList, "all": SelAll,
	// Older names Exim still accepts.
	"queue_time_overall_exclusive": SelQueueTimeExclusive,
	"rejected_headers":             SelRejectedHeader,
}

// ParseSelector parses a log_selector value such as "+all -pid" starting
// from the default selection, with Exim's error texts.
func ParseSelector(s string) (Selector, error) {
	sel := DefaultSelector
	for _, word := range strings.Fields(s) {
		for word != "" {
			op := word[0]
			if op != '+' && op != '-' {
				return 0, fmt.Errorf("malformed log_selector setting: + or - expected but found \"%s\"", word)
			}
			rest := word[1:]
			end := strings.IndexAny(rest, "+-")
			if end < 0 {
				end = len(rest)
			}
			name := rest[:end]
			bit, ok := selectorNames[name]
			if !ok {
				return 0, fmt.Errorf("unknown log_selector setting: %c%s", op, name)
			}
			if op == '+' {
				sel |= bit
			} else {
				sel &^= bit
			}
			word = rest[end:]
		}
	}
	return sel, nil
}

// Has reports whether item is selected.
func (s Selector) Has(item Selector) bool { return s&item != 0 }
