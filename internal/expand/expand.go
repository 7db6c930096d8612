// Package expand implements Exim's string expansion language: $variables,
// ${operator:...}, ${item{...}...}, ${if condition{yes}{no}} and lookups.
//
// A string is parsed once into a Template (a tree) and evaluated many times
// against a Context, which supplies variable values, message headers,
// lookups and list matching. Parsing reports the same errors, in the same
// words, as Exim does when it meets them; because Exim checks syntax (and
// variable names) even in the branches it skips, a Template that parsed
// can only fail at evaluation time for reasons that depend on data.
//
// Exim specification: chapter "String expansions".
package expand

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/exigo-mta/exigo/internal/debug"
)

// Error is an expansion failure. Msg is Exim's text, as printed after
// "Failed: " by -be.
type Error struct {
	Msg string
	// Forced is set for forced failures ("fail" in an if or lookup, or
	// ${fail}), which callers often treat as "no value" rather than an error.
	Forced bool
	// Defer is set when a lookup deferred (a temporary problem), so that an
	// ACL or router can defer rather than fail.
	Defer bool
	// Lookup is set when a lookup failed or deferred; Msg is then the
	// lookup's own text.
	Lookup bool
}

func (e *Error) Error() string { return e.Msg }

func errorf(format string, args ...any) *Error {
	return &Error{Msg: fmt.Sprintf(format, args...)}
}

// IsForced reports whether err is a forced expansion failure.
func IsForced(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Forced
}

// IsDefer reports whether err comes from a lookup that deferred.
func IsDefer(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Defer
}

// LookupText returns the text of a lookup that failed or deferred
// (after "gave DEFER: " for a defer) when err comes from one.
func LookupText(err error) (string, bool) {
	var e *Error
	if !errors.As(err, &e) || !e.Lookup {
		return "", false
	}
	if _, after, ok := strings.Cut(e.Msg, " gave DEFER: "); ok && e.Defer {
		return after, true
	}
	return e.Msg, true
}

// Vars supplies the values of Exim variables. The expansion package knows
// which names exist (Exim's fixed set, see variables.go); Var is asked only
// for known names and returns ok=false when the variable has no value in
// this context (it then expands to the empty string).
type Vars interface {
	Var(name string) (value string, ok bool)
}

// VarMap is a Vars backed by a map.
type VarMap map[string]string

// Var implements Vars.
func (m VarMap) Var(name string) (string, bool) {
	v, ok := m[name]
	return v, ok
}

// HeaderMode says how a header variable presents a header's value.
type HeaderMode int

// The header variable forms of Exim: $h_ (decoded), $rh_ (raw), $bh_ (basic:
// whitespace trimmed, not decoded) and $lh_ (a list of all instances).
const (
	HeaderDecoded HeaderMode = iota
	HeaderRaw
	HeaderBasic
	HeaderList
)

// Message gives header variables access to the message in flight.
type Message interface {
	// Header returns the value of the named header (name without the
	// colon, matched caselessly) in the given mode, and whether the message
	// has such a header. Several instances are joined as Exim joins them.
	Header(name string, mode HeaderMode) (string, bool)
	// Headers returns all headers as one string, as $message_headers does
	// (raw: as $message_headers_raw).
	Headers(raw bool) string
}

// Lookuper performs lookups (implemented by the lookup package).
type Lookuper interface {
	// Find does a single-key lookup, as in ${lookup{key}TYPE{file}}.
	Find(typ, file, key string, x func(string) (string, error)) (string, bool, error)
	// Query does a query-style lookup, as in ${lookup TYPE{query}}.
	Query(typ, query string, x func(string) (string, error)) (string, bool, error)
}

// Context is what a Template is evaluated against. The zero value is
// usable: no variables have values, no message, no lookups.
type Context struct {
	Vars    Vars
	Message Message
	Lookups Lookuper
	// Lists matches items against Exim lists for match_* and inlist
	// conditions; nil means only plain string items match.
	Lists ListMatcher
	// NamedList returns a named list from the configuration.
	NamedList func(kind, name string) (string, bool)
	Debug     *debug.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Forbid holds the expand_forbid-style restrictions (run, readsocket,
	// lookups...). Zero means nothing is forbidden.
	Forbid Forbid
	// Stdout receives nothing today; reserved for ${run} return output.
	Stdout io.Writer
	// Resolver answers DNS questions for conditions that need them
	// (isip conditions need none); nil when DNS is not available.
	Resolver any
	// Env is the process environment for ${env{}}; nil means os.LookupEnv.
	Env func(string) (string, bool)
	// ItemHooks supplies ${acl}, ${authresults}, the ${readsocket} cache
	// and the variables items set (items_hooks.go).
	ItemHooks
	// Conds holds what the acl, authentication and delivery-state
	// conditions need (cond_hooks.go).
	Conds CondHooks
	// Numeric holds the starting values of $0, $1, ... (as a rewrite
	// rule's pattern match or a filter's "matches" condition sets them);
	// nil means they start empty.
	Numeric []string
	// Templates, when set, caches the parsed strings String expands
	// (cache.go); nil parses every string each time.
	Templates *Cache
}

// Forbid says which expansion features the caller has forbidden (Exim's
// "expansion_forbid" flags for filters and the like).
type Forbid struct {
	Run, ReadFile, ReadSocket, Lookups, Perl, DLFunc, Env bool
}

// ListMatcher matches a subject against an Exim list for the match_* and
// inlist conditions. kind is "domain", "host", "address", "localpart" or
// "string". It returns whether it matched and the data for $domain_data and
// similar.
type ListMatcher interface {
	MatchList(kind, list, subject string) (matched bool, data string, err error)
}

// Template is a parsed expansion string. It is safe for concurrent use.
type Template struct {
	src  string
	root node
	// literal is set when the string has no expansion items at all.
	literal bool
}

// Parse parses s. The error, if any, is an *Error with Exim's text.
func Parse(s string) (*Template, error) {
	p := &parser{src: s}
	root, err := p.parseTop()
	if err != nil {
		return nil, err
	}
	_, lit := root.(text)
	if _, empty := root.(seq); empty && len(root.(seq)) == 0 {
		lit = true
	}
	return &Template{src: s, root: root, literal: lit}, nil
}

// MustParse is like Parse but panics on error; for constant strings.
func MustParse(s string) *Template {
	t, err := Parse(s)
	if err != nil {
		panic(fmt.Sprintf("expand.MustParse(%q): %v", s, err))
	}
	return t
}

// Source returns the string the template was parsed from.
func (t *Template) Source() string { return t.src }

// Eval evaluates the template.
func (t *Template) Eval(ctx *Context) (string, error) {
	if ctx == nil {
		ctx = &Context{}
	}
	st := &state{ctx: ctx, numeric: ctx.Numeric}
	var b []byte
	if err := t.root.eval(st, &b); err != nil {
		return "", err
	}
	if ctx.Debug.On(debug.Expand) {
		ctx.Debug.Printf(debug.Expand, " expanding: %s\n    result: %s", t.src, b)
	}
	return string(b), nil
}

// String parses and evaluates s in one step, through ctx.Templates when
// it is set.
func String(s string, ctx *Context) (string, error) {
	var c *Cache
	if ctx != nil {
		c = ctx.Templates
	}
	t, err := c.Parse(s)
	if err != nil {
		return "", err
	}
	return t.Eval(ctx)
}
