package deliver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/exigo-mta/exigo/internal/hintsdb"
	"github.com/exigo-mta/exigo/internal/mainlog"
	"github.com/exigo-mta/exigo/internal/spool"
	"github.com/exigo-mta/exigo/internal/transport"
)

// The wait-<transport> hints (spec chapter "The smtp transport",
// section "Multiple messages on a single connection"; chapter "Exim
// utilities", section "exim_dumpdb"):
//
//  1. when a remote delivery defers because its hosts could not be used
//     (a connection failed, or no host had reached its retry time), the
//     message id is added to the record of each host, keyed by host
//     name, in db/wait-<transport> (once; newest last);
//  2. when a message has been delivered to a host over a connection,
//     the delivery looks in that host's record for other messages,
//     takes the newest one out of the record and delivers it down the
//     same connection (its "=>" line marks the host with "*"), then the
//     next, until the record is empty, the connection is gone, or the
//     transport's connection_max_messages (or -oB) is reached. Ids of
//     messages no longer on the queue are dropped on the way; an empty
//     record is deleted.
//  3. a host's record holds at most 50 ids: the id that would be the
//     51st moves the 50 to a continuation record "host:N" (N = 0, 1 ...,
//     counted in the host's record) and starts the host's record anew;
//     when the host's record runs empty, the newest continuation record
//     becomes the host's record again (observed with Exim 4.96 and
//     exim_dumpdb).
//
// Exim 4.96 writes no record for a 4xx to RCPT, MAIL or DATA (observed):
// those are retried per address or per message, not per host.

// waitPrefix starts the name of a wait database.
const waitPrefix = "wait-"

// waitRecordMax is how many ids a wait record holds (step 3 above).
const waitRecordMax = 50

// continuationKey is the key of a host's continuation record n.
func continuationKey(host string, n int) string {
	return host + ":" + strconv.Itoa(n)
}

// hostDeferral reports whether it was deferred because its hosts could
// not be used: a connection error (a system errno, a connection
// timeout) or "retry time not reached for any host" (-54).
func hostDeferral(it *item) bool {
	if it.state != deferred || len(it.hosts) == 0 {
		return false
	}
	switch {
	case it.errno == -54, it.errno == transport.ErrnoConnTimeout, it.errno > 0:
		return true
	}
	return it.errCode == transport.ErrRefused || it.errCode == transport.ErrTimeout
}

// updateWaiting adds this message to the wait records of the hosts of
// its addresses that deferred for host reasons (step 1 above).
func (m *attempt) updateWaiting() {
	var deferred []*item
	for _, it := range m.items {
		if hostDeferral(it) {
			deferred = append(deferred, it)
		}
	}
	m.addWaiting(deferred)
}

// addWaiting adds this message to the wait records of the hosts of the
// remote addresses items.
func (m *attempt) addWaiting(items []*item) {
	hosts := map[string][]string{} // transport -> host names, in order
	for _, it := range items {
		if t := m.d.transports[it.transport]; t == nil || t.Local() {
			continue
		}
		for _, h := range it.hosts {
			if h.Name != "" && !slices.Contains(hosts[it.transport], h.Name) {
				hosts[it.transport] = append(hosts[it.transport], h.Name)
			}
		}
	}
	id := string(m.h.ID)
	for tname, names := range hosts {
		db, err := hintsdb.Open(m.d.Config.Main.String("spool_directory"), waitPrefix+tname, true)
		if err != nil {
			continue
		}
		for _, name := range names {
			var rec hintsdb.WaitRecord
			if _, err := db.Get(name, &rec); err != nil {
				continue
			}
			if slices.Contains(rec.IDs, id) {
				continue
			}
			if len(rec.IDs) >= waitRecordMax {
				db.Put(continuationKey(name, rec.Sequence), &hintsdb.WaitRecord{TimeStamp: m.now, IDs: rec.IDs})
				rec.Sequence++
				rec.IDs = nil
			}
			rec.IDs = append(rec.IDs, id)
			rec.TimeStamp = m.now
			db.Put(name, &rec)
		}
		db.Close()
	}
}

// hostKey names a host that a transport delivered to.
type hostKey struct{ transport, host string }

