package deliver

import (
	"strconv"

	"github.com/exigo-mta/exigo/internal/hintsdb"
	"github.com/exigo-mta/exigo/internal/retry"
	"github.com/exigo-mta/exigo/internal/router"
	"github.com/exigo-mta/exigo/internal/transport"
)

// Retry keys (spec chapter "Retry configuration"; key shapes as
// exim_dumpdb shows them): "T:host:ip" for a host error, with ":port"
// when the port is not 25; "T:host:ip[:port]:msgid" for a 4xx to MAIL
// or DATA (the message's own trouble with the host); "R:domain" for a
// routing deferral, "R:local@domain" for a local delivery,
// "R:address:<sender>" for a 4xx to RCPT (observed with Exim 4.96).

// hostRetryKey is the retry key of host name at ip and port.
func hostRetryKey(name, ip string, port int) string {
	k := "T:" + name + ":" + ip
	if port != 0 && port != 25 {
		k += ":" + strconv.Itoa(port)
	}
	return k
}

// messageError reports whether a deferral is the message's trouble
// with a host: a 4xx to MAIL or DATA.
func messageError(it *item) bool {
	return it.host != "" && (it.errCode == transport.ErrMail4xx || it.errCode == transport.ErrData4xx)
}

// moreErrno is the additional error code Exim keeps in a host's retry
// record: 'A' for a host found by address record, 'M' by MX record,
// with the SMTP reply's code less 400 in the second byte for a 4xx
// (observed: 65 for a refused connection, 13121 for a 451).
func moreErrno(it *item) int {
	if it.host == "" {
		return 0
	}
	c := int('A')
	for _, h := range it.hosts {
		if h.Name == it.host && h.MX >= 0 {
			c = 'M'
		}
	}
	if it.errno < 0 {
		if code := smtpCode(it.msg); code != "" {
			n, _ := strconv.Atoi(code)
			return (n-400)<<8 | c
		}
		if !hostError(it) {
			return 0
		}
	}
	return c
}

// retryPort is the port a remote delivery of it used or would use: the
// host's own, else the transport's numeric port option, else 25.
func (m *attempt) retryPort(it *item, h router.Host) int {
	if h.Port > 0 {
		return h.Port
	}
	if td := m.d.Config.Transport(it.transport); td != nil {
		if n, err := strconv.Atoi(td.Options.String("port")); err == nil {
			return n
		}
	}
	return 25
}

// hostError reports whether a deferral is about the host rather than the
// address (connection refused, timed out, lost).
func hostError(it *item) bool {
	switch it.errCode {
	case transport.ErrTimeout, transport.ErrRefused, transport.ErrLost:
		return true
	}
	switch it.errno {
	case transport.ErrnoTLSFailure, transport.ErrnoTLSRequired:
		// A failed or missing TLS session is the host's problem
		// (observed with Exim 4.96: "retry time not reached for any
		// host" on the next queue run).
		return it.host != ""
	}
	return it.errno > 0 && it.host != ""
}

// retryKey returns the hints key and the subjects to match rules with.
func (m *attempt) retryKey(it *item) (string, []string) {
	a := it.addr
	switch {
	case it.transport == "":
		return "R:" + a.Domain, []string{a.Domain}
	case hostError(it):
		return hostRetryKey(it.host, it.hostAddr, it.conn.triedPort), []string{it.host, a.Domain}
	case messageError(it):
		return hostRetryKey(it.host, it.hostAddr, it.conn.triedPort) + ":" + string(m.h.ID), []string{it.host, a.Domain}
	case it.host != "":
		return "R:" + a.Address + ":<" + m.h.Sender + ">", []string{a.Address, a.Domain}
	}
	return "R:" + a.LocalPart + "@" + a.Domain, []string{a.Address, a.Domain}
}

