// The retry and rewrite sections.
//
// Exim specification: chapters "Retry configuration" and "Address
// rewriting".
package config

import (
	"fmt"
	"strconv"
	"strings"
)

// RetryRule is one line of the retry section.
type RetryRule struct {
	Pattern string // address or domain pattern
	Error   string // "*", "timeout", "rcpt_4xx", ...
	Senders string // the optional senders=... list, raw (quotes kept)
	// SendersSet says a senders= list was given (it may be empty).
	SendersSet bool
	Steps      []RetryStep
	File       string
	Line       int
}

// RetryStep is one F, G or H parameter set of a retry rule.
type RetryStep struct {
	Rule    byte  // 'F', 'G' or 'H'
	Cutoff  int64 // seconds since first failure this step applies to
	Initial int64 // seconds: the (first) interval
	Factor  int64 // G and H rules: multiplier, in thousandths
}

// RewriteRule is one line of the rewrite section.
type RewriteRule struct {
	Pattern     string
	Replacement string
	Flags       string
	File        string
	Line        int
}

// fields splits s into white-space separated fields, keeping quoted
// strings whole (quotes kept).
func fields(s string) []string {
	var out []string
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return out
		}
		i := 0
		if s[0] == '"' {
			i = 1
			for i < len(s) && s[i] != '"' {
				if s[i] == '\\' {
					i++
				}
				i++
			}
			if i < len(s) {
				i++
			}
		} else {
			for i < len(s) && s[i] != ' ' && s[i] != '\t' {
				i++
			}
		}
		if i > len(s) {
			i = len(s)
		}
		out = append(out, s[:i])
		s = s[i:]
	}
}

var retryErrors = []string{"*", "auth_failed", "data_4", "lookup", "lost_connection", "mail_4", "quota", "rcpt_4", "refused", "timeout", "tls_required"}

func validRetryError(e string) bool {
	for _, p := range retryErrors {
		if e == p || (strings.HasSuffix(p, "_4") && strings.HasPrefix(e, p)) || strings.HasPrefix(e, p+"_") {
			return true
		}
	}
	return false
}

func (p *parser) retryLine(lg logical) error {
	f := fields(lg.text)
	if len(f) < 2 {
		return p.errAt(lg, "missing error type in retry rule")
	}
	r := RetryRule{Pattern: f[0], Error: f[1], File: lg.file, Line: lg.line}
	if !validRetryError(r.Error) {
		return p.errAt(lg, fmt.Sprintf("unknown or malformed retry error %q", r.Error))
	}
	rest := f[2:]
	if len(rest) > 0 && strings.HasPrefix(rest[0], "senders") {
		// senders=<list>, the list possibly quoted with white space
		// inside: re-split the text after the error name.
		raw := strings.TrimLeft(lg.text, " \t")
		for i := 0; i < 2; i++ {
			raw = strings.TrimLeft(raw[len(f[i]):], " \t")
		}
		raw = strings.TrimLeft(strings.TrimPrefix(raw, "senders"), " \t")
		raw = strings.TrimLeft(strings.TrimPrefix(raw, "="), " \t")
		list := ""
		if v := fields(raw); len(v) > 0 && strings.HasPrefix(raw, v[0]) && !strings.HasPrefix(raw, "F,") && !strings.HasPrefix(raw, "G,") && !strings.HasPrefix(raw, "H,") {
			list = v[0]
			raw = raw[len(v[0]):]
		}
		r.Senders, r.SendersSet = list, true
		rest = fields(raw)
	}
	for _, part := range strings.Split(strings.Join(rest, " "), ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		st, msg := parseRetryStep(part)
		if msg != "" {
			return p.errAt(lg, msg)
		}
		r.Steps = append(r.Steps, st)
	}
	p.c.Retry = append(p.c.Retry, r)
	return nil
}

func parseRetryStep(s string) (RetryStep, string) {
	// The letter may be written in lower case.
	st := RetryStep{Rule: strings.ToUpper(s[:1])[0]}
	if st.Rule != 'F' && st.Rule != 'G' && st.Rule != 'H' {
		return st, "unknown retry rule letter"
	}
	args := strings.Split(s[1:], ",")
	want := 3
	if st.Rule == 'G' || st.Rule == 'H' {
		want = 4
	}
	if len(args) < want || strings.TrimSpace(args[0]) != "" {
		return st, "comma expected"
	}
	var ok1, ok2 bool
	st.Cutoff, ok1 = parseTime(strings.TrimSpace(args[1]))
	st.Initial, ok2 = parseTime(strings.TrimSpace(args[2]))
	if !ok1 || !ok2 {
		return st, "bad parameters for retry rule"
	}
	if want == 4 {
		v := strings.TrimSpace(args[3])
		// Exim keeps three decimals, cutting off the rest.
		ip, fp, _ := strings.Cut(v, ".")
		n, err := strconv.ParseInt(ip, 10, 32)
		if err != nil || ip == "" || strings.Trim(fp, "0123456789") != "" {
			return st, "bad parameters for retry rule"
		}
		fp = (fp + "000")[:3]
		d, _ := strconv.ParseInt(fp, 10, 32)
		st.Factor = n*1000 + d
	}
	return st, ""
}

func (p *parser) rewriteLine(lg logical) error {
	f := fields(lg.text)
	if len(f) < 2 {
		return p.errAt(lg, "missing rewrite replacement string")
	}
	r := RewriteRule{Pattern: f[0], Replacement: f[1], File: lg.file, Line: lg.line}
	for _, fl := range f[2:] {
		for i := 0; i < len(fl); i++ {
			if !strings.ContainsRune("EFTbcfhrstSqQRw", rune(fl[i])) {
				return p.errAt(lg, fmt.Sprintf("unknown rewrite flag character '%c' (could be missing quotes round replacement item)", fl[i]))
			}
		}
		r.Flags += fl
	}
	p.c.Rewrite = append(p.c.Rewrite, r)
	return nil
}
