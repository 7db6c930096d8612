package router

// Generic router options and the order in which Exim tests a router's
// preconditions. Exim specification chapter "How Exim receives and
// delivers mail", section "Router preconditions", and chapter "Generic
// options for routers".

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/exigo-mta/exigo/internal/debug"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/lists"
)

// call is one router run for one address.
type call struct {
	s    *Set
	r    *Router
	addr *Address // the address as this router sees it (a working copy)
	orig *Address
	mode Mode
	v    *vars
	// lp is the local part after affixes were removed (lower-cased unless
	// caseful_local_part).
	lp string
	// cannotRoute is the expanded cannot_route_message of this router.
	cannotRoute string
	unseen      bool
	// file is the redirect router's file once read, for the
	// ":include:" items in it.
	file string
}

func (s *Set) newCall(r *Router, a *Address, mode Mode) *call {
	w := *a
	c := &call{s: s, r: r, addr: &w, orig: a, mode: mode}
	c.v = &vars{base: s.env.Vars, m: make(map[string]string, 24)}
	c.setVars()
	return c
}

// setVars publishes the address's values as variables.
func (c *call) setVars() {
	a, m := c.addr, c.v.m
	lp := a.LocalPart
	if c.lp != "" {
		lp = c.lp
	} else if !c.r.opts.Bool("caseful_local_part") {
		lp = strings.ToLower(lp)
	}
	m["local_part"] = lp
	m["domain"] = a.Domain
	m["local_part_prefix"] = a.Prefix
	m["local_part_suffix"] = a.Suffix
	m["local_part_prefix_v"] = a.PrefixV
	m["local_part_suffix_v"] = a.SuffixV
	m["address_data"] = a.AddressData
	m["domain_data"] = a.DomainData
	m["local_part_data"] = a.LocalPartData
	m["router_name"] = c.r.Name
	m["sender_address"] = c.s.env.Sender
	sl, sd := Split(c.s.env.Sender)
	m["sender_address_local_part"], m["sender_address_domain"] = sl, sd
	orig := a
	for orig.Parent != nil {
		orig = orig.Parent
	}
	m["original_local_part"], m["original_domain"] = orig.LocalPart, orig.Domain
	if a.Parent != nil {
		m["parent_local_part"], m["parent_domain"] = a.Parent.LocalPart, a.Parent.Domain
	}
	if a.Home != "" {
		m["home"] = a.Home
	}
	if a.UID >= 0 {
		m["local_user_uid"] = strconv.Itoa(a.UID)
		m["local_user_gid"] = strconv.Itoa(a.GID)
	}
}

func (c *call) debugf(format string, args ...any) { c.s.debugf(format, args...) }

func (c *call) exp() *expand.Context {
	env := c.s.env
	ctx := &expand.Context{Vars: c.v, Message: env.Message, Debug: env.Debug, Now: env.Now}
	if env.Lookups != nil {
		ctx.Lookups = env.Lookups
	}
	ctx.Lists = listMatcher{c}
	ctx.NamedList = func(kind, name string) (string, bool) {
		if l := c.s.cfg.NamedList(kind, name); l != nil {
			return l.Value, true
		}
		return "", false
	}
	return ctx
}

// expand expands s in the router's context.
func (c *call) expand(s string) (string, error) {
	return expand.String(s, c.exp())
}

// expandOpt expands the named option, reporting a failure in Exim's words.
func (c *call) expandOpt(name string) (string, error) {
	v := c.r.opts.String(name)
	r, err := c.expand(v)
	if err != nil {
		if expand.IsForced(err) {
			return "", err
		}
		return "", &expandErr{fmt.Sprintf("failed to expand \"%s\" in %s router: %s", v, c.r.Name, err), err}
	}
	return r, nil
}

type expandErr struct {
	msg string
	err error
}

func (e *expandErr) Error() string { return e.msg }
func (e *expandErr) Unwrap() error { return e.err }

func (c *call) listEnv() *lists.Env { return c.listEnvCommentary(lists.Commentary) }

