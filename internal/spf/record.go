package spf

import (
	"net/netip"
	"strconv"
	"strings"
)

// validRecord reports whether an SPF record parses as libspf2 compiles
// it: known mechanisms with well-formed arguments and macros, modifiers
// name=value. A record that does not is an "(invalid)" result in Exim.
func validRecord(rec string) bool {
	fields := strings.Fields(rec)
	if len(fields) == 0 || !strings.EqualFold(fields[0], "v=spf1") {
		return false
	}
	for _, f := range fields[1:] {
		if !validTerm(f) {
			return false
		}
	}
	return true
}

// validTerm checks one directive or modifier (RFC 7208 section 4.6.1).
func validTerm(f string) bool {
	if i := strings.IndexByte(f, '='); i > 0 && !strings.ContainsAny(f[:i], ":/") {
		name := f[:i]
		for j := 0; j < len(name); j++ {
			c := name[j]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || j > 0 && (c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.')) {
				return false
			}
		}
		return validMacros(f[i+1:])
	}
	if strings.ContainsRune("+-~?", rune(f[0])) {
		f = f[1:]
	}
	mech, arg, hasArg := strings.Cut(f, ":")
	rest := ""
	if !hasArg {
		if i := strings.IndexByte(mech, '/'); i >= 0 {
			mech, rest = mech[:i], mech[i:]
		}
	} else if i := strings.IndexByte(arg, '/'); i >= 0 && !strings.EqualFold(mech, "ip6") {
		arg, rest = arg[:i], arg[i:]
	}
	switch strings.ToLower(mech) {
	case "all":
		return !hasArg && rest == ""
	case "include", "exists":
		return hasArg && arg != "" && rest == "" && validMacros(arg)
	case "a", "mx":
		return (!hasArg || arg != "" && validMacros(arg)) && validCIDR(rest)
	case "ptr":
		return (!hasArg || arg != "" && validMacros(arg)) && rest == ""
	case "ip4":
		a, err := netip.ParseAddr(arg)
		return hasArg && err == nil && a.Is4() && validBits(rest, 32)
	case "ip6":
		addr, bits, _ := strings.Cut(arg, "/")
		a, err := netip.ParseAddr(addr)
		if !hasArg || err != nil || !a.Is6() {
			return false
		}
		if strings.Contains(arg, "/") {
			return validBits("/"+bits, 128)
		}
		return true
	}
	return false
}

func validBits(s string, max int) bool {
	if s == "" {
		return true
	}
	n, err := strconv.Atoi(s[1:])
	return s[0] == '/' && err == nil && n >= 0 && n <= max
}

// validCIDR checks "", "/n", "//n" or "/n//m".
func validCIDR(s string) bool {
	if s == "" {
		return true
	}
	v4, v6, dual := strings.Cut(s, "//")
	if dual && !validBits("/"+v6, 128) {
		return false
	}
	return v4 == "" || validBits(v4, 32)
}

// validMacros checks the macro syntax of a domain-spec (RFC 7208 section
// 7.1).
func validMacros(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			continue
		}
		if i+1 >= len(s) {
			return false
		}
		switch s[i+1] {
		case '%', '_', '-':
			i++
			continue
		case '{':
		default:
			return false
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 || end < 3 {
			return false
		}
		body := s[i+2 : i+end]
		if !strings.ContainsRune("slodiphcrtvSLODIPHCRTV", rune(body[0])) {
			return false
		}
		j := 1
		for j < len(body) && body[j] >= '0' && body[j] <= '9' {
			j++
		}
		if j < len(body) && (body[j] == 'r' || body[j] == 'R') {
			j++
		}
		for ; j < len(body); j++ {
			if !strings.ContainsRune(".-+,/_=", rune(body[j])) {
				return false
			}
		}
		i += end
	}
	return true
}

// expandTemplate expands the macros of spf_smtp_comment_template as
// libspf2 does for explanations: %% %_ %- and %{s}, %{l}, %{o}, %{d},
// %{i}, %{h} (without transformers).
func expandTemplate(t string, req Request, sender, domain string) string {
	var b strings.Builder
	local, _, _ := strings.Cut(sender, "@")
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c != '%' || i+1 >= len(t) {
			b.WriteByte(c)
			continue
		}
		switch t[i+1] {
		case '%':
			b.WriteByte('%')
			i++
		case '_':
			b.WriteByte(' ')
			i++
		case '-':
			b.WriteString("%20")
			i++
		case '{':
			end := strings.IndexByte(t[i:], '}')
			if end < 0 {
				b.WriteString(t[i:])
				return b.String()
			}
			switch strings.ToLower(t[i+2 : i+3]) {
			case "s":
				b.WriteString(sender)
			case "l":
				b.WriteString(local)
			case "o", "d":
				b.WriteString(domain)
			case "i", "c":
				b.WriteString(req.IP.Unmap().String())
			case "h":
				b.WriteString(req.Helo)
			}
			i += end
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
