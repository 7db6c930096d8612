package deliver

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/exigo-mta/exigo/internal/mainlog"
	"github.com/exigo-mta/exigo/internal/router"
)

// The main log's lines of delivery outcomes: "=>", "->" and "*>" for a
// delivery, "**" for a failure, "==" for a deferral (spec chapter "Log
// files", section "Logging deliveries").

func (m *attempt) logDelivery(it *item) {
	flag := "=>"
	switch {
	case m.d.DontDeliver:
		flag = "*>"
	case it.more:
		flag = "->"
	}
	sel := m.d.selector()
	size := ""
	if sel.Has(mainlog.SelDeliverySize) {
		n := it.conn.size
		if n == 0 {
			n, _ = strconv.ParseInt(m.bodyVars()["message_size"], 10, 64)
		}
		size = " S=" + strconv.FormatInt(n, 10)
	}
	line := fmt.Sprintf("%s %s%s R=%s T=%s%s%s%s", flag, m.lineAddress(it, true), m.senderFields(it), it.router, it.transport, size, m.deliveredHostField(it), m.tlsFields(it))
	if it.conn.auth != "" {
		// The client authenticator (spec chapter "Log files", section
		// "Logging deliveries").
		line += " A=" + it.conn.auth
	}
	if sel.Has(mainlog.SelPipelining) && it.conn.pipelined {
		line += " L"
	}
	if it.conn.chunking {
		// K: the CHUNKING extension was used (spec chapter "Log
		// files", section "Reducing or increasing what is logged").
		line += " K"
	}
	if it.confirm != "" && m.d.Config != nil && sel.Has(mainlog.SelSMTPConfirmation) {
		line += " C=" + quoteLog(it.confirm)
	}
	m.mainf("%s%s", line, m.deliveryTimes(it))
	m.msglogDelivery(it)
}

// tlsFields are the X=, CV= and DN= fields of a delivery over TLS, as
// log_selector tls_cipher, tls_certificate_verified and tls_peerdn ask
// (spec chapter "Log files", section "Reducing or increasing what is
// logged").
func (m *attempt) tlsFields(it *item) string {
	if it.tls.cipher == "" {
		return ""
	}
	sel := m.d.selector()
	s := ""
	if sel.Has(mainlog.SelTLSCipher) {
		s += " X=" + it.tls.cipher
	}
	if sel.Has(mainlog.SelTLSCertificateVerified) && it.tls.verified != "" {
		s += " CV=" + it.tls.verified
	}
	if sel.Has(mainlog.SelTLSPeerDN) && it.tls.peerDN != "" {
		s += ` DN=` + quoteLog(it.tls.peerDN)
	}
	return s
}

func (m *attempt) logFail(it *item) {
	switch {
	case it.timedOut && it.addr.Parent != nil:
		// A generated address shows its immediate parent in angle
		// brackets here, not the original recipient (observed with
		// Exim 4.96).
		// A mailbox shows its address, also after a local transport
		// (observed: "** x@y <alias@y>").
		s := it.addr.Address
		if it.addr.Kind != router.Mailbox || it.path != "" {
			s = m.lineAddress(it, false)
		}
		m.mainf("** %s <%s>: retry timeout exceeded", s, it.addr.Parent.Address)
	case it.timedOut:
		// Not in the message log (observed with Exim 4.96).
		m.mainf("** %s: retry timeout exceeded", m.timeoutAddress(it))
	case it.routingFail:
		r := ""
		if it.router != "" && it.msg != "Unrouteable address" {
			r = " R=" + it.router
			if it.transport != "" {
				r += " T=" + it.transport
			}
		}
		line := fmt.Sprintf("%s%s%s: %s%s", m.failAddress(it), m.senderFields(it), r, it.msg, m.deliverTime(it))
		m.mainf("** %s", line)
		if r == "" {
			line = "routing failed for " + line
		}
		m.mlog(line)
	default:
		m.logf("** %s%s R=%s T=%s%s: %s%s", m.failAddress(it), m.senderFields(it), it.router, it.transport, m.hostField(it), it.msg, m.deliverTime(it))
	}
}

func (m *attempt) logDefer(it *item) {
	t := ""
	if it.transport != "" {
		t = " T=" + it.transport
	}
	if it.conn.panicLine {
		m.mainf("%s", it.msg)
		if m.panicAt == nil {
			m.panicAt = map[int]bool{}
		}
		m.panicAt[len(m.logs)-1] = true
	}
	if it.panicErr {
		defer func() {
			if m.panicAt == nil {
				m.panicAt = map[int]bool{}
			}
			m.panicAt[len(m.logs)-1] = true
		}()
	}
	if isRetryWait(it.errno) {
		// In the message log only at the first delivery attempt, in
		// the main log only with retry_defer (spec chapter "Log
		// files", retry_defer).
		m.retryWaitf("== %s R=%s%s defer (%d)%s%s: %s", m.failAddress(it), it.router, t, it.errno, m.hostField(it), m.deliverTime(it), it.msg)
		return
	}
	if it.errno > 0 {
		// A system error (errno such as 111, Connection refused): DT=
		// ends the line; otherwise it comes before the text (observed
		// with Exim 4.96).
		m.logf("== %s R=%s%s defer (%d)%s: %s%s", m.failAddress(it), it.router, t, it.errno, m.hostField(it), it.msg, m.deliverTime(it))
		return
	}
	m.logf("== %s R=%s%s defer (%d)%s%s: %s", m.failAddress(it), it.router, t, it.errno, m.hostField(it), m.deliverTime(it), it.msg)
}

// quoteLog quotes a string for a log field as Exim's string_printing
// does for C=: in double quotes, with quotes and backslashes escaped and
// the newlines of a multiline reply as \\n (a backslash written escaped,
// observed in Exim 4.96).
func quoteLog(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\\n`)
	return `"` + r.Replace(s) + `"`
}

// timeOpt returns a time option of the main section (0 when unset).
