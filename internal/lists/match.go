package lists

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/exigo-mta/exigo/internal/debug"
	"github.com/exigo-mta/exigo/internal/strerror"
)

// maxDepth caps the nesting of named lists (a list may name itself) and of
// @@ lookup chains.
const maxDepth = 50

// itemRes is the outcome of matching one list item.
type itemRes struct {
	ok      bool
	unknown string // host lists: information could not be found (permanent)
	data    string
	vars    []string
}

// itemFunc matches one (non-negated, non-special) item.
type itemFunc func(pattern string) (itemRes, error)

// matcher carries the state of one top-level match.
type matcher struct {
	env      *Env
	caseless bool // address and local part lists: before/after "+caseful"
	volatile bool // an expanded (uncacheable) named list was used
}

func (m *matcher) debugf(format string, args ...any) {
	m.env.Debug.Printf(debug.Lists, format, args...)
}

// walk matches a list of kind k. subject is for debug lines; key is the
// named list cache key of the subject; item matches a single item.
// Exim specification chapter "Domain, host, address, and local part
// lists", sections "Negated items in lists" and "File names in lists", and
// for host lists "Behaviour when an IP address or name cannot be found" and
// "Temporary DNS errors when looking up host information".
func (m *matcher) walk(k Kind, list, subject, key string, item itemFunc, depth int) (Match, error) {
	if depth > maxDepth {
		return Match{}, &ConfigError{Msg: fmt.Sprintf("too many levels of named lists while checking \"%s\"", list)}
	}
	sep, body := Separator(list, ':')
	var includeUnknown, ignoreUnknown, includeDefer, ignoreDefer bool
	lastNeg := false
	result := func(yes bool, why string, mt Match) (Match, error) {
		m.debugf(" %s in \"%s\"? %s (%s)", subject, list, yesNo(yes), why)
		mt.Matched = yes
		if !yes {
			mt.Data, mt.Vars = "", nil
		}
		return mt, nil
	}
	for {
		it, rest, ok := Next(body, sep)
		if !ok {
			break
		}
		body = rest
		neg := false
		raw := it // as written, for the commentary ("! +name")
		if strings.HasPrefix(it, "!") {
			neg = true
			it = strings.TrimLeft(it[1:], " \t\n\r")
		}
		if !neg && k == HostList {
			switch it {
			case "+include_unknown":
				includeUnknown, ignoreUnknown = true, false
				continue
			case "+ignore_unknown":
				includeUnknown, ignoreUnknown = false, true
				continue
			case "+include_defer":
				includeDefer, ignoreDefer = true, false
				continue
			case "+ignore_defer":
				includeDefer, ignoreDefer = false, true
				continue
			}
		}
		if !neg && it == "+caseful" && (k == AddressList || k == LocalPartList) {
			m.caseless = false
			continue
		}
		lastNeg = neg
		orig := raw
		switch {
		case strings.HasPrefix(it, "+"):
			r, cached, err := m.named(k, it[1:], subject, key, item, depth)
			if err != nil {
				if k == HostList && IsDefer(err) {
					if includeDefer {
						return result(true, "deferred: accepted by +include_defer", Match{Item: orig})
					}
					if ignoreDefer {
						continue
					}
				}
				return Match{}, err
			}
			if r.Matched {
				why := fmt.Sprintf("matched \"%s\"", orig)
				if cached {
					why += " - cached"
				}
				return result(!neg, why, Match{Item: orig, Data: r.Data, Vars: r.Vars})
			}
		case strings.HasPrefix(it, "/"):
			r, line, err := m.file(k, it, item)
			if err != nil {
				return Match{}, err
			}
			if r.ok {
				lneg := strings.HasPrefix(line, "!")
				return result(neg == lneg, fmt.Sprintf("matched \"%s\" in %s", line, it), Match{Item: line, Data: r.data, Vars: r.vars})
			}
		default:
			r, err := item(it)
			if err != nil {
				if IsDefer(err) && k == HostList {
					if includeDefer {
						return result(true, "deferred: accepted by +include_defer", Match{Item: orig})
					}
					if ignoreDefer {
						continue
					}
				}
				return Match{}, err
			}
			if r.unknown != "" {
				if includeUnknown {
					return result(true, r.unknown, Match{Item: orig})
				}
				if ignoreUnknown {
					continue
				}
				return result(false, r.unknown, Match{Item: orig})
			}
			if r.ok {
				return result(!neg, fmt.Sprintf("matched \"%s\"", orig), Match{Item: orig, Data: r.data, Vars: r.vars})
			}
		}
	}
	return result(lastNeg, "end of list", Match{})
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// cache is where named lists of kind k keep their results: a host
// list's in Env.HostCache when set (the client is the same for the whole
// connection), the others' in Env.Cache.
func (m *matcher) cache(k Kind) *Cache {
	if k == HostList && m.env.HostCache != nil {
		return m.env.HostCache
	}
	return m.env.Cache
}

// named matches a "+name" item, using and filling the cache where Exim
// would (specification section "Named list caching"). cached reports a
// result taken from the cache (Exim then says "- cached" after the match).
func (m *matcher) named(k Kind, name, subject, key string, item itemFunc, depth int) (r Match, cached bool, err error) {
	ck := cacheKey{kind: k, name: name, subject: key, caseful: !m.caseless}
	if r, ok := m.cache(k).get(ck); ok {
		m.debugf(" cached %s match for +%s", yesNo(r.Matched), name)
		if r.Matched {
			m.debugf(" cached lookup data = %s", r.Data)
		}
		return r, true, nil
	}
	r, err = m.namedUncached(k, name, subject, key, item, depth, ck)
	return r, false, err
}

// namedUncached tests a named list whose result is not in the cache, and
// caches it when the list is constant.
func (m *matcher) namedUncached(k Kind, name, subject, key string, item itemFunc, depth int, ck cacheKey) (Match, error) {
	var def Named
	ok := false
	if m.env.NamedList != nil {
		def, ok = m.env.NamedList(k, name)
	}
	if !ok {
		return Match{}, &DeferError{Log: fmt.Sprintf("unknown named %s list \"+%s\"", k, name)}
	}
	value := def.Value
	outerVolatile := m.volatile
	m.volatile = false
	if strings.Contains(value, "$") {
		if !def.Cache {
			m.volatile = true
		}
		if m.env.Expand != nil {
			v, err := m.env.Expand(value)
			if errors.Is(err, ErrForcedFail) {
				m.volatile = true
				return Match{}, nil
			}
			if err != nil {
				m.volatile = true
				return Match{}, &DeferError{Msg: err.Error()}
			}
			value = v
		}
	}
	saveCase := m.caseless
	r, err := m.walk(k, value, subject, key, item, depth+1)
	m.caseless = saveCase
	if err != nil {
		m.volatile = m.volatile || outerVolatile
		return Match{}, err
	}
	if !m.volatile {
		m.cache(k).put(ck, r)
	}
	m.volatile = m.volatile || outerVolatile
	return r, nil
}

// file matches the items in an included file: one item per line, blank
// lines and comments ignored, no expansion, no further file names or named
// lists (specification section "File names in lists"). It returns the
// matching line (with any "!").
func (m *matcher) file(k Kind, path string, item itemFunc) (itemRes, string, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return itemRes{}, "", &ConfigError{Msg: fmt.Sprintf("failed to open %s when checking \"%s\": %s", path, path, strerror.Text(err))}
	}
	for _, line := range strings.Split(string(text), "\n") {
		line = stripComment(line, k == AddressList || k == LocalPartList)
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		it := line
		if strings.HasPrefix(it, "!") {
			it = strings.TrimLeft(it[1:], " \t\r")
		}
		r, err := item(it)
		if err != nil {
			return itemRes{}, "", err
		}
		if r.ok {
			return r, line, nil
		}
	}
	return itemRes{}, "", nil
}

// stripComment removes a "#" comment: anywhere in the line for domain and
// host lists; for address and local part lists only when "#" starts the
// line or follows white space.
func stripComment(line string, strict bool) string {
	for i := 0; i < len(line); i++ {
		if line[i] != '#' {
			continue
		}
		if !strict || i == 0 || line[i-1] == ' ' || line[i-1] == '\t' {
			return line[:i]
		}
	}
	return line
}

// finish fills the list text into a DeferError from a nested level.
func finish(list string, r Match, err error) (Match, error) {
	var d *DeferError
	if errors.As(err, &d) && d.List == "" {
		d.List = list
	}
	return r, err
}
