// Package smtp holds the protocol parts shared by exigo's SMTP server and
// client: reply codes, multi-line reply formatting, the parsing of
// MAIL/RCPT arguments (addresses and ESMTP parameters) with Exim's error
// texts, and a strict DATA dot-reader.
//
// References: RFC 5321 (SMTP), RFC 3030 (CHUNKING), RFC 6531 (SMTPUTF8),
// RFC 3461 (DSN); Exim specification chapter "SMTP processing".
package smtp

// Reply codes (RFC 5321 section 4.2.3), named as mox names them.
const (
	C211SystemStatus      = 211
	C214Help              = 214
	C220ServiceReady      = 220
	C221Closing           = 221
	C235AuthSuccess       = 235
	C250Completed         = 250
	C251UserNotLocal      = 251
	C252WithoutVrfy       = 252
	C354StartData         = 354
	C421ServiceUnavail    = 421
	C450MailboxUnavail    = 450
	C451LocalErr          = 451
	C452StorageFull       = 452
	C454TempAuthFail      = 454
	C500BadSyntax         = 500
	C501BadParamSyntax    = 501
	C502CmdNotImpl        = 502
	C503BadCmdSeq         = 503
	C504ParamNotImpl      = 504
	C550MailboxUnavail    = 550
	C551UserNotLocal      = 551
	C552MailboxFull       = 552
	C553BadMailbox        = 553
	C554TransactionFailed = 554
)
