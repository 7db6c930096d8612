package smtpserver

import (
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

// loadRefused applies smtp_load_reserve to a daemon connection: above
// that load only hosts in smtp_reserve_hosts are served; any other is
// answered 421 and logged (under connection_reject), before anything
// else is done for it. It reports whether the connection was refused.
// Exim applies it in the daemon only, not to -bs or -bh (observed with
// Exim 4.96).
func (s *session) loadRefused() bool {
	main := s.srv.Config.Main
	limit, ok := main.Int("smtp_load_reserve")
	if !ok || s.conn == nil || s.srv.Local || s.srv.HostChecking || s.srv.Batched || !s.peer.Addr.IsValid() {
		return false
	}
	above, load := loadavg.Above(s.readLoad(), int(limit))
	if !above || s.hostOption("smtp_reserve_hosts") {
		return false
	}
	host := s.hostname()
	if h := main.String("smtp_active_hostname"); h != "" {
		if v, err := s.expand(h); err == nil {
			host = v
		}
	}
	s.reply(421, host+": Too much load; please try again later")
	s.w.Flush()
	if s.sel().Has(mainlog.SelConnectionReject) {
		s.log("temporarily refused connection from ["+s.hostAddr()+"]: not in reserve list and load average = "+loadavg.Format(load), mainlog.Main)
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
