package expand

import "sync"

// Cache keeps parsed Templates by their source string, so that the
// option strings a server expands for every connection, command and
// message are parsed once. Templates are immutable, so one Cache is
// shared by all goroutines. It is bounded: when it holds max entries it
// is emptied and starts again (strings built from data, which are seldom
// expanded twice, cannot make it grow without limit). Only strings that
// parse are kept; a string with a syntax error is parsed again each
// time and gives the same error.
type Cache struct {
	mu  sync.RWMutex
	m   map[string]*Template
	max int
}

// maxCachedSource is the longest source string a Cache keeps.
const maxCachedSource = 8 << 10

// NewCache returns a Cache of at most max templates (1024 when max <= 0).
func NewCache(max int) *Cache {
	if max <= 0 {
		max = 1024
	}
	return &Cache{m: make(map[string]*Template), max: max}
}

// Parse returns the Template for s, parsing it on first use. A nil
// Cache parses every time.
func (c *Cache) Parse(s string) (*Template, error) {
	if c == nil || len(s) > maxCachedSource {
		return Parse(s)
	}
	c.mu.RLock()
	t := c.m[s]
	c.mu.RUnlock()
	if t != nil {
		return t, nil
	}
	t, err := Parse(s)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[s] = t
	c.mu.Unlock()
	return t, nil
}

// Len returns the number of templates held.
func (c *Cache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
