package deliver

import (
	"fmt"
	"time"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/mainlog"
)

// # QT= and DT= (spec chapter "Log files", section "Reducing or
// increasing what is logged": deliver_time, queue_time,
// queue_time_overall, millisec)
//
// Observed with Exim 4.96: a time under 5 seconds is written with
// milliseconds ("0.024s") when millisec is selected; otherwise, and for
// 5 seconds and more, in Exim's time format ("1m30s", "1d", "0s").
// DT= ends "=>", "->", "*>", "**" and "==" lines (not "** ...: retry
// timeout exceeded"); QT= comes before DT= on delivery lines and is
// measured from the arrival time the message id encodes, while QT= on
// "Completed" (queue_time_overall) is measured from the arrival time in
// the -H file.

// selector returns the log_selector of the logger, when it has one.
func (d *Deliverer) selector() mainlog.Selector {
	if s, ok := d.Log.(interface{ Selector() mainlog.Selector }); ok {
		return s.Selector()
	}
	return 0
}

// selectorOrDefault is selector, with Exim's default selection when the
// Logger does not say (for the lines that are on by default).
func (d *Deliverer) selectorOrDefault() mainlog.Selector {
	if s, ok := d.Log.(interface{ Selector() mainlog.Selector }); ok {
		return s.Selector()
	}
	return mainlog.DefaultSelector
}

// isRetryWait reports whether a defer's errno says "retry time not
// reached" (-52 routing, -53 local, -54 remote delivery), the "=="
// lines that log_selector's retry_defer controls.
func isRetryWait(errno int) bool { return errno == -52 || errno == -53 || errno == -54 }

// logTime formats a QT= or DT= interval.
func logTime(d time.Duration, millisec bool) string {
	if d < 0 {
		d = 0
	}
	if !millisec || d >= 5*time.Second {
		return config.FormatTime(int64(d / time.Second))
	}
	ms := d.Milliseconds()
	return fmt.Sprintf("%d.%03ds", ms/1000, ms%1000)
}

// idArrival is the arrival time the message id encodes: its second,
// and the fraction of a second from the -H file when that file's time
// falls in the same second (else the id's own fraction, in 5 ms steps).
func (m *attempt) idArrival() time.Time {
	t := m.h.ID.Time()
	if m.h.Received.Unix() == t.Unix() {
		return m.h.Received
	}
	f := time.Duration(m.h.ID.Frac()) * 5 * time.Millisecond
	if f >= time.Second {
		f = 0
	}
	return t.Add(f)
}

// queueStart is when QT= starts counting: arrival, or with
// queue_time_exclusive the end of reception (-received_time_complete),
// so that the time taken to receive the message is left out (spec
// chapter "Log files", queue_time_exclusive).
func (m *attempt) queueStart(sel mainlog.Selector, arrival time.Time) time.Time {
	if sel.Has(mainlog.SelQueueTimeExclusive) && !m.h.ReceivedComplete.IsZero() {
		return m.h.ReceivedComplete
	}
	return arrival
}

// deliveryTimes is the " QT=... DT=..." end of a delivery line.
func (m *attempt) deliveryTimes(it *item) string {
	sel := m.d.selector()
	ms := sel.Has(mainlog.SelMillisec)
	s := ""
	if sel.Has(mainlog.SelQueueTime) {
		s += " QT=" + logTime(m.d.now().Sub(m.queueStart(sel, m.idArrival())), ms)
	}
	if sel.Has(mainlog.SelDeliverTime) {
		s += " DT=" + logTime(it.dt, ms)
	}
	return s
}

// deliverTime is the " DT=..." end of a failure or deferral line.
func (m *attempt) deliverTime(it *item) string {
	sel := m.d.selector()
	if !sel.Has(mainlog.SelDeliverTime) {
		return ""
	}
	return " DT=" + logTime(it.dt, sel.Has(mainlog.SelMillisec))
}

// completedLine is "Completed", with QT= under queue_time_overall.
func (m *attempt) completedLine() string {
	sel := m.d.selector()
	if sel.Has(mainlog.SelQueueTimeOverall) {
		return "Completed QT=" + logTime(m.d.now().Sub(m.queueStart(sel, m.h.Received)), sel.Has(mainlog.SelMillisec))
	}
	return "Completed"
}