// listEnvCommentary is listEnv with the -bh commentary of its matches
// written through commentary (lists.Commentary, or
// lists.ExpansionCommentary for lists matched inside an expansion).
func (c *call) listEnvCommentary(commentary func(io.Writer) io.Writer) *lists.Env {
	env := c.s.env
	debugLog := env.Debug
	if env.Trace != nil {
		debugLog = debug.New(debug.Lists, commentary(env.Trace))
	}
	return &lists.Env{
		Lookups:         env.Lookups,
		NamedList:       c.s.cfg.ListNamed,
		Expand:          func(s string) (string, error) { return c.expand(s) },
		PrimaryHostname: env.PrimaryHostname,
		Interfaces:      c.s.local,
		Cache:           c.addr.cache,
		Debug:           debugLog,
	}
}

// listMatcher gives ${if match_domain...} and friends list matching.
type listMatcher struct{ c *call }

func (l listMatcher) MatchList(kind, list, subject string) (bool, string, error) {
	env := l.c.listEnvCommentary(lists.ExpansionCommentary)
	var m lists.Match
	var err error
	switch kind {
	case "domain":
		m, err = lists.MatchDomain(env, list, subject)
	case "localpart":
		m, err = lists.MatchLocalPart(env, list, subject, false)
	case "address":
		m, err = lists.MatchAddress(env, list, subject, false)
	case "host":
		m, err = lists.MatchIP(env, list, subject)
	default:
		m, err = lists.MatchString(env, list, subject, false)
	}
	return m.Matched, m.Data, err
}

// skip records a failed precondition.
func (c *call) skip(why string) (Result, bool) {
	c.debugf("%s router skipped: %s", c.r.Name, why)
	return Result{}, false
}

// deferf is a routing defer with Exim's message.
func deferf(format string, args ...any) Result {
	return Result{Status: Defer, Message: fmt.Sprintf(format, args...)}
}

