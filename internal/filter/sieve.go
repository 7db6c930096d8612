package filter

import (
	"strings"

	"github.com/exigo-mta/exigo/internal/message"
)

// SieveEnv is what running a Sieve filter needs from its caller.
type SieveEnv struct {
	// Headers returns the values of every header with the given name
	// (caselessly), decoded, in message order.
	Headers func(name string) []string
	// Sender and Recipient are the envelope addresses for the
	// envelope test ("from", "to").
	Sender, Recipient string
	// Size is the message size for the size test.
	Size int64
	// Vacation allows the vacation extension (the redirect router's
	// sieve_vacation_directory is set; always in -bf).
	Vacation bool
	// Qualify, when not empty, qualifies unqualified redirect
	// addresses; otherwise they are an error.
	Qualify string
}

// SieveAction is one action a Sieve filter took.
type SieveAction struct {
	// Kind is Address (redirect) or File (keep, fileinto; keep is the
	// folder "inbox").
	Kind Kind
	// Text is the address or the folder name.
	Text string
	// Copy is set for :copy, which does not cancel the implicit keep.
	Copy bool
}

// SieveVacation is a vacation action (RFC 5230).
type SieveVacation struct {
	Days                  int64
	Subject, From, Handle string
	Addresses             []string
	Reason                string
	Mime                  bool
}

// SieveResult is the outcome of running a Sieve filter.
type SieveResult struct {
	// Actions are the keep, fileinto and redirect actions in order.
	Actions []SieveAction
	// Vacations are the vacation actions.
	Vacations []SieveVacation
	// ImplicitKeep is set when no action cancelled the implicit keep
	// (the message then goes to "inbox").
	ImplicitKeep bool
	// Discarded is set when the discard action was taken.
	Discarded bool
}

// maxSieveDepth caps the nesting of blocks and tests.
const maxSieveDepth = 100

// sieveCaps are the capabilities Exim 4.96 knows (observed with -bf);
// enotify is known but needs configuration.
var sieveCaps = map[string]bool{
	"fileinto": true, "copy": true, "envelope": true, "subaddress": true,
	"encoded-character": true, "enotify": true, "vacation": true,
	"comparator-i;ascii-numeric": true, "comparator-i;ascii-casemap": true,
	"comparator-en;ascii-casemap": true, "comparator-i;octet": true,
}

// sieveRun is one run of a Sieve filter: Exim parses and obeys a
// Sieve script in one pass, so actions taken before an error stand.
type sieveRun struct {
	lex      sieveLexer
	env      *SieveEnv
	res      *SieveResult
	required map[string]bool
	keep     bool // implicit keep still in force
	stopped  bool
	depth    int
}

// RunSieve parses and obeys a Sieve filter. On an error the result
// holds the actions taken before it; Exim then keeps the message as
// well (the caller adds the keep). Errors are *SieveError.
func RunSieve(src string, env *SieveEnv) (*SieveResult, error) {
	r := &sieveRun{lex: sieveLexer{src: src, line: 1}, env: env, res: &SieveResult{}, required: map[string]bool{}, keep: true}
	err := r.commands(true, true)
	r.res.ImplicitKeep = r.keep
	return r.res, err
}

func (r *sieveRun) errf(format string, a ...any) error {
	return r.lex.errf(format, a...)
}

// commands parses and (with exec) obeys commands up to the end of the
// script (top) or a closing brace (left for the caller).
func (r *sieveRun) commands(exec, top bool) error {
	for !r.stopped {
		t, err := r.lex.next()
		if err != nil {
			return err
		}
		switch {
		case t.kind == stEOF:
			if top {
				return nil
			}
			return r.errf("expecting command or closing brace")
		case t.kind == stPunct && t.text == "}" && !top:
			r.lex.unread(t)
			return nil
		case t.kind != stIdent:
			if top {
				return r.errf("syntax error")
			}
			return r.errf("expecting command or closing brace")
		}
		if err := r.command(t, exec, top); err != nil {
			return err
		}
	}
	return nil
}

// expect reads the punctuation p or fails with msg.
func (r *sieveRun) expect(p, msg string) error {
	t, err := r.lex.next()
	if err != nil {
		return err
	}
	if t.kind != stPunct || t.text != p {
		return r.errf("%s", msg)
	}
	return nil
}

func (r *sieveRun) semicolon() error { return r.expect(";", "missing semicolon") }

func (r *sieveRun) needs(ext string) error {
	if !r.required[ext] {
		return r.errf("missing previous require \"%s\";", ext)
	}
	return nil
}

