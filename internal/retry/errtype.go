// Package retry implements Exim's retry rules: finding the rule that
// applies to a failing host or address, and computing from it when to try
// again and when to give up.
//
// The contract delivery uses:
//
//   - Rules.Find picks the rule for a failure: the rules are scanned in
//     order and each is tested against every subject in turn (the host name,
//     then the mail domain, for host errors; the address or domain for
//     address errors), its error type and its senders list.
//   - Rules.Update turns the old hints record and a new failure into the
//     new record (first failed, last try, next try, expired) and says
//     whether the address must now fail ("retry timeout exceeded").
//   - Check says, before an attempt, whether a host or address may be tried
//     now, must wait ("retry time not reached") or must fail at once (past
//     the final cutoff, delay_after_cutoff).
//
// Exim specification: chapter "Retry configuration".
package retry

import (
	"fmt"
	"strings"
	"time"
)

// Kind is the class of a temporary error, as named in retry rules.
type Kind int

// The error classes of retry rules (chapter "Retry configuration",
// section "Retry rules for specific errors").
const (
	Any            Kind = iota // "*"
	None                       // no error given (-brt without one)
	Timeout                    // timeout, timeout_A, timeout_connect_MX, ...
	Refused                    // refused, refused_A, refused_MX
	LostConnection             // lost_connection
	TLSRequired                // tls_required
	AuthFailed                 // auth_failed
	Lookup                     // lookup
	Quota                      // quota, quota_<time>
	Mail4xx                    // mail_4xx, mail_45x, mail_452
	Rcpt4xx                    // rcpt_4xx ...
	Data4xx                    // data_4xx ...
)

// ErrorType is a parsed error name: the second field of a retry rule, the
// error argument of -brt, or the description of an actual failure (where
// an SMTP code has all its digits and a quota error the mailbox's idle
// time).
type ErrorType struct {
	Kind Kind
	// Connect is set for timeout_connect...: the timeout was while
	// connecting.
	Connect bool
	// Host is 'A' or 'M' for the _A and _MX forms (the host was not, or
	// was, found from an MX record), 0 for either.
	Host byte
	// Code is the SMTP code of the 4xx kinds: "4xx", "45x" or "452".
	Code string
	// QuotaAge is the <time> of quota_<time>: for a rule, how long the
	// mailbox must have been unread; for a failure, how long it has been.
	QuotaAge time.Duration
}

// ParseErrorType parses an error name as Exim does, case-insensitively,
// with Exim's error texts.
func ParseErrorType(s string) (ErrorType, error) {
	l := strings.ToLower(s)
	switch l {
	case "*":
		return ErrorType{Kind: Any}, nil
	case "lost_connection":
		return ErrorType{Kind: LostConnection}, nil
	case "tls_required":
		return ErrorType{Kind: TLSRequired}, nil
	case "auth_failed":
		return ErrorType{Kind: AuthFailed}, nil
	case "lookup":
		return ErrorType{Kind: Lookup}, nil
	case "quota":
		return ErrorType{Kind: Quota}, nil
	}
	switch {
	case strings.HasPrefix(l, "timeout"):
		return parseTimeout(l[len("timeout"):], s)
	case strings.HasPrefix(l, "refused"):
		e := ErrorType{Kind: Refused}
		switch l[len("refused"):] {
		case "", "_":
		case "_a":
			e.Host = 'A'
		case "_mx":
			e.Host = 'M'
		default:
			return e, fmt.Errorf(`A or MX expected after "refused"`)
		}
		return e, nil
	case strings.HasPrefix(l, "quota_"):
		secs, ok := ParseTime(l[len("quota_"):])
		if !ok {
			return ErrorType{}, fmt.Errorf("bad time value")
		}
		return ErrorType{Kind: Quota, QuotaAge: time.Duration(secs) * time.Second}, nil
	}
	for _, p := range []struct {
		prefix string
		kind   Kind
	}{{"mail_4", Mail4xx}, {"rcpt_4", Rcpt4xx}, {"data_4", Data4xx}} {
		if !strings.HasPrefix(l, p.prefix) {
			continue
		}
		// The digits and x must be lower case as written.
		rest := s[len(p.prefix):]
		if len(rest) != 2 || !(isDigit(rest[0]) && (isDigit(rest[1]) || rest[1] == 'x') || rest == "xx") {
			return ErrorType{}, fmt.Errorf("%s must be followed by xx, dx, or dd, where x is literal and d is any digit", s[:len(p.prefix)])
		}
		return ErrorType{Kind: p.kind, Code: "4" + rest}, nil
	}
	return ErrorType{}, fmt.Errorf("unknown or malformed retry error %q", s)
}

