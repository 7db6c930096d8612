// Package lookup implements Exim's file and database lookups: the
// single-key types (lsearch, wildlsearch, nwildlsearch, iplsearch, dsearch,
// cdb, dbm, dbmnz, dbmjz) and the query-style types (dnsdb, sqlite,
// passwd, ldap, ldapm, ldapdn), with partial matching, "*" and "*@" defaults, lookup options
// such as ",ret=key", open-file and result caching, and the quote_<type>
// operators.
//
// Exim specification: chapter "File and database lookups" (sections cited
// beside the code as "spec 9.N").
//
// # Errors: what the caller prints
//
// Find and Query return three kinds of error. The caller (the expansion
// engine, lists, routers) wraps them as Exim does:
//
//   - *DeferError: the lookup deferred. An expansion fails with
//     `lookup of "<Key>" gave DEFER: <Msg>` where Key is the key (single-key)
//     or the query (query-style), both as given to Find/Query, and Msg may be
//     empty (then the text ends in "DEFER: " with its trailing space). When
//     Log is not empty, the caller writes it to the main log first (Exim
//     logs, e.g., a wildlsearch key that fails to expand).
//   - *OpenError: the file could not be opened (e.g. `failed to open
//     /nonexistent for linear search: No such file or directory`). An
//     expansion fails with exactly Error() as its message (printed by -be as
//     "Failed: " + Error()).
//   - any other error: configuration problems (unknown lookup type, bad
//     type syntax, a single key given to a query-style type). The expansion
//     fails with exactly Error() as its message.
//
// # Caching (spec 9.8)
//
// A Registry keeps single-key files open (at most OpenMax, least recently
// used closed first) and remembers every result per (type, file, key) and
// per (type, query), including "not found". Observable consequences, as in
// Exim: a file edited in place after a key was looked up still yields the
// old answer for that key, while keys not yet looked up see the new
// contents of the open file; a file replaced by rename keeps being read
// through the old open file until Flush; a dnsdb result is reused until its
// smallest TTL runs out. The option ",cache=no_rd" skips reading the cache
// (the result is still written). Flush closes files and forgets results,
// as Exim does after routing.
package lookup

import (
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/exigo-mta/exigo/internal/debug"
	"github.com/exigo-mta/exigo/internal/dns"
)

// KindType tells how a lookup type takes its argument.
type KindType int

// The two kinds of lookup (spec 9.2).
const (
	// SingleKey types take a key and a file: ${lookup{key}TYPE{file}}.
	SingleKey KindType = iota + 1
	// QueryStyle types take one query: ${lookup TYPE{query}}.
	QueryStyle
)

// String returns "single-key" or "query-style".
func (k KindType) String() string {
	if k == SingleKey {
		return "single-key"
	}
	return "query-style"
}

// DeferError is a lookup that could not be completed now (Exim's DEFER).
type DeferError struct {
	// Key is the key or query the lookup was given.
	Key string
	// Msg is Exim's text after "gave DEFER: " (may be empty).
	Msg string
	// Log, when not empty, is a line the caller writes to the main log.
	Log string
}

// Error returns `lookup of "<Key>" gave DEFER: <Msg>`, the text Exim shows.
func (e *DeferError) Error() string {
	return fmt.Sprintf("lookup of \"%s\" gave DEFER: %s", e.Key, e.Msg)
}

// OpenError is a failure to open a lookup's file or database.
type OpenError struct {
	// Msg is Exim's full text, e.g. "failed to open F for linear search:
	// No such file or directory".
	Msg string
	// Err is the underlying error, if any.
	Err error
}

// Error returns Msg.
func (e *OpenError) Error() string { return e.Msg }

// Unwrap returns the underlying error.
func (e *OpenError) Unwrap() error { return e.Err }

// Options configures a Registry.
type Options struct {
	// Resolver answers dnsdb lookups; nil makes dnsdb lookups defer.
	Resolver *dns.Resolver
	// Debug receives lines under debug.Lookup (and debug.DNS); may be nil.
	Debug *debug.Logger
	// SQLiteDBFile is the main option sqlite_dbfile.
	SQLiteDBFile string
	// SQLiteTimeout is the main option sqlite_lock_timeout (default 5s).
	SQLiteTimeout time.Duration
	// OpenMax is the main option lookup_open_max (default 25).
	OpenMax int
	// PasswdFile is the password file the passwd lookup reads (default
	// "/etc/passwd"; exigo reads the file, it does not call NSS).
	PasswdFile string
	// Now gives the time for dnsdb cache expiry (default time.Now).
	Now func() time.Time
	// LDAP holds the ldap_* main options.
	LDAP LDAPOptions
	// NoCache makes every lookup ask its file or server afresh. Exim
	// caches results only within one process (spec chapter "File and
	// database lookups", "Lookup caching"), and its daemon gives every
	// SMTP connection and every delivery a process of its own; a
	// long-lived exigo daemon serving them all from one registry sets
	// NoCache, so that no connection or delivery sees results cached
	// by another (a changed directory entry, a server that has gone).
	NoCache bool
}

// Expander expands a string (used for wildlsearch keys); may be nil, in
// which case wildlsearch keys are used unexpanded.
type Expander func(string) (string, error)

