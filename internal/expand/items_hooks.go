package expand

import (
	"strconv"
	"sync"
)

// ItemHooks are the parts of a Context that the external expansion items
// (${acl}, ${authresults}, ${readsocket} caching, $runrc and the
// $prvscheck_ variables) use. Context embeds it, so its fields are set as
// ctx.ACL, ctx.AuthResults and so on.
type ItemHooks struct {
	// ACL runs the named ACL for ${acl{name}{arg1}...}, with $acl_arg1..9
	// set to args and $acl_narg to len(args) for the duration of the call
	// (the hook sets and restores them). It returns the verdict and the
	// text of any "message =" modifier. err is for failures that are not
	// a verdict; it is returned as is. nil means ACLs are not available:
	// ${acl} then fails. Spec: "Expansion items", ${acl...}.
	ACL func(name string, args []string) (verdict ACLVerdict, message string, err error)
	// AuthResults returns what follows the authserv-id in the
	// Authentication-Results: header that ${authresults{id}} builds
	// (";\n\tiprev=pass ..."); nil or "" means no results are known.
	AuthResults func(authservID string) string
	// SocketCache, when set, keeps ${readsocket} results requested with
	// "cache=yes" for the life of the Context (Exim keeps them for the
	// life of the process). nil means nothing is cached.
	SocketCache *SocketCache
	// CommandEnv is the environment of commands that ${run} starts
	// ("NAME=value" strings); nil means an empty environment, which is
	// what Exim's commands get when keep_environment is not set.
	CommandEnv []string
	// ItemVars holds the variables that items set and that outlive one
	// expansion: $runrc and $prvscheck_result (Exim keeps them set
	// afterwards). It is created on first use; a Context is therefore not
	// safe for concurrent use by evaluations that run commands or check
	// prvs addresses.
	ItemVars map[string]string
}

// ACLVerdict is the outcome of an ACL called by ${acl}.
type ACLVerdict int

// The verdicts an ACL can give.
const (
	ACLAccept ACLVerdict = iota
	ACLDeny
	ACLDefer
	ACLDiscard
	ACLDrop
	ACLError
)

// aclVerdictNames are Exim's names for verdicts in ${acl} errors.
var aclVerdictNames = map[ACLVerdict]string{
	ACLAccept:  "OK",
	ACLDeny:    "FAIL",
	ACLDefer:   "DEFER",
	ACLDiscard: "DISCARD",
	ACLDrop:    "FAIL_DROP",
	ACLError:   "ERROR",
}

// SocketCache holds cached ${readsocket} results, keyed by connection
// specification and request. Safe for concurrent use.
type SocketCache struct {
	mu sync.Mutex
	m  map[string]map[string]string // spec -> request -> result
}

func (c *SocketCache) get(spec, req string) (string, bool) {
	if c == nil {
		return "", false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.m[spec][req]
	return r, ok
}

func (c *SocketCache) put(spec, req, val string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]map[string]string{}
	}
	if c.m[spec] == nil {
		c.m[spec] = map[string]string{}
	}
	c.m[spec][req] = val
}

// invalidate drops every cached result for a connection specification
// (a request without cache=yes does that).
func (c *SocketCache) invalidate(spec string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, spec)
}

// setItemVar records a variable set by an item in the Context.
func (st *state) setItemVar(name, val string) {
	if st.ctx.ItemVars == nil {
		st.ctx.ItemVars = map[string]string{}
	}
	st.ctx.ItemVars[name] = val
}

// itemVar returns a getter for a variable that items set; it defers to the
// Context's Vars until an item has set it.
func itemVar(name string) func(st *state) (string, bool) {
	return func(st *state) (string, bool) {
		v, ok := st.ctx.ItemVars[name]
		return v, ok
	}
}

// itemVars are the variables whose values the items of this group set.
// newVar consults it after builtinVars.
var itemVars = map[string]func(st *state) (string, bool){
	"runrc":             itemVar("runrc"),
	"prvscheck_address": itemVar("prvscheck_address"),
	"prvscheck_keynum":  itemVar("prvscheck_keynum"),
	"prvscheck_result":  itemVar("prvscheck_result"),
}

// setRunRC records $runrc.
func (st *state) setRunRC(rc int) { st.setItemVar("runrc", strconv.Itoa(rc)) }
