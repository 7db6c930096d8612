package acl

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/exigo-mta/exigo/internal/config"
)

// RateData is what the ratelimit condition keeps per key (Exim's
// ratelimit hints database record).
type RateData struct {
	// Time is when the rate was last updated.
	Time time.Time
	// Rate is the smoothed rate in events per period.
	Rate float64
	// Unique holds the unique= values seen since UniqueStart (Exim uses a
	// Bloom filter; a set gives the answers it gives when it is right).
	Unique      map[string]bool
	UniqueStart time.Time
}

// RatelimitStore keeps ratelimit data between sessions. Get returns
// found=false for an unknown key. Implementations must be safe for
// concurrent use; the hints database package provides the durable one.
type RatelimitStore interface {
	Get(key string) (d RateData, found bool, err error)
	Put(key string, d RateData) error
}

// MemoryRatelimitStore is a RatelimitStore in memory.
type MemoryRatelimitStore struct {
	mu sync.Mutex
	m  map[string]RateData
}

// NewMemoryRatelimitStore returns an empty store.
func NewMemoryRatelimitStore() *MemoryRatelimitStore {
	return &MemoryRatelimitStore{m: map[string]RateData{}}
}

// Get implements RatelimitStore.
func (s *MemoryRatelimitStore) Get(key string) (RateData, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.m[key]
	if ok && d.Unique != nil {
		u := make(map[string]bool, len(d.Unique))
		for k, v := range d.Unique {
			u[k] = v
		}
		d.Unique = u
	}
	return d, ok, nil
}

// Put implements RatelimitStore.
func (s *MemoryRatelimitStore) Put(key string, d RateData) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = d
	return nil
}

// ratelimitArgs is a parsed "m / p / options / key".
type ratelimitArgs struct {
	limit              float64
	limitText, period  string
	periodSecs         float64
	mode               string // per_mail, per_conn, per_rcpt, per_cmd (per_byte and per_addr mapped)
	byteMode, addrMode bool
	update             string // "", "strict", "leaky", "readonly"
	count              *float64
	unique             *string
	key                []string
}

func ratelimitError(format string, args ...any) error {
	return fmt.Errorf("error in arguments to \"ratelimit\" condition: "+format, args...)
}

// parseRatelimit parses the condition's expanded argument.
// Specification sections "Rate limiting incoming messages" to "Limiting
// the rate of different events".
func parseRatelimit(v string) (*ratelimitArgs, error) {
	parts := strings.Split(v, "/")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	a := &ratelimitArgs{limitText: parts[0]}
	lim := parts[0]
	mult := 1.0
	if n := len(lim); n > 0 {
		switch lim[n-1] {
		case 'K', 'k':
			mult, lim = 1024, lim[:n-1]
		case 'M', 'm':
			mult, lim = 1024*1024, lim[:n-1]
		case 'G', 'g':
			mult, lim = 1024*1024*1024, lim[:n-1]
		}
	}
	f, err := strconv.ParseFloat(lim, 64)
	if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, ratelimitError("\"%s\" is not a positive number", parts[0])
	}
	a.limit = f * mult
	if len(parts) < 2 {
		return nil, ratelimitError("\"NULL\" is not a time value")
	}
	d, ok := config.ParseTime(parts[1])
	if !ok || d <= 0 {
		return nil, ratelimitError("\"%s\" is not a time value", parts[1])
	}
	a.period, a.periodSecs = parts[1], d.Seconds()
	for _, p := range parts[2:] {
		switch {
		case p == "per_mail" || p == "per_conn" || p == "per_rcpt" || p == "per_cmd" || p == "per_byte" || p == "per_addr":
			if a.mode != "" {
				return nil, ratelimitError("conflicting per_* options")
			}
			a.mode = p
		case p == "strict" || p == "leaky" || p == "readonly" || p == "noupdate":
			if p == "noupdate" {
				p = "readonly"
			}
			if a.update != "" {
				return nil, ratelimitError("conflicting update modes")
			}
			a.update = p
		case strings.HasPrefix(p, "count="):
			c, err := strconv.ParseFloat(p[len("count="):], 64)
			if err != nil || c < 0 {
				return nil, ratelimitError("\"%s\" is not a positive number", p[len("count="):])
			}
			a.count = &c
		case strings.HasPrefix(p, "unique="):
			u := p[len("unique="):]
			a.unique = &u
		default:
			a.key = append(a.key, p)
		}
	}
	switch a.mode {
	case "":
		a.mode = "per_mail"
	case "per_byte":
		a.mode, a.byteMode = "per_mail", true
	case "per_addr":
		a.mode, a.addrMode = "per_rcpt", true
	}
	return a, nil
}

// ratelimitModeStages are the stages where each measure is updated by
// default; elsewhere the mode is readonly.
var ratelimitModeStages = map[string]stageSet{
	"per_conn": ^notSMTPStages,
	"per_mail": setOf(MAIL, RCPT, Predata, MIME, Data, PRDR, DKIM, NotSMTP, NotSMTPMIME),
	"per_rcpt": setOf(RCPT, Predata, MIME, Data, PRDR, DKIM, NotSMTP, NotSMTPMIME),
	"per_cmd":  ^setOf(),
}

