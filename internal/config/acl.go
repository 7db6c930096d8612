// The acl section: named ACLs made of statements (a verb and its
// conditions and modifiers, raw values kept).
//
// Exim specification: chapter "Access control lists", sections "ACL
// verbs" and "ACL conditions and modifiers".
package config

import (
	"fmt"
	"strings"
)

// ACL is one named access control list.
type ACL struct {
	Name       string
	File       string
	Line       int
	Statements []*ACLStatement
}

// ACLStatement is one verb with its conditions and modifiers.
type ACLStatement struct {
	Verb       string // accept, defer, deny, discard, drop, require, warn
	File       string
	Line       int
	Conditions []ACLCondition
}

// ACLCondition is one condition or modifier of a statement.
type ACLCondition struct {
	Name    string // "hosts", "message", "set", ...
	Negated bool   // written with a leading "!"
	// Var is the variable name of "set acl_m0 = ...".
	Var string
	// Value is the raw text after "=" (empty for endpass).
	Value string
	Line  int
}

var aclVerbs = map[string]bool{"accept": true, "defer": true, "deny": true, "discard": true, "drop": true, "require": true, "warn": true}

// aclNames are Exim 4.96's ACL conditions (false) and modifiers (true),
// as its builtin _ACL_COND_ and _ACL_MOD_ macros list them.
var aclNames = map[string]bool{
	"acl": false, "authenticated": false, "condition": false, "decode": false,
	"dkim_signers": false, "dkim_status": false, "dnslists": false, "domains": false,
	"encrypted": false, "hosts": false, "local_parts": false, "malware": false,
	"mime_regex": false, "ratelimit": false, "recipients": false, "regex": false,
	"seen": false, "sender_domains": false, "senders": false, "spam": false,
	"spf": false, "spf_guess": false, "verify": false,
	"add_header": true, "continue": true, "control": true, "delay": true,
	"endpass": true, "log_message": true, "log_reject_target": true, "logwrite": true,
	"message": true, "queue": true, "remove_header": true, "set": true, "udpsend": true,
}

// ACL returns the ACL called name, or nil.
func (c *Config) ACL(name string) *ACL {
	for _, a := range c.ACLs {
		if a.Name == name {
			return a
		}
	}
	return nil
}

func (p *parser) nameLine(name string) {
	p.c.Lines = append(p.c.Lines, "", "  "+name+":")
}

func (p *parser) aclLine(lg logical) error {
	t := lg.text
	w, rest := word(t)
	if r := strings.TrimLeft(rest, " \t"); w != "" && r == ":" {
		if p.c.ACL(w) != nil {
			return p.errAt(lg, fmt.Sprintf("there are two ACLs called %q", w))
		}
		p.acl = &ACL{Name: w, File: lg.file, Line: lg.line}
		p.c.ACLs = append(p.c.ACLs, p.acl)
		p.nameLine(w)
		return nil
	}
	if p.acl == nil {
		return p.errAt(lg, "missing or malformed ACL name")
	}
	p.c.Lines = append(p.c.Lines, "    "+collapse(t))
	if aclVerbs[w] && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
		// Exim numbers a statement by the last line of its verb's
		// logical line (observed with Exim 4.96: a continued
		// "deny condition = ...\" line).
		st := &ACLStatement{Verb: w, File: lg.file, Line: lg.last}
		p.acl.Statements = append(p.acl.Statements, st)
		rest = strings.TrimLeft(rest, " \t")
		if rest == "" {
			return nil
		}
		return p.aclCondition(lg, st, rest, t)
	}
	n := len(p.acl.Statements)
	if n == 0 || (!strings.HasPrefix(t, "!") && !isACLName(w)) {
		if n == 0 && !isACLName(strings.TrimPrefix(w, "!")) {
			return p.errAt(lg, fmt.Sprintf("error in ACL: unknown ACL verb %q in %q", w, t))
		}
	}
	if n == 0 {
		return p.errAt(lg, fmt.Sprintf("error in ACL: unknown ACL verb %q in %q", w, t))
	}
	return p.aclCondition(lg, p.acl.Statements[n-1], t, t)
}

func isACLName(w string) bool { _, ok := aclNames[w]; return ok }

func (p *parser) aclCondition(lg logical, st *ACLStatement, s, whole string) error {
	neg := false
	if strings.HasPrefix(s, "!") {
		neg = true
		s = strings.TrimLeft(s[1:], " \t")
	}
	name, rest := word(s)
	mod, ok := aclNames[name]
	if !ok {
		return p.errAt(lg, fmt.Sprintf("error in ACL: unknown ACL condition/modifier in %q", whole))
	}
	if neg && mod {
		return p.errAt(lg, fmt.Sprintf("error in ACL: ACL error: negation is not allowed with %q", name))
	}
	cond := ACLCondition{Name: name, Negated: neg, Line: lg.line}
	rest = strings.TrimLeft(rest, " \t")
	if name == "endpass" {
		st.Conditions = append(st.Conditions, cond)
		return nil
	}
	if name == "set" {
		cond.Var, rest = word(rest)
		rest = strings.TrimLeft(rest, " \t")
	}
	if !strings.HasPrefix(rest, "=") {
		return p.errAt(lg, fmt.Sprintf("error in ACL: \"=\" missing after ACL %q condition", name))
	}
	cond.Value = strings.TrimSpace(rest[1:])
	st.Conditions = append(st.Conditions, cond)
	return nil
}
