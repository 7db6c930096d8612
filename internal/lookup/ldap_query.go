package lookup

import (
	"fmt"
	"strconv"
	"strings"
)

// ldapQuery is an LDAP lookup query taken apart: the settings that may
// precede the URL (spec 9.18) and the URL itself (spec 9.15, RFC 2255).
type ldapQuery struct {
	user, pass       string
	hasUser, hasPass bool
	size, time       int
	nettime          int
	deref            int
	noReferrals      bool
	servers          string // SERVERS=, a colon-separated list
	hasServers       bool
	url              *ldapURL
}

// ldapURL is a parsed LDAP URL: scheme://host:port/dn?attrs?scope?filter?exts.
type ldapURL struct {
	raw    string
	scheme string // "ldap", "ldaps" or "ldapi", lower case
	host   string // empty when the URL names no server
	port   int    // 0 when not given
	dn     string
	attrs  []string
	scope  int // 0 base, 1 one, 2 sub, 3 children
	filter string
}

// The error numbers of OpenLDAP's URL parser, which Exim shows in
// `ldap_url_parse: (error N) parsing "URL"`.
const (
	urlErrBadURL    = 5
	urlErrBadScope  = 8
	urlErrBadFilter = 9
)

// ldapParams lists the names accepted before the URL (spec 9.18); CONNECT
// is the old name of NETTIME.
var ldapParams = []string{"USER=", "PASS=", "SIZE=", "TIME=", "CONNECT=", "NETTIME=", "DEREFERENCE=", "REFERRALS=", "SERVERS="}

// parseLDAPQuery parses `[name=value ...] URL`. Errors carry Exim's texts
// (the DEFER message).
func parseLDAPQuery(q string) (*ldapQuery, error) {
	lq := &ldapQuery{}
	s := strings.TrimLeft(q, " \t\n\r")
	for !hasPrefixFold(s, "ldap") {
		// A name is letters, then optional white space, then "=".
		i := 0
		for i < len(s) && isAlpha(s[i]) {
			i++
		}
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i == 0 || i >= len(s) || s[i] != '=' {
			return nil, fmt.Errorf("malformed parameter setting precedes LDAP URL")
		}
		name := s[:i+1]
		s = s[i+1:]
		var val string
		if strings.HasPrefix(s, "\"") {
			v, rest, ok := dequoteLDAPValue(s[1:])
			if !ok {
				return nil, fmt.Errorf("malformed parameter setting precedes LDAP URL")
			}
			val, s = v, rest
		} else {
			end := strings.IndexAny(s, " \t\n\r")
			if end < 0 {
				end = len(s)
			}
			val, s = s[:end], s[end:]
		}
		if s != "" && !isSpace(s[0]) {
			return nil, fmt.Errorf("malformed parameter setting precedes LDAP URL")
		}
		s = strings.TrimLeft(s, " \t\n\r")
		known := ""
		for _, p := range ldapParams {
			if strings.EqualFold(name, p) {
				known = p
			}
		}
		switch known {
		case "USER=":
			lq.user, lq.hasUser = val, true
		case "PASS=":
			lq.pass, lq.hasPass = val, true
		case "SIZE=":
			lq.size = atoiPrefix(val)
		case "TIME=":
			lq.time = atoiPrefix(val)
		case "CONNECT=", "NETTIME=":
			lq.nettime = atoiPrefix(val)
		case "DEREFERENCE=":
			switch strings.ToLower(val) {
			case "never":
				lq.deref = 0
			case "searching":
				lq.deref = 1
			case "finding":
				lq.deref = 2
			case "always":
				lq.deref = 3
			}
		case "REFERRALS=":
			switch strings.ToLower(val) {
			case "follow":
				lq.noReferrals = false
			case "nofollow":
				lq.noReferrals = true
			default:
				return nil, fmt.Errorf("LDAP option REFERRALS is not \"follow\" or \"nofollow\"")
			}
		case "SERVERS=":
			lq.servers, lq.hasServers = val, true
		default:
			return nil, fmt.Errorf("unknown parameter %q precedes LDAP URL", name)
		}
		if s == "" {
			return nil, fmt.Errorf("malformed parameter setting precedes LDAP URL")
		}
	}
	u, err := parseLDAPURL(s)
	if err != nil {
		return nil, err
	}
	lq.url = u
	return lq, nil
}

