package lookup

import (
	"time"
)

// query runs a query-style lookup through the cache (spec 9.8).
func (r *Registry) query(st *typeSpec, q string) (string, bool, error) {
	ck := cacheKey{st.name + "," + cacheOpts(st), "", q}
	r.debugf("search_find: file=NULL\n  key=%q partial=%d affix=NULL starflags=0 opts=%s", q, st.partial, optString(st))
	r.debugf("internal_search_find: file=NULL\n  type=%s key=%q opts=%s", st.name, q, optString(st))
	now := r.opts.Now()
	r.mu.Lock()
	e, ok := r.cache[ck]
	r.mu.Unlock()
	if ok && !r.opts.NoCache && st.opts["cache"] != "no_rd" && (e.expires.IsZero() || now.Before(e.expires)) {
		r.debugf("cached data used for lookup of %s", q)
		return r.yield(e.value, e.found)
	}
	r.debugf("database lookup required for %s", q)
	var (
		v     string
		found bool
		ttl   time.Duration = -1
		err   error
	)
	switch st.name {
	case "dnsdb":
		v, found, ttl, err = r.dnsdb(q)
	case "sqlite":
		v, found, err = r.sqlite(st, q)
	case "passwd":
		v, found, err = r.passwd(q)
	case "ldap", "ldapm", "ldapdn":
		v, found, err = r.ldap(st.name, q)
	}
	if err != nil {
		if d, ok := err.(*DeferError); ok && d.Key == "" {
			d.Key = q
		}
		r.debugf("lookup deferred: %v", err)
		return "", false, err
	}
	ne := cacheEntry{value: v, found: found}
	if ttl >= 0 {
		ne.expires = now.Add(ttl)
	}
	if !r.opts.NoCache {
		r.mu.Lock()
		r.cache[ck] = ne
		r.mu.Unlock()
	}
	return r.yield(v, found)
}
