// Package rewrite implements Exim's configured address rewriting: the
// rules of the "begin rewrite" section (applied to envelope addresses and
// header lines of incoming messages), the headers_rewrite transport
// option, and the -brw test mode's view of them.
//
// A Rules value is built once from the configuration with New (or
// NewList for a headers_rewrite option) and is safe for concurrent use
// as long as its Options functions are.
//
// Exim specification: chapter "Address rewriting".
package rewrite

import (
	"errors"
	"fmt"
	"strings"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/lists"
)

// Type is a set of places an address can appear in, as the flags of a
// rule select them (specification section "Flags specifying which headers
// and envelope addresses to rewrite").
type Type uint16

// The address types. The header bits also cover the Resent- versions.
const (
	Sender  Type = 1 << iota // s: Sender:
	From                     // f: From:
	To                       // t: To:
	Cc                       // c: Cc:
	Bcc                      // b: Bcc:
	ReplyTo                  // r: Reply-To:
	EnvFrom                  // F: envelope sender
	EnvTo                    // T: envelope recipient
	SMTP                     // S: MAIL/RCPT data at SMTP time

	// AllHeaders is the h flag.
	AllHeaders = Sender | From | To | Cc | Bcc | ReplyTo
	// Envelope is the E flag.
	Envelope = EnvFrom | EnvTo
)

// flagTypes maps each type flag letter to its types.
var flagTypes = map[byte]Type{
	's': Sender, 'f': From, 't': To, 'c': Cc, 'b': Bcc, 'r': ReplyTo,
	'h': AllHeaders, 'F': EnvFrom, 'T': EnvTo, 'E': Envelope, 'S': SMTP,
}

// MaxRepeat is how often an R rule is re-applied (specification section
// "Flags controlling the rewriting process": "up to ten times").
const MaxRepeat = 10

// Rule is one parsed rewriting rule.
type Rule struct {
	// Pattern is the source pattern, a single-item address list (or a
	// regular expression matched against the whole SMTP command data for
	// S rules); it is expanded before use.
	Pattern string
	// Replacement is "*" (do not rewrite, stop) or a string to expand.
	Replacement string
	// Types are the places the rule applies to.
	Types Type
	// Qualify (Q), Quit (q), Repeat (R) and Whole (w) are the control
	// flags.
	Qualify, Quit, Repeat, Whole bool
	// Where is "file:line" of the rule, for messages; empty for
	// transport rules.
	Where string
}

// Vars are what a replacement string's expansion sees.
type Vars struct {
	// LocalPart and Domain are $local_part and $domain (case kept);
	// empty for S rules.
	LocalPart, Domain string
	// Numeric are $0, $1, ... from the pattern match.
	Numeric []string
}

// Options are the surroundings rewriting needs.
type Options struct {
	// Lists matches patterns (lookups, named lists, regex cache); nil
	// means a zero Env.
	Lists *lists.Env
	// Expand expands a pattern (v is the zero Vars) or a replacement
	// string. A forced failure must be reported as an error for which
	// expand.IsForced is true. Nil means strings are used unexpanded.
	Expand func(s string, v Vars) (string, error)
	// QualifyRecipient qualifies the result of a Q rule.
	QualifyRecipient string
	// Log writes a line to the main log (and, for the errors Exim puts
	// there, the panic log); nil discards.
	Log func(msg string)
}

// Rules is an ordered set of rewriting rules.
type Rules struct {
	rules []Rule
	opts  Options
}

// New builds the rules of the rewrite section. A rule with no type flags
// applies to all headers and both envelope fields.
func New(rs []config.RewriteRule, opts Options) (*Rules, error) {
	out := &Rules{opts: opts}
	for _, r := range rs {
		rule, err := makeRule(r.Pattern, r.Replacement, r.Flags, false)
		if err != nil {
			return nil, fmt.Errorf("Exim configuration error in line %d of %s:\n  %w", r.Line, r.File, err)
		}
		rule.Where = fmt.Sprintf("%s:%d", r.File, r.Line)
		out.rules = append(out.rules, rule)
	}
	return out, nil
}

// NewList builds the rules of a transport's headers_rewrite option: a
// colon-separated list whose items have the form of rewrite section
// lines. E, F, T and S are not permitted; a rule with no type flags
// applies to all headers.
func NewList(list string, opts Options) (*Rules, error) {
	out := &Rules{opts: opts}
	for _, it := range lists.Split(list, ':') {
		f, err := fields(it)
		if err != nil {
			return nil, err
		}
		if len(f) < 2 {
			return nil, fmt.Errorf("missing rewrite replacement string in %q", it)
		}
		rule, err := makeRule(f[0], f[1], strings.Join(f[2:], ""), true)
		if err != nil {
			return nil, err
		}
		out.rules = append(out.rules, rule)
	}
	return out, nil
}