func parseTimeout(rest, orig string) (ErrorType, error) {
	e := ErrorType{Kind: Timeout}
	if rest == "" || rest == "_" {
		return e, nil
	}
	if rest[0] != '_' {
		return e, fmt.Errorf("unknown or malformed retry error %q", orig)
	}
	rest = rest[1:]
	if strings.HasPrefix(rest, "connect") {
		e.Connect = true
		rest = rest[len("connect"):]
		if rest == "" || rest == "_" {
			return e, nil
		}
		if rest[0] != '_' {
			return e, fmt.Errorf(`"A", "MX", or "connect" expected after "timeout"`)
		}
		rest = rest[1:]
	}
	switch rest {
	case "a":
		e.Host = 'A'
	case "mx":
		e.Host = 'M'
	default:
		if e.Connect {
			return e, fmt.Errorf(`"A" or "MX" expected after "timeout_connect"`)
		}
		return e, fmt.Errorf(`"A", "MX", or "connect" expected after "timeout"`)
	}
	return e, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// Matches reports whether a rule's error type r covers the failure f.
// Spec: section "Retry rules for specific errors". As Exim's -brt shows,
// a failure given as mail_4xx (no digits) is covered by every mail_ rule.
func (r ErrorType) Matches(f ErrorType) bool {
	if r.Kind == Any {
		return true
	}
	if r.Kind != f.Kind {
		return false
	}
	switch r.Kind {
	case Timeout, Refused:
		if r.Connect && !f.Connect {
			return false
		}
		return r.Host == 0 || r.Host == f.Host
	case Quota:
		if r.QuotaAge == 0 {
			return true
		}
		return f.QuotaAge >= r.QuotaAge
	case Mail4xx, Rcpt4xx, Data4xx:
		if r.Kind == Mail4xx && f.Code == "4xx" {
			return true
		}
		for i := 1; i < 3 && i < len(r.Code) && i < len(f.Code); i++ {
			if r.Code[i] != 'x' && r.Code[i] != f.Code[i] {
				return false
			}
		}
		return true
	}
	return true
}

// String returns the canonical name of the error type ("timeout_connect_MX",
// "quota_1d12h", "rcpt_45x", "*").
func (e ErrorType) String() string {
	host := func(s string) string {
		switch e.Host {
		case 'A':
			return s + "_A"
		case 'M':
			return s + "_MX"
		}
		return s
	}
	switch e.Kind {
	case Any:
		return "*"
	case None:
		return ""
	case Timeout:
		if e.Connect {
			return host("timeout_connect")
		}
		return host("timeout")
	case Refused:
		return host("refused")
	case LostConnection:
		return "lost_connection"
	case TLSRequired:
		return "tls_required"
	case AuthFailed:
		return "auth_failed"
	case Lookup:
		return "lookup"
	case Quota:
		if e.QuotaAge > 0 {
			return "quota_" + FormatTime(int64(e.QuotaAge/time.Second))
		}
		return "quota"
	case Mail4xx:
		return "mail_" + e.Code
	case Rcpt4xx:
		return "rcpt_" + e.Code
	case Data4xx:
		return "data_" + e.Code
	}
	return "?"
}

// ruleLineName is how -brt prints a rule's error: Exim 4.96 names only
// the timeout, refused, auth_failed and quota kinds and prints "*" for the
// others.
func (e ErrorType) ruleLineName() string {
	switch e.Kind {
	case Timeout, Refused, AuthFailed, Quota:
		return e.String()
	}
	return "*"
}

// ParseTime parses an Exim time value made of <number><unit> pairs
// (units s, m, h, d, w, lower case), such as "1h30m". A number without
// a unit is refused.
func ParseTime(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var total int64
	for s != "" {
		i := 0
		var n int64
		for i < len(s) && isDigit(s[i]) {
			n = n*10 + int64(s[i]-'0')
			if n > 1<<40 {
				return 0, false
			}
			i++
		}
		if i == 0 || i == len(s) {
			return 0, false
		}
		switch s[i] {
		case 's':
		case 'm':
			n *= 60
		case 'h':
			n *= 3600
		case 'd':
			n *= 86400
		case 'w':
			n *= 7 * 86400
		default:
			return 0, false
		}
		total += n
		if total > 1<<42 {
			return 0, false
		}
		s = s[i+1:]
	}
	return total, true
}

// FormatTime prints seconds as Exim prints times: "1w4d13h46m40s",
// "0s" for zero.
func FormatTime(secs int64) string {
	if secs <= 0 {
		return "0s"
	}
	var b strings.Builder
	for _, u := range []struct {
		n int64
		c byte
	}{{7 * 86400, 'w'}, {86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}} {
		if secs >= u.n {
			fmt.Fprintf(&b, "%d%c", secs/u.n, u.c)
			secs %= u.n
		}
	}
	return b.String()
}