// errorType classifies a deferral for the retry rules.
func errorType(it *item) retry.ErrorType {
	var s string
	switch it.errCode {
	case transport.ErrTimeout:
		s = "timeout"
	case transport.ErrRefused:
		s = "refused"
	case transport.ErrQuota:
		s = "quota"
	case transport.ErrAuthFailed:
		s = "auth_failed"
	case transport.ErrRcpt4xx, transport.ErrMail4xx, transport.ErrData4xx:
		s = it.errCode[:4] + "4xx"
		if c := smtpCode(it.msg); c != "" {
			s = it.errCode[:5] + c
		}
	default:
		return retry.ErrorType{}
	}
	e, err := retry.ParseErrorType(s)
	if err != nil {
		return retry.ErrorType{}
	}
	return e
}

// smtpCode finds the 4xx reply code at the end of an SMTP error text.
func smtpCode(msg string) string {
	for i := len(msg) - 5; i >= 0; i-- {
		if msg[i] == ' ' && msg[i+1] == '4' && isDigit(msg[i+2]) && isDigit(msg[i+3]) && (i+4 == len(msg) || msg[i+4] == ' ' || msg[i+4] == '-') {
			return msg[i+1 : i+4]
		}
	}
	return ""
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// openRetryDB opens the retry hints for writing; nil when it cannot.
func (m *attempt) openRetryDB() *hintsdb.DB {
	db, err := hintsdb.Open(m.d.Config.Main.String("spool_directory"), "retry", true)
	if err != nil {
		return nil
	}
	return db
}

// existingRetryKeys returns those of keys that have a retry record,
// reading the database without taking it for writing.
func (m *attempt) existingRetryKeys(keys []string) []string {
	db, err := hintsdb.Open(m.d.Config.Main.String("spool_directory"), "retry", false)
	if err != nil {
		return nil
	}
	defer db.Close()
	var out []string
	for _, k := range keys {
		if v, err := db.GetRaw(k); err == nil && v != nil {
			out = append(out, k)
		}
	}
	return out
}

// retryWait checks, before a remote delivery, whether every host of the
// address is waiting for its retry time; if so the address is deferred
// without an attempt: "retry time not reached for any host" (EXIM-NOTES;
// spec chapter "Retry configuration").
func (m *attempt) retryWait(it *item) bool {
	if len(it.hosts) == 0 {
		return false
	}
	db, err := hintsdb.Open(m.d.Config.Main.String("spool_directory"), "retry", false)
	if err != nil {
		return false
	}
	defer db.Close()
	// A host waits for its own record or for the message's record
	// with it (observed with Exim 4.96 after a 4xx to MAIL).
	for _, h := range it.hosts {
		k := hostRetryKey(h.Name, h.Addr, m.retryPort(it, h))
		waiting := false
		for _, key := range []string{k, k + ":" + string(m.h.ID)} {
			var rec hintsdb.RetryRecord
			found, err := db.Get(key, &rec)
			if err == nil && found && retry.Check(&rec, m.now, retry.CheckOptions{DelayAfterCutoff: true, Arrival: m.h.Received}) != retry.Try {
				waiting = true
			}
		}
		if !waiting {
			return false
		}
	}
	it.state, it.errno = deferred, -54
	it.msg = "retry time not reached for any host for '" + it.addr.Domain + "'"
	m.deferLog = append([]*item{it}, m.deferLog...)
	m.logDefer(it)
	return true
}

// addressRetryWait checks the address's own retry record (a 4xx to
// RCPT, keyed "R:address:<sender>", or "R:address") before routing: an
// address whose retry time has not come is deferred without routing,
// "routing defer (-52): retry time not reached" as Exim logs it.
func (m *attempt) addressRetryWait(a *router.Address) bool {
	db, err := hintsdb.Open(m.d.Config.Main.String("spool_directory"), "retry", false)
	if err != nil {
		return false
	}
	defer db.Close()
	for _, k := range []string{"R:" + a.Address + ":<" + m.h.Sender + ">", "R:" + a.Address, "R:" + a.Domain} {
		var rec hintsdb.RetryRecord
		found, err := db.Get(k, &rec)
		if err != nil || !found {
			continue
		}
		if retry.Check(&rec, m.now, retry.CheckOptions{Arrival: m.h.Received}) == retry.Wait {
			return true
		}
	}
	return false
}

// retryProcessing updates the retry hints after the transports ran:
// successes clear their host's record, deferrals get a new one, and a
// deferral past its rule's cutoff (or with no rule at all) becomes a
// failure, "retry timeout exceeded". Deferrals are walked in Exim's
// chain order (last deferred first), and those that time out are put
// in front of the failed chain together, as Exim's bounce text shows.
func (m *attempt) retryProcessing() {
	var db *hintsdb.DB
	open := func() *hintsdb.DB {
		if db == nil {
			db = m.openRetryDB()
		}
		return db
	}
	defer func() {
		if db != nil {
			db.Close()
		}
	}()
	// A delivery to a host clears its retry record. Most hosts have
	// none: look first without taking the database for writing, which
	// would queue every delivery of the process behind one lock.
	var clear []string
	for _, it := range m.items {
		if it.state == delivered && it.host != "" {
			port := it.conn.port
			if port == 0 {
				port = it.conn.triedPort
			}
			clear = append(clear, hostRetryKey(it.host, it.hostAddr, port))
		}
	}
	if len(clear) > 0 {
		clear = m.existingRetryKeys(clear)
	}
	for _, k := range clear {
		if d := open(); d != nil {
			d.Delete(k)
		}
	}
	sched := retry.Schedule{IntervalMax: timeOpt(m.d.Config, "retry_interval_max"), DataExpire: timeOpt(m.d.Config, "retry_data_expire")}
	var timedOut []*item
	for _, it := range m.deferLog {
		if it.state != deferred || it.errno == -55 || it.errno == -54 || it.panicErr || it.explicitlyQueued {
			continue
		}
		key, subjects := m.retryKey(it)
		var old *hintsdb.RetryRecord
		d := open()
		if d != nil {
			var rec hintsdb.RetryRecord
			if found, err := d.Get(key, &rec); err == nil && found {
				old = &rec
			}
		}
		sender := m.h.Sender
		f := retry.Failure{
			Subjects: subjects, Error: errorType(it), Sender: &sender,
			BasicErrno: it.errno, MoreErrno: moreErrno(it), Text: retryText(it), Arrival: m.h.Received,
			MessageRelated: it.errCode == transport.ErrMail4xx || it.errCode == transport.ErrData4xx || it.errCode == transport.ErrQuota,
		}
		rec, _, giveUp := m.d.retry.Update(old, f, m.now, sched)
		if rec != nil && d != nil {
			d.Put(key, rec)
		}
		if giveUp {
			it.state, it.timedOut = failed, true
			m.logFail(it)
			timedOut = append(timedOut, it)
		}
	}
	// Each is put in front of the failed chain in turn, so the bounce
	// lists the last logged first, except that addresses failed
	// together by one host's connection error keep their order
	// (observed with Exim 4.96).
	for i := 0; i < len(timedOut); {
		j := i + 1
		for j < len(timedOut) && timedOut[i].hostLogged && timedOut[j].hostLogged && timedOut[j].hostAddr == timedOut[i].hostAddr {
			j++
		}
		m.failChain = append(append([]*item{}, timedOut[i:j]...), m.failChain...)
		i = j
	}
}

// retryText is the text a retry record keeps: the deferral's, after
// "H=host [ip]: " for a message's trouble with a host (observed with
// Exim 4.96).
func retryText(it *item) string {
	if messageError(it) {
		return "H=" + it.host + " [" + it.hostAddr + "]: " + it.msg
	}
	return it.msg
}

// hostLine is "host NAME [IP]" with the port when it is not 25.
func hostLine(it *item) string {
	s := "host " + it.host + " [" + it.hostAddr + "]"
	return s
}