// makeRule checks the flags and builds a rule. Quoted pattern and
// replacement are dequoted.
func makeRule(pattern, repl, flags string, transport bool) (Rule, error) {
	r := Rule{Pattern: dequote(pattern), Replacement: dequote(repl)}
	for i := 0; i < len(flags); i++ {
		c := flags[i]
		switch c {
		case ' ', '\t':
		case 'Q':
			r.Qualify = true
		case 'q':
			r.Quit = true
		case 'R':
			r.Repeat = true
		case 'w':
			r.Whole = true
		default:
			t, ok := flagTypes[c]
			if !ok || (transport && strings.IndexByte("EFTS", c) >= 0) {
				return r, fmt.Errorf("unknown rewrite flag character '%c' (could be missing quotes round replacement item)", c)
			}
			r.Types |= t
		}
	}
	if r.Types&SMTP != 0 && !strings.HasPrefix(r.Pattern, "^") {
		return r, errors.New("rewrite rule has the S flag but is not a regular expression")
	}
	if r.Types == 0 {
		r.Types = AllHeaders
		if !transport {
			r.Types |= Envelope
		}
	}
	return r, nil
}

// Rules returns the parsed rules, in order.
func (rs *Rules) Rules() []Rule { return rs.rules }

// Applies reports whether any rule applies to an address of type t.
func (rs *Rules) Applies(t Type) bool {
	for _, r := range rs.rules {
		if r.Types&t != 0 {
			return true
		}
	}
	return false
}

// Address rewrites addr (a working address, "local@domain") as an
// address of type t (one bit). It returns the new address and whether
// it changed; whole is the complete replacement when the rule that
// produced it has the w flag (for header rewriting), else "".
//
// Specification section "Rewriting rules": rules are scanned in order;
// a match with replacement "*" stops; a forced failure skips the rule
// (and stops with q); any other failure abandons rewriting, leaving the
// address as it was.
func (rs *Rules) Address(addr string, t Type) (string, bool) {
	out, _, changed := rs.address(addr, t)
	return out, changed
}

// SMTP rewrites the data of a MAIL or RCPT command (the address with
// any angle brackets, before syntax checking) by the rules with the S
// flag, whose regular expressions are matched against all of it
// (specification section "The SMTP-time rewriting flag").
func (rs *Rules) SMTP(data string) (string, bool) {
	out, _, changed := rs.address(data, SMTP)
	return out, changed
}

// AddressWhole is Address that also returns the whole replacement text of
// a w rule ("" otherwise).
func (rs *Rules) AddressWhole(addr string, t Type) (out, whole string, changed bool) {
	return rs.address(addr, t)
}

func (rs *Rules) address(addr string, t Type) (string, string, bool) {
	orig := addr
	whole := ""
	if rs == nil {
		return addr, "", false
	}
	for _, r := range rs.rules {
		if r.Types&t == 0 {
			continue
		}
		done := false
		for n := 0; ; n++ {
			if n > 0 && n >= MaxRepeat+1 {
				rs.log("rewrite rule repeat ignored after 10 times")
				break
			}
			res, w, st := rs.apply(r, addr, orig, t)
			if st == stNoMatch {
				if n > 0 && r.Quit {
					done = true
				}
				break
			}
			if st == stStop {
				done = true
				break
			}
			if st == stAbandon {
				return addr, whole, addr != orig
			}
			if st == stForced {
				done = r.Quit
				break
			}
			addr = res
			if r.Whole {
				whole = w
			} else {
				whole = ""
			}
			if !r.Repeat {
				done = r.Quit
				break
			}
		}
		if done {
			break
		}
	}
	return addr, whole, addr != orig
}

type status int

const (
	stDone status = iota
	stNoMatch
	stStop
	stForced
	stAbandon
)