// dequoteLDAPValue reads a double-quoted value (after the opening quote)
// with backslash escapes; ok is false when the closing quote is missing.
func dequoteLDAPValue(s string) (val, rest string, ok bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			return b.String(), s[i+1:], true
		case '\\':
			if i+1 >= len(s) {
				return "", "", false
			}
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			default:
				b.WriteByte(s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", "", false
}

// urlParseError is OpenLDAP's URL parser's complaint; Exim's text ends
// with a newline.
type urlParseError struct {
	code int
	url  string
}

func (e urlParseError) Error() string {
	return fmt.Sprintf("ldap_url_parse: (error %d) parsing \"%s\"\n", e.code, e.url)
}

// parseLDAPURL parses an LDAP URL as OpenLDAP's ldap_url_parse does,
// after Exim's check of the scheme.
func parseLDAPURL(s string) (*ldapURL, error) {
	u := &ldapURL{raw: s}
	var rest string
	for _, sch := range []string{"ldap", "ldaps", "ldapi"} {
		if hasPrefixFold(s, sch+"://") {
			u.scheme, rest = sch, s[len(sch)+3:]
		}
	}
	if u.scheme == "" {
		start := s
		if len(start) > 16 {
			start = start[:16]
		}
		return nil, fmt.Errorf("LDAP URL does not start with \"ldap://\", \"ldaps://\", or \"ldapi://\" (it starts with \"%s...\")", start)
	}
	bad := func(code int) error { return urlParseError{code, s} }
	end := strings.IndexAny(rest, "/?")
	if end < 0 {
		end = len(rest)
	}
	hostport := rest[:end]
	rest = rest[end:]
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 && !strings.HasSuffix(hostport, "]") {
		p := hostport[i+1:]
		for _, c := range p {
			if c < '0' || c > '9' {
				return nil, bad(urlErrBadURL)
			}
		}
		if p != "" {
			n, err := strconv.Atoi(p)
			if err != nil || n > 65535 {
				return nil, bad(urlErrBadURL)
			}
			u.port = n
		}
		hostport = hostport[:i]
	}
	u.host = percentDecode(hostport, true)
	rest = strings.TrimPrefix(rest, "/")
	parts := strings.Split(rest, "?")
	if len(parts) > 5 {
		return nil, bad(urlErrBadURL)
	}
	for len(parts) < 5 {
		parts = append(parts, "")
	}
	u.dn = percentDecode(parts[0], true)
	if parts[1] != "" {
		for _, a := range strings.Split(parts[1], ",") {
			u.attrs = append(u.attrs, percentDecode(a, true))
		}
	}
	switch strings.ToLower(parts[2]) {
	case "", "base":
		u.scope = 0
	case "one", "onelevel":
		u.scope = 1
	case "sub", "subtree":
		u.scope = 2
	case "children", "subord", "subordinate":
		u.scope = 3
	default:
		return nil, bad(urlErrBadScope)
	}
	if parts[3] == "" {
		u.filter = "(objectClass=*)"
	} else {
		f := percentDecode(parts[3], false)
		if f == "\x00" {
			return nil, bad(urlErrBadFilter)
		}
		u.filter = f
	}
	return u, nil
}

// percentDecode undoes URL %XX escapes. When lenient, a malformed escape
// is kept as written; otherwise the result is "\x00" to report it.
func percentDecode(s string, lenient bool) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			if i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
				b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
				i += 2
				continue
			}
			if !lenient {
				return "\x00"
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// atoiPrefix reads an optional sign and leading digits, as C's atoi does
// (0 when there are none).
func atoiPrefix(s string) int {
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	n := 0
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if n < 1<<30 {
			n = n*10 + int(s[i]-'0')
		}
	}
	if neg {
		return -n
	}
	return n
}
