package filter

import (
	"strconv"
	"strings"
)

// Sieve tests (RFC 5228 section 5): address, allof, anyof, envelope,
// exists, false, header, not, size, true.

// test parses a test and, with exec, evaluates it.
func (r *sieveRun) test(exec bool) (bool, error) {
	r.depth++
	defer func() { r.depth-- }()
	if r.depth > maxSieveDepth {
		return false, r.errf("nesting too deep")
	}
	t, err := r.lex.next()
	if err != nil {
		return false, err
	}
	if t.kind != stIdent {
		return false, r.errf("missing test")
	}
	switch t.text {
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "not":
		ok, err := r.test(exec)
		return !ok, err
	case "allof", "anyof":
		if err := r.expect("(", "missing test list"); err != nil {
			return false, err
		}
		all := t.text == "allof"
		res := all
		for {
			ok, err := r.test(exec)
			if err != nil {
				return false, err
			}
			if all {
				res = res && ok
			} else {
				res = res || ok
			}
			n, err := r.lex.next()
			if err != nil {
				return false, err
			}
			if n.kind == stPunct && n.text == ")" {
				return res, nil
			}
			if n.kind != stPunct || n.text != "," {
				return false, r.errf("missing closing paren")
			}
		}
	case "exists":
		names, err := r.stringList("header string list expected")
		if err != nil {
			return false, err
		}
		for _, n := range names {
			if len(r.env.Headers(n)) == 0 {
				return false, nil
			}
		}
		return true, nil
	case "size":
		n, err := r.lex.next()
		if err != nil {
			return false, err
		}
		if n.kind != stTag || n.text != "over" && n.text != "under" {
			return false, r.errf("missing :over or :under")
		}
		v, err := r.lex.next()
		if err != nil {
			return false, err
		}
		if v.kind != stNumber {
			return false, r.errf("missing number")
		}
		if n.text == "over" {
			return r.env.Size > v.num, nil
		}
		return r.env.Size < v.num, nil
	case "header", "address", "envelope":
		return r.compareTest(t.text, exec)
	}
	return false, r.errf("missing test")
}

// matchOpts are the tagged arguments of header, address and envelope.
type matchOpts struct {
	comparator string // "i;ascii-casemap" by default
	match      string // "is", "contains", "matches"
	part       string // "all", "localpart", "domain", "user", "detail"
}

// compareTest parses and evaluates header, address and envelope.
func (r *sieveRun) compareTest(kind string, exec bool) (bool, error) {
	if kind == "envelope" {
		if err := r.needs("envelope"); err != nil {
			return false, err
		}
	}
	o := matchOpts{comparator: "i;ascii-casemap", match: "is", part: "all"}
	for {
		t, err := r.lex.next()
		if err != nil {
			return false, err
		}
		if t.kind != stTag {
			r.lex.unread(t)
			break
		}
		switch t.text {
		case "is", "contains", "matches":
			o.match = t.text
		case "comparator":
			c, err := r.lex.next()
			if err != nil {
				return false, err
			}
			if c.kind != stString {
				return false, r.errf("missing comparator")
			}
			o.comparator = strings.ToLower(c.text)
			switch o.comparator {
			case "i;ascii-casemap", "en;ascii-casemap", "i;octet":
			case "i;ascii-numeric":
				if err := r.needs("comparator-i;ascii-numeric"); err != nil {
					return false, err
				}
			default:
				return false, r.errf("invalid comparator")
			}
		case "all", "localpart", "domain", "user", "detail":
			if kind == "header" {
				return false, r.errf("header string list expected")
			}
			if t.text == "user" || t.text == "detail" {
				if err := r.needs("subaddress"); err != nil {
					return false, err
				}
			}
			o.part = t.text
		default:
			return false, r.errf("%s string list expected", kind)
		}
	}
	names, err := r.stringList(kind + " string list expected")
	if err != nil {
		return false, err
	}
	keys, err := r.stringList("key string list expected")
	if err != nil {
		return false, err
	}
	if !exec {
		return false, nil
	}
	for _, name := range names {
		var values []string
		switch kind {
		case "header":
			values = r.env.Headers(name)
		case "address":
			for _, h := range r.env.Headers(name) {
				for _, a := range SplitAddressList(h) {
					values = append(values, addressPart(a, o.part))
				}
			}
		default:
			var a string
			switch strings.ToLower(name) {
			case "from":
				a = r.env.Sender
			case "to":
				a = r.env.Recipient
			default:
				continue
			}
			values = append(values, addressPart(a, o.part))
		}
		for _, v := range values {
			for _, k := range keys {
				if sieveMatch(o, v, k) {
					return true, nil
				}
			}
		}
	}
	return false, nil
}