// apply applies one rule once.
func (rs *Rules) apply(r Rule, addr, orig string, t Type) (string, string, status) {
	pat := r.Pattern
	if rs.opts.Expand != nil {
		p, err := rs.opts.Expand(pat, Vars{})
		if err != nil {
			if !expand.IsForced(err) {
				what := "a list"
				if t == SMTP {
					what = "for SMTP rewriting"
				}
				rs.log(fmt.Sprintf("failed to expand \"%s\" while checking %s: %v", pat, what, err))
			}
			return "", "", stNoMatch
		}
		pat = p
	}
	env := rs.opts.Lists
	if env == nil {
		env = &lists.Env{}
	}
	m, err := lists.MatchAddress(env, pat, addr, true)
	if err != nil {
		rs.log(err.Error())
		return "", "", stNoMatch
	}
	if !m.Matched {
		return "", "", stNoMatch
	}
	if r.Replacement == "*" {
		return "", "", stStop
	}
	lp, dom := addr, ""
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		lp, dom = addr[:i], addr[i+1:]
	}
	if t == SMTP {
		// Section "The SMTP-time rewriting flag": $local_part and
		// $domain are not available.
		lp, dom = "", ""
	}
	nums := numericVars(pat, addr, lp, dom, m.Vars)
	if t != SMTP {
		nums = append(nums, rs.partialVars(pat, dom)...)
	}
	repl := r.Replacement
	if rs.opts.Expand != nil {
		repl, err = rs.opts.Expand(r.Replacement, Vars{LocalPart: lp, Domain: dom, Numeric: nums})
		if err != nil {
			if expand.IsForced(err) {
				return "", "", stForced
			}
			rs.log(fmt.Sprintf("Expansion of %s failed while rewriting: %v", r.Replacement, err))
			return "", "", stAbandon
		}
	}
	it, perr := parseItem(repl)
	if perr != nil {
		rs.log(fmt.Sprintf("Rewrite of %s yielded unparseable address: %v in address %s", orig, perr, repl))
		return "", "", stAbandon
	}
	res := it.Addr
	if !strings.Contains(res, "@") {
		if !r.Qualify {
			rs.log(fmt.Sprintf("Rewrite of %s yielded unqualified address \"%s\"", orig, res))
			return "", "", stAbandon
		}
		res += "@" + rs.opts.QualifyRecipient
		// A w rule's whole replacement is qualified in place.
		repl = repl[:it.Start] + res + repl[it.End:]
	}
	return res, repl, stDone
}

func (rs *Rules) log(s string) {
	if rs.opts.Log != nil {
		rs.opts.Log(s)
	}
}

// numericVars returns $0, $1, ... for a matched pattern (specification
// section "Rewriting patterns"): a regular expression's captures; for
// "lpat@dpat" the text matched by a leading "*" of the local part, then
// that of the domain; $0 is always the whole address.
func numericVars(pat, addr, lp, dom string, listVars []string) []string {
	nums := []string{addr}
	if strings.HasPrefix(pat, "^") {
		if len(listVars) > 1 {
			nums = append(nums, listVars[1:]...)
		}
		return nums
	}
	at := strings.LastIndexByte(pat, '@')
	if at < 0 || strings.Contains(pat[:at], ";") {
		return nums
	}
	lpat, dpat := pat[:at], pat[at+1:]
	if strings.HasPrefix(lpat, "*") && len(lpat)-1 <= len(lp) {
		nums = append(nums, lp[:len(lp)-(len(lpat)-1)])
	}
	if strings.HasPrefix(dpat, "*") && !strings.Contains(dpat, ";") && len(dpat)-1 <= len(dom) {
		nums = append(nums, dom[:len(dom)-(len(dpat)-1)])
	}
	return nums
}

// partialVars returns the wild and fixed parts of the domain when the
// domain part of pat is a partial lookup ("*@partial-lsearch;file"): the
// key that matched is found again, the exact domain first ($2 empty, $3
// the domain), then "*.suffix" keys from the longest suffix with at least
// N components (default 2). Section "Rewriting patterns".
func (rs *Rules) partialVars(pat, dom string) []string {
	at := strings.LastIndexByte(pat, '@')
	if at < 0 || rs.opts.Lists == nil || rs.opts.Lists.Lookups == nil {
		return nil
	}
	dpat := pat[at+1:]
	semi := strings.IndexByte(dpat, ';')
	if !strings.HasPrefix(dpat, "partial") || semi < 0 {
		return nil
	}
	typ, file := dpat[:semi], strings.TrimSpace(dpat[semi+1:])
	rest := typ[len("partial"):]
	minParts := 2
	if n := strings.IndexByte(rest, '-'); n > 0 {
		v := 0
		for _, c := range rest[:n] {
			if c < '0' || c > '9' {
				return nil
			}
			v = v*10 + int(c-'0')
		}
		minParts = v
		rest = rest[n:]
	}
	if !strings.HasPrefix(rest, "-") {
		return nil
	}
	base := rest[1:]
	if i := strings.IndexAny(base, "*,"); i >= 0 {
		base = base[:i]
	}
	find := func(key string) bool {
		_, ok, err := rs.opts.Lists.Lookups.Find(base, file, key, nil)
		return err == nil && ok
	}
	if find(dom) {
		return []string{"", dom}
	}
	labels := strings.Split(dom, ".")
	for i := 1; i < len(labels); i++ {
		suffix := strings.Join(labels[i:], ".")
		if len(labels)-i < minParts {
			break
		}
		if find("*." + suffix) {
			return []string{strings.Join(labels[:i], "."), suffix}
		}
	}
	return nil
}