// Registry holds the lookup types, open files and the cache; one per
// configuration in a process. It is safe for concurrent use.
type Registry struct {
	opts Options

	mu    sync.Mutex
	files map[fileID]*openFile // open single-key files
	tick  uint64               // LRU clock
	cache map[cacheKey]cacheEntry
	dbs   map[string]*sql.DB // open SQLite databases

	ldapMu    sync.Mutex           // held during LDAP operations
	ldapConns map[string]*ldapConn // cached LDAP connections, by server
}

// New returns a Registry with the given options.
func New(opts Options) *Registry {
	if opts.OpenMax <= 0 {
		opts.OpenMax = 25
	}
	if opts.SQLiteTimeout <= 0 {
		opts.SQLiteTimeout = 5 * time.Second
	}
	if opts.PasswdFile == "" {
		opts.PasswdFile = "/etc/passwd"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Registry{
		opts:  opts,
		files: map[fileID]*openFile{},
		cache: map[cacheKey]cacheEntry{},
	}
}

// typeInfo describes one lookup type.
type typeInfo struct {
	kind KindType
	// available is false for types Exim knows that exigo does not do yet;
	// using them fails with a clear error.
	available bool
}

// types lists the lookup types in the order of Exim's -bV line.
var typeOrder = []string{
	"lsearch", "wildlsearch", "nwildlsearch", "iplsearch", "cdb", "dbm",
	"dbmjz", "dbmnz", "dnsdb", "dsearch", "ldap", "ldapdn", "ldapm",
	"mysql", "nis", "nis0", "passwd", "pgsql", "sqlite",
}

var typeTable = map[string]typeInfo{
	"lsearch": {SingleKey, true}, "wildlsearch": {SingleKey, true},
	"nwildlsearch": {SingleKey, true}, "iplsearch": {SingleKey, true},
	"cdb": {SingleKey, true}, "dbm": {SingleKey, true},
	"dbmjz": {SingleKey, true}, "dbmnz": {SingleKey, true},
	"dsearch": {SingleKey, true}, "nis": {SingleKey, false},
	"nis0": {SingleKey, false}, "dnsdb": {QueryStyle, true},
	"ldap": {QueryStyle, true}, "ldapdn": {QueryStyle, true},
	"ldapm": {QueryStyle, true}, "mysql": {QueryStyle, false},
	"pgsql": {QueryStyle, false}, "passwd": {QueryStyle, true},
	"sqlite": {QueryStyle, true},
}

// Kind tells whether typ (a bare type name, without partial-, "*" or
// options) is single-key or query-style; ok is false for an unknown name.
// Types Exim knows but exigo does not implement yet (mysql, pgsql, nis,
// nis0) are known here; looking them up fails with an
// error saying so.
func Kind(typ string) (k KindType, ok bool) {
	ti, ok := typeTable[typ]
	return ti.kind, ok
}

// Types returns the names for -bV's "Lookups (built-in):" line, in Exim's
// order: only the types exigo implements.
func Types() []string {
	var out []string
	for _, t := range typeOrder {
		if typeTable[t].available {
			out = append(out, t)
		}
	}
	return out
}

// Find does a single-key lookup, as in ${lookup{key}TYPE{file}}; typ may
// carry partial-/partialN-/partialN(affix), "*", "*@" and ",ret=key"-style
// options as written in the config. A query-style typ is an error with
// Exim's text (`a single key was given for lookup type "dnsdb", which is
// not a single-key lookup type`). See the package comment for errors.
func (r *Registry) Find(typ, file, key string, x Expander) (value string, found bool, err error) {
	st, err := parseType(typ)
	if err != nil {
		return "", false, err
	}
	if st.info.kind != SingleKey {
		return "", false, fmt.Errorf("a single key was given for lookup type %q, which is not a single-key lookup type", st.name)
	}
	if !st.info.available {
		return "", false, notAvailable(st.name)
	}
	return r.findSingle(st, file, key, x, 0)
}

// Query does a query-style lookup, as in ${lookup TYPE{query}}. Options
// after a comma (",file=/path" for sqlite, ",cache=no_rd") are taken;
// partial- and "*" affixes are accepted and ignored, as Exim 4.96 does. A
// single-key typ is an error with Exim's text (`missing {key} for
// single-key "lsearch" lookup`).
func (r *Registry) Query(typ, query string, x Expander) (value string, found bool, err error) {
	st, err := parseType(typ)
	if err != nil {
		return "", false, err
	}
	if st.info.kind != QueryStyle {
		return "", false, fmt.Errorf("missing {key} for single-key %q lookup", st.name)
	}
	if !st.info.available {
		return "", false, notAvailable(st.name)
	}
	return r.query(st, query)
}

func notAvailable(name string) error {
	return fmt.Errorf("lookup type %q is not supported by exigo yet", name)
}

// Flush closes every open file and forgets every cached result (Exim's
// search_tidyup).
func (r *Registry) Flush() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, f := range r.files {
		f.close()
		delete(r.files, id)
	}
	clear(r.cache)
	for f, db := range r.dbs {
		db.Close()
		delete(r.dbs, f)
	}
	r.debugf("search_tidyup called")
	r.ldapCloseAll()
}

func (r *Registry) debugf(format string, args ...any) {
	r.opts.Debug.Printf(debug.Lookup, format, args...)
}

// isDefer reports whether err is a *DeferError.
func isDefer(err error) bool {
	var d *DeferError
	return errors.As(err, &d)
}