// SplitAddressList returns the bare addresses of a header's address
// list (split at commas outside quotes and angle brackets).
func SplitAddressList(s string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	flush := func(part string) {
		if a, err := sieveAddress(part); err == nil && a != "" {
			out = append(out, a)
		}
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case '<':
			depth++
		case '>':
			depth--
		case ',':
			if !quoted && depth <= 0 {
				flush(s[start:i])
				start = i + 1
			}
		}
	}
	flush(s[start:])
	return out
}

// sieveAddress returns the bare address of a mailbox ("Name <a@b>" or
// "a@b"), or an error for one that has none.
func sieveAddress(s string) (string, error) {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '<'); i >= 0 {
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			return "", &SieveError{Msg: "malformed address"}
		}
		s = strings.TrimSpace(s[i+1 : i+j])
	}
	return s, nil
}

// addressPart is one part of an address (RFC 5228 section 2.7.4; RFC
// 5233 for :user and :detail, with "+" as the separator).
func addressPart(a, part string) string {
	lp, dom := a, ""
	if i := strings.LastIndexByte(a, '@'); i >= 0 {
		lp, dom = a[:i], a[i+1:]
	}
	switch part {
	case "localpart":
		return lp
	case "domain":
		return dom
	case "user":
		if i := strings.IndexByte(lp, '+'); i >= 0 {
			return lp[:i]
		}
		return lp
	case "detail":
		if i := strings.IndexByte(lp, '+'); i >= 0 {
			return lp[i+1:]
		}
		return ""
	}
	return a
}

// sieveMatch compares value with key by o's match type and comparator
// (RFC 5228 sections 2.7.1 to 2.7.3).
func sieveMatch(o matchOpts, value, key string) bool {
	if o.comparator == "i;ascii-numeric" {
		if o.match != "is" {
			return false
		}
		return numericValue(value) == numericValue(key)
	}
	if o.comparator != "i;octet" {
		value, key = asciiLower(value), asciiLower(key)
	}
	switch o.match {
	case "contains":
		return strings.Contains(value, key)
	case "matches":
		return wildMatch(value, key)
	}
	return value == key
}

// numericValue is the leading digits of s as i;ascii-numeric sees them
// (no digits: "infinity", greater than every number).
func numericValue(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return "inf"
	}
	d := strings.TrimLeft(s[:i], "0")
	if d == "" {
		d = "0"
	}
	return strconv.Itoa(len(d)) + ":" + d
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// wildMatch matches value against a :matches pattern: "*" any run,
// "?" one character, backslash quotes the next character. It
// backtracks only to the last "*", so it takes O(len(value) *
// len(pat)) steps.
func wildMatch(value, pat string) bool {
	type tok struct {
		c    byte
		kind byte // 'c' literal, '*', '?'
	}
	var p []tok
	for i := 0; i < len(pat); i++ {
		switch c := pat[i]; {
		case c == '\\' && i+1 < len(pat):
			i++
			p = append(p, tok{pat[i], 'c'})
		case c == '*' || c == '?':
			p = append(p, tok{c, c})
		default:
			p = append(p, tok{c, 'c'})
		}
	}
	vi, pi := 0, 0
	star, mark := -1, 0
	for vi < len(value) {
		switch {
		case pi < len(p) && (p[pi].kind == '?' || p[pi].kind == 'c' && p[pi].c == value[vi]):
			vi++
			pi++
		case pi < len(p) && p[pi].kind == '*':
			star, mark = pi, vi
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			vi = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi].kind == '*' {
		pi++
	}
	return pi == len(p)
}