// command parses and obeys one command (RFC 5228 sections 3 and 4).
func (r *sieveRun) command(t sieveToken, exec, top bool) error {
	switch t.text {
	case "require":
		caps, err := r.stringList("capability string list expected")
		if err != nil {
			return err
		}
		for _, c := range caps {
			c = strings.ToLower(c)
			if !sieveCaps[c] {
				return r.errf("unknown capability")
			}
			if c == "enotify" || c == "vacation" && !r.env.Vacation {
				return r.errf("%s disabled", c)
			}
			r.required[c] = true
		}
		return r.semicolon()
	case "if":
		return r.ifCommand(exec)
	case "stop":
		if err := r.semicolon(); err != nil {
			return err
		}
		if exec {
			r.stopped = true
		}
		return nil
	case "keep", "discard":
		if err := r.semicolon(); err != nil {
			return err
		}
		if exec {
			r.keep = false
			if t.text == "keep" {
				r.res.Actions = append(r.res.Actions, SieveAction{Kind: File, Text: "inbox"})
			} else {
				r.res.Discarded = true
			}
		}
		return nil
	case "redirect", "fileinto":
		if t.text == "fileinto" {
			if err := r.needs("fileinto"); err != nil {
				return err
			}
		}
		cp := false
		n, err := r.lex.next()
		if err != nil {
			return err
		}
		if n.kind == stTag && n.text == "copy" {
			if err := r.needs("copy"); err != nil {
				return err
			}
			cp = true
			if n, err = r.lex.next(); err != nil {
				return err
			}
		}
		if n.kind != stString {
			if t.text == "redirect" {
				return r.errf("missing redirect recipient string")
			}
			return r.errf("missing fileinto mailbox string")
		}
		if err := r.semicolon(); err != nil {
			return err
		}
		if !exec {
			return nil
		}
		text := r.str(n)
		a := SieveAction{Kind: File, Text: text, Copy: cp}
		if t.text == "redirect" {
			addr, err := sieveAddress(text)
			if err != nil || addr == "" {
				return r.errf("malformed recipient address")
			}
			if !strings.Contains(addr, "@") {
				if r.env.Qualify == "" {
					return r.errf("unqualified recipient address")
				}
				addr += "@" + r.env.Qualify
			}
			a.Kind, a.Text = Address, addr
		}
		if !cp {
			r.keep = false
		}
		r.res.Actions = append(r.res.Actions, a)
		return nil
	case "vacation":
		if err := r.needs("vacation"); err != nil {
			return err
		}
		v, err := r.vacation()
		if err != nil {
			return err
		}
		if exec {
			r.res.Vacations = append(r.res.Vacations, v)
		}
		return nil
	}
	if top {
		return r.errf("syntax error")
	}
	return r.errf("expecting command or closing brace")
}

// ifCommand parses if/elsif/else (RFC 5228 section 3.1).
func (r *sieveRun) ifCommand(exec bool) error {
	done := false
	for {
		ok, err := r.test(exec && !done)
		if err != nil {
			return err
		}
		if err := r.block(exec && !done && ok); err != nil {
			return err
		}
		done = done || ok
		t, err := r.lex.next()
		if err != nil {
			return err
		}
		if t.kind == stIdent && t.text == "elsif" {
			continue
		}
		if t.kind == stIdent && t.text == "else" {
			return r.block(exec && !done)
		}
		r.lex.unread(t)
		return nil
	}
}

// block parses "{ commands }".
func (r *sieveRun) block(exec bool) error {
	if err := r.expect("{", "missing block"); err != nil {
		return err
	}
	r.depth++
	defer func() { r.depth-- }()
	if r.depth > maxSieveDepth {
		return r.errf("nesting too deep")
	}
	if err := r.commands(exec, false); err != nil {
		return err
	}
	if r.stopped {
		return nil
	}
	return r.expect("}", "expecting command or closing brace")
}

// stringList reads a string or a bracketed list of strings.
func (r *sieveRun) stringList(msg string) ([]string, error) {
	t, err := r.lex.next()
	if err != nil {
		return nil, err
	}
	if t.kind == stString {
		return []string{r.str(t)}, nil
	}
	if t.kind != stPunct || t.text != "[" {
		return nil, r.errf("%s", msg)
	}
	var out []string
	for {
		t, err := r.lex.next()
		if err != nil {
			return nil, err
		}
		if t.kind != stString {
			return nil, r.errf("%s", msg)
		}
		out = append(out, r.str(t))
		t, err = r.lex.next()
		if err != nil {
			return nil, err
		}
		if t.kind == stPunct && t.text == "]" {
			return out, nil
		}
		if t.kind != stPunct || t.text != "," {
			return nil, r.errf("missing string list")
		}
	}
}

// vacation parses the vacation arguments (RFC 5230 section 4).
func (r *sieveRun) vacation() (SieveVacation, error) {
	v := SieveVacation{Days: 7}
	for {
		t, err := r.lex.next()
		if err != nil {
			return v, err
		}
		if t.kind == stString {
			v.Reason = r.str(t)
			break
		}
		if t.kind != stTag {
			return v, r.errf("missing vacation reason string")
		}
		switch t.text {
		case "days":
			n, err := r.lex.next()
			if err != nil {
				return v, err
			}
			if n.kind != stNumber {
				return v, r.errf("missing days")
			}
			v.Days = n.num
		case "subject", "from", "handle":
			n, err := r.lex.next()
			if err != nil {
				return v, err
			}
			if n.kind != stString {
				return v, r.errf("missing %s string", t.text)
			}
			switch t.text {
			case "subject":
				v.Subject = r.str(n)
			case "from":
				v.From = r.str(n)
			default:
				v.Handle = r.str(n)
			}
		case "addresses":
			l, err := r.stringList("addresses string list expected")
			if err != nil {
				return v, err
			}
			v.Addresses = l
		case "mime":
			v.Mime = true
		default:
			return v, r.errf("syntax error")
		}
	}
	return v, r.semicolon()
}

// SieveHeaders returns a SieveEnv.Headers function for a header block:
// each instance's value decoded to UTF-8 (RFC 2047), unfolded.
func SieveHeaders(hs message.Headers) func(name string) []string {
	return func(name string) []string {
		var out []string
		for _, h := range hs {
			if h.Type == '*' || !strings.EqualFold(h.Name, name) {
				continue
			}
			v, _ := message.Headers{h}.Decoded(h.Name, "UTF-8")
			v = strings.NewReplacer("\r\n", "", "\n", "").Replace(v)
			out = append(out, strings.TrimSpace(v))
		}
		return out
	}
}
