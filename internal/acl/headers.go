package acl

import (
	"fmt"
	"strings"

	"github.com/exigo-mta/exigo/internal/expand"
)

// Header verification (verify = header_syntax, not_blind,
// header_names_ascii). Specification section "ACL conditions", verify.

// addressHeaders are the headers header_syntax checks.
var addressHeaders = []string{"Sender", "Reply-To", "To", "Cc", "Bcc", "From"}

// verifyHeaderSyntax checks that the address headers parse.
func (r *run) verifyHeaderSyntax(sr *stmtResult) rc {
	if r.s.Message == nil {
		return rcOK
	}
	for _, h := range addressHeaders {
		v, ok := r.s.Message.Header(h, expand.HeaderRaw)
		if !ok {
			continue
		}
		for _, a := range splitAddresses(v) {
			if bad := badAddress(a); bad != "" {
				msg := fmt.Sprintf("%s: failing address in \"%s:\" header is: %s", bad, h, strings.TrimSpace(a))
				sr.condUser = msg
				r.s.Vars["acl_verify_message"] = msg
				return rcFail
			}
		}
	}
	return rcOK
}

// splitAddresses splits an address list at commas outside quotes,
// comments and angle brackets; group syntax is flattened.
func splitAddresses(v string) []string {
	var out []string
	depth, quoted, angle := 0, false, false
	start := 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case quoted:
			if c == '\\' {
				i++
			} else if c == '"' {
				quoted = false
			}
		case c == '"':
			quoted = true
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth > 0:
		case c == '<':
			angle = true
		case c == '>':
			angle = false
		case (c == ',' || c == ';') && !angle:
			out = append(out, v[start:i])
			start = i + 1
		case c == ':' && !angle:
			start = i + 1 // group name
		}
	}
	return append(out, v[start:])
}

// badAddress returns Exim's complaint about one address, or "".
func badAddress(a string) string {
	a = strings.TrimSpace(stripComments(a))
	if a == "" {
		return ""
	}
	if strings.Contains(a, "<") {
		return ""
	}
	if strings.ContainsAny(a, " \t") || !strings.Contains(a, "@") {
		if strings.ContainsAny(a, " \t") {
			return "missing or malformed local part (expected word or \"<\")"
		}
	}
	return ""
}

// stripComments removes (comments).
func stripComments(s string) string {
	var b strings.Builder
	depth := 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '(':
			depth++
		case s[i] == ')' && depth > 0:
			depth--
		case depth == 0:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// verifyNotBlind checks that every envelope recipient appears in To:,
// Cc: or Bcc:.
func (r *run) verifyNotBlind(sr *stmtResult) rc {
	if r.s.Message == nil {
		return rcOK
	}
	var all string
	for _, h := range []string{"To", "Cc", "Bcc"} {
		if v, ok := r.s.Message.Header(h, expand.HeaderRaw); ok {
			all += "," + strings.ToLower(v)
		}
	}
	for _, rcpt := range strings.Split(r.s.Vars["recipients"], ",") {
		rcpt = strings.ToLower(strings.TrimSpace(rcpt))
		if rcpt != "" && !strings.Contains(all, rcpt) {
			return rcFail
		}
	}
	return rcOK
}

// verifyHeaderNamesASCII checks that header names use only the
// printable ASCII characters 33 to 126.
func (r *run) verifyHeaderNamesASCII(sr *stmtResult) rc {
	if r.s.Message == nil {
		return rcOK
	}
	for _, line := range strings.Split(r.s.Message.Headers(true), "\n") {
		if line == "" || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		name, _, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		for i := 0; i < len(name); i++ {
			if name[i] < 33 || name[i] > 126 {
				msg := fmt.Sprintf("Invalid character in header \"%s\" found", name)
				sr.condUser = msg
				r.s.Vars["acl_verify_message"] = msg
				return rcFail
			}
		}
	}
	return rcOK
}
