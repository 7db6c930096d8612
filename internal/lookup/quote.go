package lookup

import (
	"fmt"
	"strings"
)

// Quote applies the quote_<typ> expansion operator (spec 9.9): for sqlite
// a single quote is doubled (spec 9.26); for ldap and ldap_dn the two
// LDAP quotings of spec 9.16 apply; every other known lookup type leaves s
// unchanged, as Exim does ("no effect for single-key lookups"). ok is false
// when typ names no lookup type; the caller then fails with
// `unknown lookup type "<typ>"`, Exim's text.
func Quote(typ, s string) (string, bool) {
	switch typ {
	case "sqlite":
		return strings.ReplaceAll(s, "'", "''"), true
	case "ldap":
		return quoteLDAP(s), true
	case "ldap_dn":
		return quoteLDAPDN(s), true
	case "mysql":
		return quoteBackslash(s, "'\"\n\t\r\b\x00\\"), true
	case "pgsql":
		return quotePgsql(s), true
	}
	if _, ok := typeTable[typ]; ok {
		return s, true
	}
	return "", false
}

// ldapURLSafe are the characters the URL step of LDAP quoting leaves alone
// besides letters and digits (spec 9.16).
const ldapURLSafe = "!$'-._()*+"

func urlQuote(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(ldapURLSafe, c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// quoteLDAP: *, (, ), \ become \2A, \28, \29, \5C (RFC 2254), then URL
// quoting.
func quoteLDAP(s string) string {
	r := strings.NewReplacer(`*`, `\2A`, `(`, `\28`, `)`, `\29`, `\`, `\5C`)
	return urlQuote(r.Replace(s))
}

// quoteLDAPDN: a backslash before , + " \ < > ; and before leading spaces
// or "#" and trailing spaces (RFC 2253), then URL quoting.
func quoteLDAPDN(s string) string {
	var b strings.Builder
	lead := true
	trail := len(strings.TrimRight(s, " "))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case strings.IndexByte(`,+"\<>;`, c) >= 0:
			b.WriteByte('\\')
		case lead && (c == ' ' || c == '#'):
			b.WriteByte('\\')
		case i >= trail && c == ' ':
			b.WriteByte('\\')
		}
		if c != ' ' && c != '#' {
			lead = false
		}
		b.WriteByte(c)
	}
	return urlQuote(b.String())
}

func quoteBackslash(s, special string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if strings.IndexByte(special, c) >= 0 {
			b.WriteByte('\\')
			switch c {
			case '\n':
				c = 'n'
			case '\t':
				c = 't'
			case '\r':
				c = 'r'
			case '\b':
				c = 'b'
			case 0:
				c = '0'
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

func quotePgsql(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\'':
			b.WriteString("''")
			continue
		case '\\', '"':
			b.WriteByte('\\')
		case '\n':
			b.WriteString(`\n`)
			continue
		case '\t':
			b.WriteString(`\t`)
			continue
		case '\r':
			b.WriteString(`\r`)
			continue
		case '\b':
			b.WriteString(`\b`)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