// run checks the preconditions in Exim's order and, when all pass, runs
// the driver. ran is false when the router was skipped. A Defer result
// with ran=true can come from a precondition that could not be checked.
func (c *call) run() (res Result, ran bool) {
	o, a := c.r.opts, c.addr
	c.expandCannotRoute()
	// Loop prevention (chapter "The redirect router", sections
	// "Redirecting to a local mailbox" and option repeat_use).
	if ancestorRoutedBy(c.orig, c.r.Name, false) {
		return c.skip("previously routed " + a.Address)
	}
	if o.Has("repeat_use") && !o.Bool("repeat_use") && ancestorRoutedBy(c.orig, c.r.Name, true) {
		return c.skip("repeat_use is false and an ancestor was routed by this router")
	}
	// Affixes are tested first.
	if ok, res, done := c.affixes(); done {
		return res, true
	} else if !ok {
		return Result{}, false
	}
	c.debugf("local_part=%s domain=%s", c.v.m["local_part"], a.Domain)
	switch {
	case c.mode.Verify && c.mode.Sender && !o.Bool("verify_sender"):
		return c.skip("verify_sender is false")
	case c.mode.Verify && !c.mode.Sender && !o.Bool("verify_recipient"):
		return c.skip("verify_recipient is false")
	case c.mode.AddressTest && !o.Bool("address_test"):
		return c.skip("address_test is false")
	case !c.mode.Verify && o.Bool("verify_only"):
		return c.skip("verify_only set")
	}
	if o.IsSet("domains") {
		c.debugf("checking domains")
		m, res, ok := c.match("domains", lists.DomainList, a.Domain)
		if res != nil {
			return *res, true
		}
		if !ok {
			return c.skip("domains mismatch")
		}
		a.DomainData = m.Data
		c.v.m["domain_data"] = m.Data
	}
	if o.IsSet("local_parts") {
		c.debugf("checking local_parts")
		m, res, ok := c.match("local_parts", lists.LocalPartList, c.localPartSubject())
		if res != nil {
			return *res, true
		}
		if !ok {
			return c.skip("local_parts mismatch")
		}
		a.LocalPartData = m.Data
		c.v.m["local_part_data"] = m.Data
	}
	if o.Bool("check_local_user") {
		c.debugf("checking for local user")
		u, err := c.s.env.user(c.lp)
		if errors.Is(err, ErrNoUser) {
			return c.skip("check_local_user failed")
		}
		if err != nil {
			return deferf("%v", err), true
		}
		a.Home, a.UID, a.GID = u.Home, u.UID, u.GID
		c.v.m["home"] = u.Home
		c.v.m["local_user_uid"] = strconv.Itoa(u.UID)
		c.v.m["local_user_gid"] = strconv.Itoa(u.GID)
	}
	if o.IsSet("router_home_directory") {
		h, err := c.expandOpt("router_home_directory")
		if err != nil && !expand.IsForced(err) {
			return deferf("%v", err), true
		}
		if err == nil {
			a.Home = h
			c.v.m["home"] = h
		}
	}
	if o.IsSet("debug_print") {
		c.debugPrint()
	}
	if o.IsSet("senders") {
		c.debugf("checking senders")
		_, res, ok := c.match("senders", lists.AddressList, c.s.env.Sender)
		if res != nil {
			return *res, true
		}
		if !ok {
			return c.skip("senders mismatch")
		}
	}
	if o.IsSet("require_files") {
		c.debugf("checking require_files")
		ok, res := c.requireFiles()
		if res != nil {
			return *res, true
		}
		if !ok {
			return c.skip("file existence failure")
		}
	}
	if o.IsSet("condition") {
		c.debugf("checking \"condition\" \"%s\"...", o.String("condition"))
		v, err := c.expand(o.String("condition"))
		if err != nil && expand.IsDefer(err) {
			return deferf("failed to expand \"%s\" in %s router: %s", o.String("condition"), c.r.Name, err), true
		}
		if err != nil || !truthy(v) {
			return c.skip("condition failure")
		}
	}
	// All preconditions passed: the router "sees" the address.
	if o.IsSet("address_data") {
		v, err := c.expandOpt("address_data")
		if expand.IsForced(err) {
			c.debugf("forced failure in expansion of \"%s\" (address_data): decline action taken", o.String("address_data"))
			return Result{Status: Decline}, true
		}
		if err != nil {
			return deferf("%v", err), true
		}
		a.AddressData = v
		c.v.m["address_data"] = v
	}
	c.debugf("calling %s router", c.r.Name)
	c.s.tracef("calling %s router", c.r.Name)
	if o.IsSet("unseen") {
		v, err := c.expandBool("unseen")
		if err != nil {
			return deferf("%v", err), true
		}
		c.unseen = v
	}
	res = c.r.drv.route(c)
	if res.Status == Accept || res.Status == Redirect {
		if r := c.finishAccept(&res); r != nil {
			return *r, true
		}
	}
	return res, true
}

// truthy is how Exim reads a condition option's value.
func truthy(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "0", "no", "false":
		return false
	}
	return true
}

// expandBool expands a boolean option that may hold an expansion
// ("unseen", "more"): a forced failure gives the default.
func (c *call) expandBool(name string) (bool, error) {
	st := c.r.opts.Setting(name)
	if st == nil || !strings.Contains(st.Raw, "$") {
		return c.r.opts.Bool(name), nil
	}
	v, err := c.expand(st.Raw)
	if expand.IsForced(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("failed to expand \"%s\" in %s router: %s", st.Raw, c.r.Name, err)
	}
	switch strings.ToLower(v) {
	case "yes", "true":
		return true, nil
	case "no", "false":
		return false, nil
	}
	return false, fmt.Errorf("\"%s\" is not a valid value for the \"%s\" option in the %s router", v, name, c.r.Name)
}

func (c *call) expandCannotRoute() {
	if !c.r.opts.IsSet("cannot_route_message") {
		return
	}
	if v, err := c.expandOpt("cannot_route_message"); err == nil {
		c.cannotRoute = v
	}
}

func (c *call) debugPrint() {
	v, err := c.expand(c.r.opts.String("debug_print"))
	if err != nil {
		v = fmt.Sprintf("failed to expand debug_print \"%s\" in %s router: %s", c.r.opts.String("debug_print"), c.r.Name, err)
	}
	if !strings.HasSuffix(v, "\n") {
		v += "\n"
	}
	if w := c.s.env.Trace; w != nil {
		for _, line := range strings.Split(strings.TrimSuffix(v, "\n"), "\n") {
			fmt.Fprintf(w, ">>> %s\n", line)
		}
	} else if w := c.s.env.DebugPrint; w != nil {
		fmt.Fprint(w, v)
	} else {
		c.s.env.Debug.Printf(0xffffffff, "%s", v)
	}
}