// deliveredHosts returns the hosts that the smtp transports of the
// attempt delivered to, in the order of the addresses.
func (m *attempt) deliveredHosts() []hostKey {
	var out []hostKey
	for _, it := range m.items {
		if it.state != delivered || it.host == "" {
			continue
		}
		if t := m.d.transports[it.transport]; t == nil || t.Local() {
			continue
		}
		k := hostKey{it.transport, it.host}
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// releaseConnections closes the connections this attempt keeps open
// when no message waits for their hosts, as Exim's transport does when
// it ends: before a bounce is sent, which would otherwise go out while
// the connection is still open.
func (m *attempt) releaseConnections() {
	pool := m.opts.pool
	if pool == nil || m.opts.continued || pool.Idle() == 0 {
		return
	}
	for _, hk := range m.deliveredHosts() {
		if m.d.hasWaiting(hk, string(m.h.ID)) {
			return
		}
	}
	pool.Close()
}

// waitRecord reads hk's wait record without the write lock; exists is
// false when the database cannot be read (it is missing: popWaiting
// creates it after a delivery, as Exim does, observed with the lock file
// present after any successful remote delivery).
func (d *Deliverer) waitRecord(hk hostKey) (rec hintsdb.WaitRecord, found, exists bool) {
	db, err := hintsdb.Open(d.Config.Main.String("spool_directory"), waitPrefix+hk.transport, false)
	if err != nil {
		return rec, false, false
	}
	defer db.Close()
	found, err = db.Get(hk.host, &rec)
	return rec, found && err == nil, err == nil
}

// noRecord reports whether hk's wait database exists and has no record
// for its host.
func (d *Deliverer) noRecord(hk hostKey) bool {
	_, found, exists := d.waitRecord(hk)
	return exists && !found
}

// hasWaiting reports whether hk's wait record lists a message other
// than self.
func (d *Deliverer) hasWaiting(hk hostKey, self string) bool {
	rec, found, _ := d.waitRecord(hk)
	return found && listsOther(rec, self)
}

// listsOther reports whether rec lists a message other than self.
func listsOther(rec hintsdb.WaitRecord, self string) bool {
	return slices.ContainsFunc(rec.IDs, func(id string) bool { return id != self })
}

// waitingFor is hasWaiting as the smtp transport asks it, when it has
// a message to deliver to the host: it makes the wait database when
// there is none (Exim 4.96 has it after any remote delivery, observed
// by its lock file).
func (d *Deliverer) waitingFor(hk hostKey, self string) bool {
	rec, found, exists := d.waitRecord(hk)
	if !exists {
		if db, err := hintsdb.Open(d.Config.Main.String("spool_directory"), waitPrefix+hk.transport, true); err == nil {
			db.Close()
		}
		return false
	}
	return found && listsOther(rec, self)
}

// continueWaiting is step 2 above for the hosts first delivered to,
// with the connections it left in pool.
func (d *Deliverer) continueWaiting(ctx context.Context, first *attempt, pool *transport.Pool) {
	done := map[string]bool{string(first.h.ID): true}
	for _, hk := range first.deliveredHosts() {
		limit := int64(500)
		if td := d.Config.Transport(hk.transport); td != nil {
			if n, ok := td.Options.Int("connection_max_messages"); ok {
				limit = n
			}
		}
		if d.ConnectionMaxMessages > 0 {
			limit = int64(d.ConnectionMaxMessages)
		}
		for sent := int64(1); limit <= 0 || sent < limit; {
			if ctx.Err() != nil || pool.Idle() == 0 {
				return
			}
			// A look without the write lock first: almost always the
			// host has no record, and concurrent deliveries would queue
			// for the database's write lock one after another. A record
			// is then taken apart, stale ids and all, by popWaiting.
			if d.noRecord(hk) {
				break
			}
			id := d.popWaiting(hk, done)
			if id == "" {
				break
			}
			done[id] = true
			// A waiting message that is frozen stays frozen, even
			// when the first one was thawed by -M.
			opts := first.opts
			opts.pool, opts.continued, opts.Thaw = pool, true, false
			if _, err := d.Message(ctx, spool.ID(id), opts); err != nil && errors.Is(err, ErrLocked) {
				continue
			}
			sent++
		}
	}
}

// popWaiting takes the newest message id out of hk's wait record that
// is not in done and is still on the queue, dropping the others it
// passes; it returns "" when there is none.
func (d *Deliverer) popWaiting(hk hostKey, done map[string]bool) string {
	db, err := hintsdb.Open(d.Config.Main.String("spool_directory"), waitPrefix+hk.transport, true)
	if err != nil {
		return ""
	}
	defer db.Close()
	var rec hintsdb.WaitRecord
	if found, err := db.Get(hk.host, &rec); err != nil || !found {
		return ""
	}
	// refill makes the newest continuation record the host's record
	// when that is empty (step 3 above).
	refill := func() {
		for len(rec.IDs) == 0 && rec.Sequence > 0 {
			rec.Sequence--
			key := continuationKey(hk.host, rec.Sequence)
			var cont hintsdb.WaitRecord
			if found, err := db.Get(key, &cont); err == nil && found {
				rec.IDs = cont.IDs
			}
			db.Delete(key)
		}
	}
	id := ""
	for id == "" {
		refill()
		if len(rec.IDs) == 0 {
			break
		}
		last := rec.IDs[len(rec.IDs)-1]
		rec.IDs = rec.IDs[:len(rec.IDs)-1]
		if done[last] || !spool.ValidID(last) {
			continue
		}
		if _, err := d.Spool.Locate(spool.ID(last)); err == nil {
			id = last
		}
	}
	refill()
	if len(rec.IDs) == 0 {
		db.Delete(hk.host)
	} else {
		rec.TimeStamp = d.now()
		db.Put(hk.host, &rec)
	}
	return id
}

// waitingHosts reads every wait database of the spool and returns, per
// message id, the "transport host" keys of the records that list it.
// A queue run starts no second attempt for a host while one is under
// way: the first one's delivery takes the others down its connection.
func waitingHosts(spoolDir string, names []string) map[string][]string {
	out := map[string][]string{}
	for _, name := range names {
		if !strings.HasPrefix(name, waitPrefix) {
			continue
		}
		db, err := hintsdb.Open(spoolDir, name, false)
		if err != nil {
			continue
		}
		keys, _ := db.Keys()
		for _, k := range keys {
			var rec hintsdb.WaitRecord
			if found, err := db.Get(k, &rec); err != nil || !found {
				continue
			}
			host := continuedHost(k, keys)
			for _, id := range rec.IDs {
				out[id] = append(out[id], name+" "+host)
			}
		}
		db.Close()
	}
	return out
}

// continuedHost returns the host whose continuation record key is, or
// key itself when it is a host's own record.
func continuedHost(key string, keys []string) string {
	i := strings.LastIndexByte(key, ':')
	if i <= 0 || i == len(key)-1 {
		return key
	}
	for _, c := range key[i+1:] {
		if c < '0' || c > '9' {
			return key
		}
	}
	if slices.Contains(keys, key[:i]) {
		return key[:i]
	}
	return key
}

// waitDBNames lists the wait databases in the spool's db directory.
func waitDBNames(spoolDir string) []string {
	ents, _ := os.ReadDir(filepath.Join(spoolDir, "db"))
	var out []string
	for _, e := range ents {
		if n := e.Name(); strings.HasPrefix(n, waitPrefix) && !strings.HasSuffix(n, ".lockfile") && hintsdb.ValidName(n) {
			out = append(out, n)
		}
	}
	return out
}

// runQueue starts the attempts of a queue run: at most cap(sem) at
// once, and none for a message waiting for a host (waiting) while an
// attempt for that host is under way (busy); those are put off until
// it ends, and then found delivered or attempted on their own.
type runQueue struct {
	d   *Deliverer
	ctx context.Context
	sem chan struct{}
	wg  sync.WaitGroup

	mu      sync.Mutex
	waiting map[string][]string
	busy    map[string]bool
	later   []delayed
}

// delayed is an attempt put off.
type delayed struct {
	id   spool.ID
	opts Options
}

// start starts the attempt of id, or puts it off.
func (q *runQueue) start(id spool.ID, o Options) {
	q.mu.Lock()
	keys := q.waiting[string(id)]
	for _, k := range keys {
		if q.busy[k] {
			q.later = append(q.later, delayed{id, o})
			q.mu.Unlock()
			return
		}
	}
	for _, k := range keys {
		q.busy[k] = true
	}
	q.mu.Unlock()
	q.sem <- struct{}{}
	q.wg.Add(1)
	go func() {
		defer q.wg.Done()
		defer func() { <-q.sem }()
		if len(keys) > 0 && !q.present(id) {
			// Delivered down the connection of a message before it
			// since the queue was listed.
		} else if _, err := q.d.Message(q.ctx, id, o); errors.Is(err, ErrLocked) && q.d.selectorOrDefault().Has(mainlog.SelSkipDelivery) {
			// Spec chapter "Log files", skip_delivery.
			q.d.Log.Write(fmt.Sprintf("%s Spool file is locked (another process is handling this message)", id), mainlog.Main)
		}
		q.mu.Lock()
		for _, k := range keys {
			delete(q.busy, k)
		}
		q.mu.Unlock()
	}()
}

// present says id is still on the queue.
func (q *runQueue) present(id spool.ID) bool {
	_, err := q.d.Spool.Locate(id)
	return err == nil
}

// wait waits for the attempts, then makes those put off for messages
// still on the queue, until none is left.
func (q *runQueue) wait() {
	for {
		q.wg.Wait()
		q.mu.Lock()
		later := q.later
		q.later = nil
		q.mu.Unlock()
		if len(later) == 0 || q.ctx.Err() != nil {
			return
		}
		for _, l := range later {
			if q.present(l.id) {
				q.start(l.id, l.opts)
			}
		}
	}
}