// ratelimit is the ratelimit condition: true when the client's smoothed
// rate is at or above the limit.
func (r *run) ratelimit(v string, depth int, sr *stmtResult) rc {
	a, err := parseRatelimit(v)
	if err != nil {
		sr.err = err.Error()
		return rcError
	}
	vars := r.s.Vars
	if a.addrMode {
		if r.stage != RCPT {
			sr.err = "per_addr ratelimit only allowed in RCPT ACL"
			return rcError
		}
		u := vars["local_part"] + "@" + vars["domain"]
		a.unique = &u
	}
	allowed := ratelimitModeStages[a.mode].has(r.stage)
	if a.byteMode {
		allowed = ratelimitModeStages["per_mail"].has(r.stage)
	}
	if a.update == "" {
		a.update = "leaky"
		if !allowed {
			a.update = "readonly"
		}
	}
	count := 1.0
	switch {
	case a.count != nil:
		count = *a.count
	case a.byteMode:
		n, _ := strconv.ParseFloat(vars["message_size"], 64)
		count = math.Max(n, 0)
	case a.mode == "per_rcpt" && r.stage != RCPT:
		n, _ := strconv.ParseFloat(vars["recipients_count"], 64)
		count = n
	}
	if a.update == "readonly" {
		count = 0
	}
	key := vars["sender_host_address"]
	if len(a.key) > 0 {
		key = strings.Join(a.key, "/")
	}
	dbKey := a.period + "/" + a.mode + "/"
	if a.unique != nil {
		dbKey += "unique/"
	}
	dbKey += key
	r.trace(depth, "ratelimit condition count=%.0f %.1f/%s", count, a.limit, dbKey)

	setVars := func(rate float64) rc {
		vars["sender_rate"] = fmt.Sprintf("%.1f", rate)
		vars["sender_rate_limit"] = a.limitText
		vars["sender_rate_period"] = a.period
		if rate < a.limit {
			return rcFail
		}
		return rcOK
	}
	cacheable := (a.mode == "per_mail" || a.mode == "per_conn") && a.update != "readonly" && a.unique == nil
	cache := r.s.rateMsg
	if a.mode == "per_conn" {
		cache = r.s.rateConn
	}
	if cacheable {
		if rate, ok := cache[dbKey]; ok {
			r.trace(depth, "ratelimit found pre-computed rate %.1f", rate)
			return setVars(rate)
		}
	}
	store := r.e.Ratelimit
	if store == nil {
		sr.err = "ratelimit: no hints store"
		return rcDefer
	}
	now := time.Now()
	if r.e.Now != nil {
		now = r.e.Now()
	}
	d, found, err := store.Get(dbKey)
	if err != nil {
		sr.err = err.Error()
		return rcDefer
	}
	uniqueNew := false
	if a.unique != nil && a.update != "readonly" {
		if !found || d.Unique == nil || now.Sub(d.UniqueStart).Seconds() > a.periodSecs {
			r.trace(depth, "ratelimit creating new Bloom filter")
			d.Unique, d.UniqueStart = map[string]bool{}, now
		} else {
			r.trace(depth, "ratelimit found key in database")
		}
		r.trace(depth, "ratelimit checking uniqueness of %s", *a.unique)
		if d.Unique[*a.unique] {
			r.trace(depth, "ratelimit event found in Bloom filter")
			count = 0
		} else {
			r.trace(depth, "ratelimit event added to Bloom filter")
			uniqueNew = true
		}
	} else if found {
		r.trace(depth, "ratelimit found key in database")
	} else {
		r.trace(depth, "ratelimit creating new rate data block")
	}
	if !found {
		r.trace(depth, "ratelimit initializing new key's rate data")
		d.Rate, d.Time = count, now
	} else {
		interval := now.Sub(d.Time).Seconds()
		if interval < 0 {
			interval = 0
		}
		iOverP := interval / a.periodSecs
		alpha := math.Exp(-iOverP)
		factor := 1.0
		if iOverP > 1e-9 {
			factor = (1 - alpha) / iOverP
		}
		d.Rate = count*factor + alpha*d.Rate
		d.Time = now
	}
	res := setVars(d.Rate)
	switch {
	case a.update == "readonly":
		r.trace(depth, "ratelimit db not updated: readonly mode")
	case a.update == "leaky" && res == rcOK:
		r.trace(depth, "ratelimit db not updated: over the limit, but leaky")
	default:
		if uniqueNew {
			d.Unique[*a.unique] = true
		}
		if err := store.Put(dbKey, d); err != nil {
			sr.err = err.Error()
			return rcDefer
		}
		r.trace(depth, "ratelimit db updated")
	}
	r.trace(depth, "ratelimit computed rate %.1f", d.Rate)
	if cacheable {
		if a.mode == "per_conn" {
			if r.s.rateConn == nil {
				r.s.rateConn = map[string]float64{}
			}
			r.s.rateConn[dbKey] = d.Rate
		} else {
			if r.s.rateMsg == nil {
				r.s.rateMsg = map[string]float64{}
			}
			r.s.rateMsg[dbKey] = d.Rate
		}
	}
	return res
}