// localPartSubject is the local part that local_parts is matched with:
// without its affixes but in its original case, which Exim shows in the
// commentary (the list is matched caselessly unless caseful_local_part).
func (c *call) localPartSubject() string {
	a := c.addr
	o := a.LocalPart
	if len(o) < len(a.Prefix)+len(a.Suffix) {
		return c.lp
	}
	o = o[len(a.Prefix) : len(o)-len(a.Suffix)]
	if !strings.EqualFold(o, c.lp) {
		return c.lp
	}
	return o
}

// match expands option name and matches subject against it.
func (c *call) match(name string, k lists.Kind, subject string) (lists.Match, *Result, bool) {
	raw := c.r.opts.String(name)
	list, err := c.expand(raw)
	if expand.IsForced(err) {
		c.s.tracef("expansion of \"%s\" forced failure: assume not in this list", raw)
		return lists.Match{}, nil, false
	}
	if err != nil {
		r := listExpandDefer(name, raw, err)
		c.s.panicf("failed to expand \"%s\" while checking a list: %s", raw, err)
		return lists.Match{}, &r, false
	}
	env := c.listEnv()
	if k == lists.AddressList {
		env.Cache = c.s.env.SenderCache
	}
	var m lists.Match
	switch k {
	case lists.DomainList:
		m, err = lists.MatchDomain(env, list, subject)
	case lists.LocalPartList:
		m, err = lists.MatchLocalPart(env, list, subject, c.r.opts.Bool("caseful_local_part"))
	default:
		m, err = lists.MatchAddress(env, list, subject, false)
	}
	if err != nil {
		r := deferf("%s", err.Error())
		if !lists.IsDefer(err) {
			r.Message = err.Error()
		}
		return m, &r, false
	}
	return m, nil, m.Matched
}

// listExpandDefer is the defer of a router whose list option name (raw:
// domains, local_parts, senders) failed to expand. As observed with Exim
// 4.96, the list is expanded while it is checked: the failure goes to the
// main log as "failed to expand "RAW" while checking a list: ERR", the
// router defers with "NAME check lookup or other defer" (the line goes to
// the panic log too), and a
// verification logs the lookup's own text when a lookup failed or
// deferred (an LDAP server down).
func listExpandDefer(name, raw string, err error) Result {
	r := Result{Status: Defer, Message: name + " check lookup or other defer", Precondition: true}
	r.LookupMessage, _ = expand.LookupText(err)
	return r
}

// requireFiles implements require_files: each item a file that must exist,
// or with "!" must not; "user:group" items are not checked (files are
// tested as the current user). Spec "Generic options for routers",
// require_files.
func (c *call) requireFiles() (bool, *Result) {
	list, err := c.expandOpt("require_files")
	if expand.IsForced(err) {
		return false, nil
	}
	if err != nil {
		r := deferf("%v", err)
		return false, &r
	}
	sep, rest := lists.Separator(list, ':')
	for _, item := range lists.Split(rest, sep) {
		neg := strings.HasPrefix(item, "!")
		path := strings.TrimPrefix(item, "!")
		if !strings.HasPrefix(path, "/") {
			// a user or group name: the files are checked as that user;
			// exigo checks them as itself.
			if neg || strings.Contains(path, "/") {
				r := deferf("require_files: \"%s\" is not absolute", path)
				return false, &r
			}
			continue
		}
		_, err := os.Stat(path)
		exists := err == nil
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			r := deferf("require_files: error for %s: %s", path, strings.TrimPrefix(err.Error(), "stat "+path+": "))
			return false, &r
		}
		c.debugf("file check: %s", item)
		if exists == neg {
			return false, nil
		}
	}
	return true, nil
}

