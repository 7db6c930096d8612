package expand

import (
	"net/netip"
	"os"
	"strings"
)

// miscConditions are the remaining conditions: def:, exists, the isip
// tests, the delivery-state tests, crypteq, acl and the authentication
// conditions. Spec: chapter "String expansions", section "Expansion
// conditions".
var miscConditions = map[string]condDef{
	"def":            parseDef,
	"exists":         stringArgs(1, testExists),
	"isip":           stringArgs(1, func(_ *state, a []string) (bool, error) { return isIP(a[0], true, true), nil }),
	"isip4":          stringArgs(1, func(_ *state, a []string) (bool, error) { return isIP(a[0], true, false), nil }),
	"isip6":          stringArgs(1, func(_ *state, a []string) (bool, error) { return isIP(a[0], false, true), nil }),
	"first_delivery": noArgs(func(st *state) bool { return st.ctx.Conds.FirstDelivery }),
	"queue_running":  noArgs(func(st *state) bool { return st.ctx.Conds.QueueRunning }),
	"crypteq":        stringArgs(2, func(_ *state, a []string) (bool, error) { return cryptEq(a[0], a[1]) }),
	"acl":            parseACL,
	"pam":            stringArgs(1, testPAM),
	"radius":         stringArgs(1, notCompiled("radius")),
	"pwcheck":        stringArgs(1, notCompiled("pwcheck")),
	"saslauthd":      parseSaslauthd,
	"ldapauth":       stringArgs(1, testLDAPAuth),
	"inbound_srs":    parseInboundSRS,
}

// noArgs makes a condition that takes no arguments.
func noArgs(fn func(st *state) bool) condDef {
	return func(*parser, string) (condition, error) {
		return condFunc(func(st *state) (bool, error) { return fn(st), nil }), nil
	}
}

// defCond is def:name (true when the variable is not empty) or
// def:h_name: (true when the message has that header).
type defCond struct {
	v      variable
	header *headerVar
}

// parseDef parses what follows "def": a colon and a variable name, or a
// header name in any of the header variable forms, ended by a colon
// (taken) or white space.
func parseDef(p *parser, name string) (condition, error) {
	if p.eof() || p.peek() != ':' {
		return nil, errorf("\":\" expected after \"%s\"", name)
	}
	p.pos++
	start := p.pos
	for !p.eof() && (isAlnum(p.peek()) || p.peek() == '_') {
		p.pos++
	}
	v := p.src[start:p.pos]
	if v == "" {
		return nil, errorf("variable name omitted after \"def:\"")
	}
	for _, hp := range headerPrefixes {
		if strings.HasPrefix(v, hp.prefix) {
			p.pos = start + len(hp.prefix)
			n, err := p.parseHeaderVar(hp.mode)
			if err != nil {
				return nil, err
			}
			h := n.(headerVar)
			return &defCond{header: &h}, nil
		}
	}
	if get, ok := builtinVars[v]; ok {
		return &defCond{v: variable{name: v, get: get}}, nil
	}
	if hint, ok := lookupVariable(v); !ok {
		return nil, errorf("unknown variable \"%s\" after \"def:\"%s", v, hint)
	}
	return &defCond{v: variable{name: v}}, nil
}

func (c *defCond) test(st *state) (bool, error) {
	if c.header != nil {
		_, ok := c.header.value(st)
		return ok, nil
	}
	s, _ := c.v.value(st)
	return s != "", nil
}

// testExists is exists{path}: whether stat() finds the file.
func testExists(_ *state, a []string) (bool, error) {
	if a[0] == "" {
		return false, nil
	}
	_, err := os.Stat(a[0])
	return err == nil, nil
}

// isIP reports whether s is an IPv4 address (dotted quad, no leading
// zeros) or an IPv6 address (optionally with a %zone), as inet_pton()
// accepts them.
func isIP(s string, v4, v6 bool) bool {
	if strings.ContainsRune(s, ':') {
		if !v6 {
			return false
		}
		addr := s
		if i := strings.IndexByte(s, '%'); i >= 0 {
			if strings.ContainsAny(s[i:], " \t\n\r\f\v") {
				return false
			}
			addr = s[:i]
		}
		a, err := netip.ParseAddr(addr)
		return err == nil && a.Is6()
	}
	if !v4 {
		return false
	}
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is4()
}

// notCompiled is the result of a condition whose support Debian's Exim
// 4.96 does not include.
func notCompiled(name string) func(*state, []string) (bool, error) {
	return func(*state, []string) (bool, error) {
		return false, errorf("support for \"%s\" not compiled", name)
	}
}

// testPAM is pam{user:answer:...}.
func testPAM(st *state, a []string) (bool, error) {
	if st.ctx.Conds.PAM == nil {
		return false, nil
	}
	return st.ctx.Conds.PAM(a[0])
}

// testLDAPAuth is ldapauth{query}.
func testLDAPAuth(st *state, a []string) (bool, error) {
	if st.ctx.Conds.LDAPAuth == nil {
		return false, nil
	}
	return st.ctx.Conds.LDAPAuth(a[0])
}

// aclCond is acl{{name}{arg1}...{arg9}}.
type aclCond struct{ args []node }

func parseACL(p *parser, name string) (condition, error) {
	args, err := p.parseSubArgs(name, 1, 10, true)
	if err != nil {
		return nil, err
	}
	return &aclCond{args: args}, nil
}

func (c *aclCond) test(st *state) (bool, error) {
	args, err := st.strArgs(c.args)
	if err != nil {
		return false, err
	}
	name := args[0]
	hook := st.ctx.ACL
	if hook == nil {
		if name == "" {
			return false, nil
		}
		return false, errorf("ERROR from acl \"%s\"", name)
	}
	verdict, msg, err := hook(name, args[1:])
	if err != nil {
		return false, err
	}
	switch verdict {
	case ACLAccept:
		st.value = msg
		return true, nil
	case ACLDeny:
		st.value = msg
		return false, nil
	case ACLDefer:
		return false, &Error{Msg: "DEFER from acl \"" + name + "\"", Forced: true}
	}
	return false, errorf("ERROR from acl \"%s\"", name)
}
