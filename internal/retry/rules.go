package retry

import (
	"fmt"
	"strings"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/lists"
)

// Rule is one retry rule, ready for matching.
type Rule struct {
	// Pattern is the address list item as written (quotes removed); it is
	// expanded before each match.
	Pattern string
	Error   ErrorType
	// Senders is the senders= address list; HasSenders says one was
	// given (an empty list matches only the null sender).
	Senders    string
	HasSenders bool
	Steps      []config.RetryStep
	File       string
	Line       int
}

// Options are what matching needs from its surroundings.
type Options struct {
	// Env matches patterns and senders lists (lookups, named lists).
	// Nil means a zero environment.
	Env *lists.Env
	// Expand expands a rule's pattern and senders list; nil leaves them
	// as they are. An error makes the rule not match (Exim logs it).
	Expand func(string) (string, error)
	// Log receives the texts of failed expansions and list checks that
	// Exim writes to its logs; nil drops them.
	Log func(string)
}

// Rules is the retry section of a configuration.
type Rules struct {
	List []Rule
	opts Options
}

// New builds the rules from the parsed configuration. It fails on an
// error name Exim would refuse.
func New(cfg []config.RetryRule, opts Options) (*Rules, error) {
	rs := &Rules{opts: opts}
	if rs.opts.Env == nil {
		rs.opts.Env = &lists.Env{}
	}
	for _, c := range cfg {
		et, err := ParseErrorType(c.Error)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", c.File, c.Line, err)
		}
		r := Rule{Pattern: unquote(c.Pattern), Error: et, Steps: c.Steps, File: c.File, Line: c.Line}
		r.HasSenders = c.SendersSet || c.Senders != ""
		r.Senders = unquote(c.Senders)
		rs.List = append(rs.List, r)
	}
	return rs, nil
}

// unquote removes the double quotes around a retry rule field, undoing
// backslash escapes inside them.
func unquote(s string) string {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return s
	}
	s = s[1 : len(s)-1]
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Find returns the first rule that matches one of subjects (tried in
// order for each rule: the host name then the mail domain for a host
// error; the address, or the domain, for an address error), the error et
// and the sender. sender nil means no sender is known: rules with a
// senders list never match then (as with -brt without -f). A subject
// without "@" is a domain: it matches domain patterns and "*@" patterns,
// and regular expressions see it as "*@domain". Nil means no rule.
// Spec: chapter "Retry configuration", sections "Choosing which retry rule
// to use for address errors" and "... for host and message errors".
func (rs *Rules) Find(subjects []string, et ErrorType, sender *string) *Rule {
	for i := range rs.List {
		r := &rs.List[i]
		if !r.Error.Matches(et) {
			continue
		}
		if r.HasSenders {
			if sender == nil || !rs.listMatch(r.Senders, *sender) {
				continue
			}
		}
		for _, s := range subjects {
			if s == "" {
				continue
			}
			if !strings.Contains(s, "@") {
				s = "*@" + s
			}
			if rs.listMatch(r.Pattern, s) {
				return r
			}
		}
	}
	return nil
}

// listMatch matches subject against a one-item (or senders) address list
// after expansion.
func (rs *Rules) listMatch(list, subject string) bool {
	if rs.opts.Expand != nil && strings.ContainsAny(list, "$\\") {
		x, err := rs.opts.Expand(list)
		if err != nil {
			rs.log(err.Error())
			return false
		}
		list = x
	}
	m, err := lists.MatchAddress(rs.opts.Env, list, subject, false)
	if err != nil {
		rs.log(err.Error())
		return false
	}
	return m.Matched
}

func (rs *Rules) log(s string) {
	if rs.opts.Log != nil {
		rs.opts.Log(s)
	}
}

// FinalCutoff is the cutoff of the rule's last parameter set, in
// seconds; 0 when it has none.
func (r *Rule) FinalCutoff() int64 {
	if len(r.Steps) == 0 {
		return 0
	}
	return r.Steps[len(r.Steps)-1].Cutoff
}

// String formats the rule as -brt prints it after "Retry rule: ":
// "*.example  *  F,2h,15m; G,16h,1h,1.5; F,4d,6h; ". Exim prints the
// factor of G rules only, and the error names of some kinds only (see
// ruleLineName).
func (r *Rule) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s  %s  ", r.Pattern, r.Error.ruleLineName())
	for _, s := range r.Steps {
		fmt.Fprintf(&b, "%c,%s,%s", s.Rule, FormatTime(s.Cutoff), FormatTime(s.Initial))
		if s.Rule == 'G' {
			fmt.Fprintf(&b, ",%s", formatFactor(s.Factor))
		}
		b.WriteString("; ")
	}
	return b.String()
}

// formatFactor prints a factor kept in thousandths: 1500 as "1.5", 2000
// as "2.0", 1999 as "1.999".
func formatFactor(f int64) string {
	frac := fmt.Sprintf("%03d", f%1000)
	frac = strings.TrimRight(frac, "0")
	if frac == "" {
		frac = "0"
	}
	return fmt.Sprintf("%d.%s", f/1000, frac)
}