// errorsTo is the errors address an errors_to value v gives, old the
// address's previous one (spec "Generic options for routers",
// errors_to): empty is the null return path (NullErrorsTo); an address
// is used only if it verifies as a recipient, else old stays. While
// verifying, the address is taken without verifying it (observed with
// Exim 4.96: "skipped verify errors_to address: already verifying").
func (c *call) errorsTo(v, old string) string {
	if v == "" {
		return NullErrorsTo
	}
	if c.mode.Verify {
		return v
	}
	addr := v
	if !containsAt(addr) {
		addr += "@" + c.s.env.QualifyRecipient
	}
	c.debugf("------ Verifying errors address %s ------", v)
	res := c.s.Route(NewAddress(addr), Mode{Verify: true})
	c.debugf("------ End verifying errors address %s ------", v)
	if res.Status == Accept || res.Status == Redirect || res.Status == Discard {
		return v
	}
	return old
}

// finishAccept applies the options that take effect when a router
// accepts or redirects: errors_to, then headers_add and headers_remove,
// then (for Accept without a transport yet) the transport option
// (spec "Generic options for routers", errors_to).
func (c *call) finishAccept(res *Result) *Result {
	o, a := c.r.opts, c.addr
	if o.IsSet("errors_to") {
		v, err := c.expandOpt("errors_to")
		if err != nil && !expand.IsForced(err) {
			r := deferf("%v", err)
			return &r
		}
		if err == nil {
			a.ErrorsTo = c.errorsTo(v, a.ErrorsTo)
		}
	}
	if o.IsSet("headers_add") {
		v, err := c.expandOpt("headers_add")
		if err != nil && !expand.IsForced(err) {
			r := deferf("%v", err)
			return &r
		}
		if err == nil && v != "" {
			a.HeadersAdd = append(a.HeadersAdd, v)
		}
	}
	if o.IsSet("headers_remove") {
		v, err := c.expandOpt("headers_remove")
		if err != nil && !expand.IsForced(err) {
			r := deferf("%v", err)
			return &r
		}
		if err == nil && v != "" {
			a.HeadersRemove = append(a.HeadersRemove, v)
		}
	}
	rw := c.s.env.Rewrite
	if rw != nil && !o.Bool("rewrite") {
		rw = nil
	}
	for _, ch := range res.Children {
		if rw != nil && ch.Kind == Mailbox && strings.Contains(ch.Address, "@") {
			if n := rw(ch.Address); n != ch.Address {
				ch.Address = n
				ch.LocalPart, ch.Domain = Split(n)
			}
		}
		ch.ErrorsTo = a.ErrorsTo
		ch.HeadersAdd = append([]string(nil), a.HeadersAdd...)
		ch.HeadersRemove = append([]string(nil), a.HeadersRemove...)
		ch.AddressData = a.AddressData
		if ch.Kind == Mailbox && o.IsSet("redirect_router") {
			ch.StartAt = o.String("redirect_router")
		}
	}
	return nil
}

// transport expands and checks the router's transport option; an empty
// result with verify_only is fine. Spec: "Generic options for routers",
// transport.
func (c *call) transport() (string, *Result) {
	if !c.r.opts.IsSet("transport") {
		return "", nil
	}
	raw := c.r.opts.String("transport")
	t, tainted, err := expand.StringTaint(raw, c.exp())
	if err != nil {
		r := deferf("%v", err)
		if expand.IsForced(err) {
			r.Message = fmt.Sprintf("forced expansion failure for transport in %s router", c.r.Name)
		} else {
			r.Message = fmt.Sprintf("failed to expand \"%s\" in %s router: %s", raw, c.r.Name, err)
		}
		return "", &r
	}
	if tainted {
		// A transport name from the message is refused (spec chapter
		// "String expansions", section "Tainted data"; the texts
		// observed with Exim 4.96).
		c.s.panicf("attempt to use tainted value '%s' from '%s' for transport", t, raw)
		r := Result{Status: Defer, Errno: -30, Message: "internal configuration error"}
		return "", &r
	}
	if c.s.cfg.Transport(t) == nil {
		r := deferf("transport \"%s\" not found in %s router", t, c.r.Name)
		return "", &r
	}
	c.debugf("set transport %s", t)
	return t, nil
}
