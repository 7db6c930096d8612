package lists

import (
	"fmt"
	"sync"

	"github.com/exigo-mta/exigo/internal/pcre"
)

// Cache remembers the results of named lists for one message, as Exim
// does (specification sections "Named lists" and "Named list caching"): a
// named list whose value contains no "$" (or that was defined with the
// _cache suffix), and whose sublists are likewise constant, is tested only
// once per subject. Make a new Cache for each message; a Cache is not safe
// for concurrent use.
type Cache struct {
	m map[cacheKey]Match
}

type cacheKey struct {
	kind    Kind
	name    string
	subject string
	caseful bool
}

// NewCache returns an empty Cache.
func NewCache() *Cache { return &Cache{m: map[cacheKey]Match{}} }

func (c *Cache) get(k cacheKey) (Match, bool) {
	if c == nil {
		return Match{}, false
	}
	m, ok := c.m[k]
	return m, ok
}

func (c *Cache) put(k cacheKey, m Match) {
	if c == nil {
		return
	}
	if c.m == nil {
		c.m = map[cacheKey]Match{}
	}
	c.m[k] = m
}

// RegexpCache holds compiled regular expressions of list items. It is safe
// for concurrent use and may live as long as the configuration.
type RegexpCache struct {
	mu sync.Mutex
	m  map[string]*listRegexp
}

// listRegexp is a compiled list item pattern (PCRE syntax, as Exim).
type listRegexp struct{ re *pcre.Regexp }

// FindStringSubmatch returns the whole match and the captured groups, or
// nil when s does not match.
func (r *listRegexp) FindStringSubmatch(s string) []string {
	groups, ok, err := r.re.Match(s)
	if err != nil || !ok {
		return nil
	}
	return groups
}

// maxRegexpCache bounds a RegexpCache; expanded lists can produce
// unboundedly many patterns.
const maxRegexpCache = 1000

// compile compiles a list item regular expression; caseless prefixes
// "(?i)" (an item may still start with "(?-i)" to turn it off, as the
// specification says for PCRE).
func (c *RegexpCache) compile(pattern string, caseless bool) (*listRegexp, error) {
	src := pattern
	if caseless {
		src = "\x00i" + pattern // cache key only
	}
	if c != nil {
		c.mu.Lock()
		re, ok := c.m[src]
		c.mu.Unlock()
		if ok {
			return re, nil
		}
	}
	compile := pcre.Compile
	if caseless {
		compile = pcre.CompileCaseless
	}
	compiled, err := compile(pattern)
	if err != nil {
		return nil, &ConfigError{Msg: fmt.Sprintf("regular expression error: %v while compiling %s", err, pattern)}
	}
	re := &listRegexp{re: compiled}
	if c != nil {
		c.mu.Lock()
		if c.m == nil || len(c.m) >= maxRegexpCache {
			c.m = map[string]*listRegexp{}
		}
		c.m[src] = re
		c.mu.Unlock()
	}
	return re, nil
}
