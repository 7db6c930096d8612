package retry

import (
	"math/rand/v2"

	"github.com/exigo-mta/exigo/internal/config"
	"time"

	"github.com/exigo-mta/exigo/internal/hintsdb"
)

// Defaults of the main options that govern retries.
const (
	// DefaultIntervalMax is retry_interval_max's default (and maximum).
	DefaultIntervalMax = 24 * time.Hour
	// DefaultDataExpire is retry_data_expire's default.
	DefaultDataExpire = 7 * 24 * time.Hour
)

// Failure is one temporary failure to be recorded.
type Failure struct {
	// Subjects are matched against the rules' patterns (see Find).
	Subjects []string
	Error    ErrorType
	// Sender is the message's sender, nil if unknown.
	Sender *string
	// BasicErrno, MoreErrno and Text are stored in the record as they
	// are (see hintsdb.RetryRecord).
	BasicErrno, MoreErrno int
	Text                  string
	// Arrival is the message's arrival time for message-related errors
	// (4xx to MAIL or DATA, quota): when it is earlier than the record's
	// first failure it is used instead when scanning the rule. It is also
	// used for the "on the queue longer than the cutoff" rule. Zero when
	// not known.
	Arrival        time.Time
	MessageRelated bool
}

// Schedule holds the main options used in computing retry times.
type Schedule struct {
	// IntervalMax is retry_interval_max (0: the default, 24h).
	IntervalMax time.Duration
	// DataExpire is retry_data_expire (0: the default, 7d): older records
	// are ignored.
	DataExpire time.Duration
	// Rand returns a number in [0, n) for H rules; nil uses math/rand.
	Rand func(n int64) int64
}

func (s Schedule) intervalMax() time.Duration {
	if s.IntervalMax <= 0 || s.IntervalMax > DefaultIntervalMax {
		return DefaultIntervalMax
	}
	return s.IntervalMax
}

func (s Schedule) dataExpire() time.Duration {
	if s.DataExpire <= 0 {
		return DefaultDataExpire
	}
	return s.DataExpire
}

// Stale reports whether rec is older than retry_data_expire and so to be
// ignored. Spec: chapter "Retry configuration", section "Timeout of retry
// data".
func (s Schedule) Stale(rec *hintsdb.RetryRecord, now time.Time) bool {
	return rec != nil && now.Sub(rec.TimeStamp) > s.dataExpire()
}

// Update computes the record after failure f at time now, from the old
// record (nil when there is none), with the rule rs.Find gives for f.
//
// giveUp says the address must fail now ("retry timeout exceeded"): there
// is no rule (no retry rules at all means every temporary error is
// permanent), the rule has no parameter sets, the final cutoff has passed
// (the record is marked expired and still gets a next try time from the
// last parameter set), or the message has been on the queue longer than
// the final cutoff (then the old record is returned unchanged). rec is
// nil when no record is to be written.
//
// Next try times: the parameter sets are scanned for the first whose
// cutoff (measured from the first failure) has not passed; F adds its
// interval; G starts from its interval and multiplies by its factor until
// the interval is greater than the previous one (the old record's next try
// minus its last try); H takes a random interval between its first
// argument and the previous interval times the factor. The interval is at
// most retry_interval_max. Spec: chapter "Retry configuration", sections
// "Retry parameters", "Long-term failures" and "Deliveries that work
// intermittently". The G rule's previous interval was measured against
// Exim 4.96 (exim_fixdb, then a failed delivery).
func (rs *Rules) Update(old *hintsdb.RetryRecord, f Failure, now time.Time, s Schedule) (rec *hintsdb.RetryRecord, rule *Rule, giveUp bool) {
	rule = rs.Find(f.Subjects, f.Error, f.Sender)
	if rule == nil || len(rule.Steps) == 0 {
		return nil, rule, true
	}
	if s.Stale(old, now) {
		old = nil
	}
	if old != nil && !f.Arrival.IsZero() && now.Sub(f.Arrival) > time.Duration(rule.FinalCutoff())*time.Second {
		return old, rule, true
	}
	r := &hintsdb.RetryRecord{
		TimeStamp: now, FirstFailed: now, LastTry: now,
		BasicErrno: f.BasicErrno, MoreErrno: f.MoreErrno, Text: f.Text,
	}
	var prev time.Duration
	if old != nil {
		r.FirstFailed = old.FirstFailed
		prev = old.NextTry.Sub(old.LastTry)
	}
	first := r.FirstFailed
	if f.MessageRelated && !f.Arrival.IsZero() && f.Arrival.Before(first) {
		first = f.Arrival
	}
	age := int64(now.Sub(first) / time.Second)
	step := rule.Steps[len(rule.Steps)-1]
	r.Expired = true
	for _, st := range rule.Steps {
		if age < st.Cutoff {
			step, r.Expired = st, false
			break
		}
	}
	r.NextTry = now.Add(interval(step, prev, s))
	return r, rule, r.Expired
}

// interval computes one parameter set's next interval.
func interval(st config.RetryStep, prev time.Duration, s Schedule) time.Duration {
	maxIv := s.intervalMax()
	iv := time.Duration(st.Initial) * time.Second
	switch st.Rule {
	case 'G':
		if st.Factor > 1000 {
			for iv <= prev && iv < maxIv {
				iv = iv * time.Duration(st.Factor) / 1000
			}
		}
	case 'H':
		if prev > 0 && st.Factor > 0 {
			top := prev * time.Duration(st.Factor) / 1000
			if top > maxIv {
				top = maxIv
			}
			if top > iv {
				n := int64(top-iv)/int64(time.Second) + 1
				var r int64
				if s.Rand != nil {
					r = s.Rand(n)
				} else {
					r = rand.Int64N(n)
				}
				iv += time.Duration(r) * time.Second
			}
		}
	}
	if iv > maxIv {
		iv = maxIv
	}
	return iv
}

// Decision is what to do with a host or address before an attempt.
type Decision int

// The decisions of Check.
const (
	Try  Decision = iota // no record, a stale one, or the retry time has come
	Wait                 // "retry time not reached"
	Fail                 // past the final cutoff: fail without trying
)

// CheckOptions qualify Check.
type CheckOptions struct {
	Schedule
	// DelayAfterCutoff is the smtp transport's delay_after_cutoff
	// (Exim's default is true). Local deliveries pass false... and see
	// Local.
	DelayAfterCutoff bool
	// Local is set for local deliveries: one attempt is always made for
	// each new message.
	Local bool
	// Arrival is the message's arrival time (zero if unknown).
	Arrival time.Time
	// Rule, when known, lets a message that has been on the queue longer
	// than the rule's final cutoff be tried at once.
	Rule *Rule
}

// Check decides, before a delivery attempt, what a record allows. Spec:
// chapter "Retry configuration", sections "Long-term failures" and
// "Deliveries that work intermittently".
func Check(rec *hintsdb.RetryRecord, now time.Time, o CheckOptions) Decision {
	if rec == nil || o.Stale(rec, now) {
		return Try
	}
	if rec.Expired {
		switch {
		case o.Local:
			return Try
		case o.DelayAfterCutoff:
			if now.Before(rec.NextTry) {
				return Fail
			}
			return Try
		default:
			if !o.Arrival.IsZero() && rec.LastTry.Before(o.Arrival) {
				return Try
			}
			return Fail
		}
	}
	if !now.Before(rec.NextTry) {
		return Try
	}
	if o.Rule != nil && !o.Arrival.IsZero() && now.Sub(o.Arrival) > time.Duration(o.Rule.FinalCutoff())*time.Second {
		return Try
	}
	return Wait
}
