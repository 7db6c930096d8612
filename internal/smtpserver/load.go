package smtpserver

import (
	"strconv"

	"github.com/exigo-mta/exigo/internal/loadavg"
	"github.com/exigo-mta/exigo/internal/mainlog"
)

// Load-average controls of the SMTP side (Exim specification chapter
// "Main configuration", options smtp_load_reserve, smtp_reserve_hosts,
// queue_only_load and queue_only_load_latch; chapter "Log files",
// log_selector delay_delivery and connection_reject).

// loadState is what a session remembers of the load average.
type loadState struct {
	// latched is set once a message was queued for the load with
	// queue_only_load_latch: the rest of the session's messages are
	// queued too, for the same reason.
	latched bool
	reason  string
}

// readLoad is the server's load reader, or the system's.
func (s *session) readLoad() loadavg.Reader {
	if s.srv.Load != nil {
		return s.srv.Load
	}
	return loadavg.Read
}

// daemonConn reports whether the session is a TCP/IP connection the
// daemon accepted: the load checks of smtp_load_reserve apply to those
// only, not to -bs, -bS or -bh (observed with Exim 4.96).
func (s *session) daemonConn() bool {
	return s.conn != nil && !s.srv.Local && !s.srv.HostChecking && !s.srv.Batched && s.peer.Addr.IsValid()
}

// loadReserveLimit returns smtp_load_reserve and whether it applies to
// this session.
func (s *session) loadReserveLimit() (int, bool) {
	limit, ok := s.srv.Config.Main.Int("smtp_load_reserve")
	return int(limit), ok && s.daemonConn()
}

// logClient is "[ip]", with ":port" under log_selector incoming_port.
func (s *session) logClient() string {
	h := "[" + s.hostAddr() + "]"
	if s.logsPort() {
		h += ":" + strconv.Itoa(s.peer.Port)
	}
	return h
}

// loadRefused applies smtp_load_reserve when smtp_reserve_hosts is not
// set at all: above that load every connection is refused before
// anything is done for it (not even the smtp_connection line), with
// Exim's own 421 text and, under log_selector connection_reject,
// "Connection from [ip] refused: load average = N.NN". It reports
// whether the connection was refused. (Observed with Exim 4.96: an
// empty smtp_reserve_hosts takes the other way, loadReserved.)
func (s *session) loadRefused() bool {
	limit, ok := s.loadReserveLimit()
	if !ok || s.srv.Config.Main.IsSet("smtp_reserve_hosts") {
		return false
	}
	above, load := loadavg.Above(s.readLoad(), limit)
	if !above {
		return false
	}
	s.reply(421, "Too much load; please try again later.")
	s.w.Flush()
	if s.sel().Has(mainlog.SelConnectionReject) {
		s.log("Connection from "+s.logClient()+" refused: load average = "+loadavg.Format(load), mainlog.Main)
	}
	return true
}

// loadReserved applies smtp_load_reserve with smtp_reserve_hosts set:
// above that load only the hosts in the list are served; any other is
// answered 421 and logged (under connection_reject) once the connection
// is logged and host_reject_connection applied, before the connect ACL
// (observed with Exim 4.96). It reports whether the connection was
// refused.
func (s *session) loadReserved() bool {
	limit, ok := s.loadReserveLimit()
	if !ok || !s.srv.Config.Main.IsSet("smtp_reserve_hosts") {
		return false
	}
	above, load := loadavg.Above(s.readLoad(), limit)
	if !above || s.hostOption("smtp_reserve_hosts") {
		return false
	}
	host := s.hostname()
	if h := s.srv.Config.Main.String("smtp_active_hostname"); h != "" {
		if v, err := s.expand(h); err == nil {
			host = v
		}
	}
	s.reply(421, host+": Too much load; please try again later")
	if s.sel().Has(mainlog.SelConnectionReject) {
		s.log("temporarily refused connection from "+s.logClient()+": not in reserve list and load average = "+loadavg.Format(load), mainlog.Main)
	}
	return true
}

// loadQueueReason applies queue_only_load to a message about to be
// stored: above that load it is queued instead of delivered at once,
// and the reason is "load average N.NN". With queue_only_load_latch
// (the default) the first such message decides for the rest of the
// session; without it the load is read again for each message.
func (s *session) loadQueueReason() string {
	if s.load.latched {
		return s.load.reason
	}
	main := s.srv.Config.Main
	limit, ok := main.Int("queue_only_load")
	if !ok {
		return ""
	}
	above, load := loadavg.Above(s.readLoad(), int(limit))
	if !above {
		return ""
	}
	reason := "load average " + loadavg.Format(load)
	if main.Bool("queue_only_load_latch") {
		s.load = loadState{latched: true, reason: reason}
	}
	return reason
}
