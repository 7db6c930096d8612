package lookup

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/exigo-mta/exigo/internal/strerror"
)

// fileID names one open single-key file.
type fileID struct{ typ, file string }

// cacheKey names one cached result: a single-key (type, file, key) or a
// query-style (type, "", query with its options).
type cacheKey struct{ typ, file, key string }

type cacheEntry struct {
	value   string
	found   bool
	expires time.Time // zero: never
}

// handle is an open single-key file of one type.
type handle interface {
	// find looks key up. Errors are *DeferError (or ordinary errors for
	// configuration problems).
	find(r *Registry, st *typeSpec, key string, x Expander, depth int) (string, bool, error)
	close()
}

type openFile struct {
	h    handle
	used uint64
}

func (f *openFile) close() { f.h.close() }

// findSingle runs the whole single-key sequence: the key, the partial
// keys, "*@domain" and "*" (spec 9.6, 9.7), with ret=key applied at the end.
func (r *Registry) findSingle(st *typeSpec, file, key string, x Expander, depth int) (string, bool, error) {
	if depth > maxNest {
		return "", false, &DeferError{Key: key, Msg: "lookups nested too deeply"}
	}
	r.debugf("search_find: file=%q\n  key=%q partial=%d affix=%s starflags=%d opts=%s",
		file, key, st.partial, st.affix, starFlags(st), optString(st))
	if key == "" {
		return "", false, nil
	}
	keys := []string{key}
	if st.partial >= 0 {
		keys = append(keys, partialKeys(st, key)...)
	}
	if st.starAt {
		if i := strings.LastIndexByte(key, '@'); i >= 0 {
			keys = append(keys, "*"+key[i:])
		}
	}
	if st.star || st.starAt {
		keys = append(keys, "*")
	}
	for i, k := range keys {
		if i > 0 && st.partial >= 0 && i <= len(keys)-1 {
			r.debugf("trying partial match %s", k)
		}
		v, ok, err := r.findOne(st, file, k, x, depth)
		if err != nil {
			var d *DeferError
			if errors.As(err, &d) {
				d.Key = key
			}
			return "", false, err
		}
		if ok {
			if _, rk := st.opt("ret"); rk && st.opts["ret"] == "key" {
				v = key
			}
			return v, true, nil
		}
	}
	return "", false, nil
}

func starFlags(st *typeSpec) int {
	switch {
	case st.starAt:
		return 2
	case st.star:
		return 1
	}
	return 0
}

// cacheOpts is the part of the options that makes results differ: all
// but "cache=" (a lookup with cache=no_rd refreshes the entry that plain
// lookups then read, as in Exim).
func cacheOpts(st *typeSpec) string {
	var o []string
	for _, x := range st.optList {
		if !strings.HasPrefix(x, "cache=") {
			o = append(o, x)
		}
	}
	return strings.Join(o, ",")
}

func optString(st *typeSpec) string {
	if len(st.optList) == 0 {
		return "NULL"
	}
	return `"` + strings.Join(st.optList, ",") + `"`
}

// findOne looks one key up in one file, through the cache.
func (r *Registry) findOne(st *typeSpec, file, key string, x Expander, depth int) (string, bool, error) {
	ck := cacheKey{st.name + "," + cacheOpts(st), file, key}
	r.debugf("internal_search_find: file=%q\n  type=%s key=%q opts=%s", file, st.name, key, optString(st))
	r.mu.Lock()
	if e, ok := r.cache[ck]; ok && !r.opts.NoCache && st.opts["cache"] != "no_rd" {
		r.mu.Unlock()
		r.debugf("cached data used for lookup of %s\n  in %s", key, file)
		return r.yield(e.value, e.found)
	}
	var (
		h   handle
		err error
	)
	if r.opts.NoCache {
		// A file of its own for this lookup, closed after it: the next
		// one sees the file as it is then (a long-lived daemon).
		r.mu.Unlock()
		r.debugf("search_open: %s %q", st.name, file)
		if h, err = openHandle(st.name, file); err == nil {
			defer h.close()
		}
	} else {
		h, err = r.openLocked(st, file)
		r.mu.Unlock()
	}
	if err != nil {
		return "", false, err
	}
	r.debugf("file lookup required for %s\n  in %s", key, file)
	v, found, err := h.find(r, st, key, x, depth)
	if err != nil {
		r.debugf("lookup deferred: %v", err)
		return "", false, err
	}
	if !r.opts.NoCache {
		r.mu.Lock()
		r.cache[ck] = cacheEntry{value: v, found: found}
		r.mu.Unlock()
	}
	return r.yield(v, found)
}

func (r *Registry) yield(v string, found bool) (string, bool, error) {
	if found {
		r.debugf("lookup yielded: %s", v)
	} else {
		r.debugf("lookup failed")
	}
	return v, found, nil
}

// openLocked returns the open handle for (type, file), opening it and
// closing the least recently used one when OpenMax files are open. r.mu
// must be held.
func (r *Registry) openLocked(st *typeSpec, file string) (handle, error) {
	id := fileID{st.name, file}
	r.tick++
	if f, ok := r.files[id]; ok {
		f.used = r.tick
		return f.h, nil
	}
	r.debugf("search_open: %s %q", st.name, file)
	h, err := openHandle(st.name, file)
	if err != nil {
		return nil, err
	}
	if len(r.files) >= r.opts.OpenMax {
		var oldID fileID
		var old *openFile
		for k, f := range r.files {
			if old == nil || f.used < old.used {
				oldID, old = k, f
			}
		}
		old.close()
		delete(r.files, oldID)
	}
	r.files[id] = &openFile{h: h, used: r.tick}
	return h, nil
}

func openHandle(typ, file string) (handle, error) {
	switch typ {
	case "lsearch", "wildlsearch", "nwildlsearch", "iplsearch":
		return openLinear(typ, file)
	case "dsearch":
		return openDir(file)
	case "cdb":
		return openCDB(file)
	case "dbm", "dbmnz", "dbmjz":
		return openDBM(file)
	}
	return nil, fmt.Errorf("lookup type %q has no file", typ)
}

func openFailed(file, what string, err error) error {
	return &OpenError{Msg: fmt.Sprintf("failed to open %s %s: %s", file, what, strerror.Text(err)), Err: err}
}
