package lookup

import (
	"errors"
	"fmt"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// ldap runs an ldap, ldapm or ldapdn lookup (spec 9.14-9.19). The query is
// an LDAP URL, optionally preceded by settings (USER=, PASS=, SIZE=,
// TIME=, NETTIME=/CONNECT=, DEREFERENCE=, REFERRALS=, SERVERS=). The
// servers are tried in turn until one answers; connection and bind
// failures move on to the next, and the last failure is a DEFER. Every
// other failure (a bad URL, a bad filter, more than one entry for ldap or
// ldapdn) is a DEFER at once.
func (r *Registry) ldap(typ, q string) (string, bool, error) {
	// Exim names the query without its leading white space.
	key := strings.TrimLeft(q, " \t\n\r")
	deferr := func(err error) error { return &DeferError{Key: key, Msg: err.Error()} }
	lq, err := parseLDAPQuery(q)
	if err != nil {
		return "", false, deferr(err)
	}
	servers, err := r.ldapServers(lq)
	if err != nil {
		return "", false, deferr(err)
	}
	user := percentDecode(lq.user, true)
	r.ldapMu.Lock()
	defer r.ldapMu.Unlock()
	var last error
	for _, srv := range servers {
		r.debugf("perform_ldap_search: ldap URL = %q server=%s", q, srv)
		c, err := r.ldapCached(srv, lq, user, lq.pass)
		if err != nil {
			r.debugf("%v", err)
			last = err
			continue
		}
		v, found, err := r.ldapSearch(c, typ, lq)
		if err != nil {
			var ne netError
			if errors.As(err, &ne) {
				r.ldapDrop(srv)
			}
			return "", false, deferr(err)
		}
		return v, found, nil
	}
	return "", false, deferr(last)
}

// netError marks a search that failed because the connection broke.
type netError struct{ error }

// ldapSearch performs the search on a bound connection and formats the
// result (spec 9.19).
func (r *Registry) ldapSearch(c *ldap.Conn, typ string, lq *ldapQuery) (string, bool, error) {
	u := lq.url
	if lq.size < 0 {
		return "", false, fmt.Errorf("LDAP search failed - error 2: Protocol error/invalid size limit")
	}
	filter := u.filter
	if !strings.HasPrefix(filter, "(") {
		filter = "(" + filter + ")"
	}
	if _, err := ldap.CompileFilter(filter); err != nil {
		return "", false, fmt.Errorf("ldap_search failed: -7, Bad search filter")
	}
	tl := lq.time
	if tl < 0 {
		tl = 0
	}
	req := ldap.NewSearchRequest(u.dn, u.scope, lq.deref, lq.size, tl, false, filter, u.attrs, nil)
	res, err := c.Search(req)
	if err != nil {
		code, text := ldapErrCode(err)
		switch code {
		case ldap.LDAPResultSizeLimitExceeded, ldap.LDAPResultTimeLimitExceeded:
			// The entries received so far are the answer.
		case ldap.LDAPResultNoSuchObject, ldap.LDAPResultInvalidDNSyntax:
			r.debugf("LDAP search: %d %s", code, text)
			return "", false, nil
		case -1:
			return "", false, netError{fmt.Errorf("LDAP search failed - error -1: %s", text)}
		default:
			return "", false, fmt.Errorf("LDAP search failed - error %d: %s", code, text)
		}
		if res == nil {
			return "", false, nil
		}
	}
	n := len(res.Entries)
	if n > 1 && typ != "ldapm" {
		return "", false, fmt.Errorf("LDAP search: more than one entry (%d) was returned (filter not specific enough?)", n)
	}
	if typ == "ldapdn" {
		if n == 0 {
			return "", false, nil
		}
		return res.Entries[0].DN, true, nil
	}
	return formatLDAPEntries(res.Entries, len(u.attrs) == 1)
}

// formatLDAPEntries renders entries as Exim does (spec 9.19). With one
// attribute requested, the values of every attribute returned are joined
// by commas, commas inside values doubled. Otherwise each attribute is
// `name="values"` (separated by spaces) with ", \ and newline escaped by
// backslashes inside the quotes. Each entry after data has been produced
// starts a new line, even an entry with no attributes. found is false
// when no attribute value came back at all.
func formatLDAPEntries(entries []*ldap.Entry, single bool) (string, bool, error) {
	var b strings.Builder
	found := false
	for _, e := range entries {
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		entryData := false
		for _, a := range e.Attributes {
			if single {
				for _, v := range a.Values {
					if entryData {
						b.WriteByte(',')
					}
					b.WriteString(strings.ReplaceAll(v, ",", ",,"))
					entryData, found = true, true
				}
				continue
			}
			if entryData {
				b.WriteByte(' ')
			}
			b.WriteString(a.Name)
			b.WriteString(`="`)
			for i, v := range a.Values {
				if i > 0 {
					b.WriteByte(',')
				}
				for j := 0; j < len(v); j++ {
					switch v[j] {
					case '"', '\\':
						b.WriteByte('\\')
						b.WriteByte(v[j])
					case '\n':
						b.WriteString(`\n`)
					case ',':
						b.WriteString(",,")
					default:
						b.WriteByte(v[j])
					}
				}
			}
			b.WriteByte('"')
			entryData, found = true, true
		}
	}
	if !found {
		return "", false, nil
	}
	return b.String(), true, nil
}

// LDAPAuth performs the ldapauth expansion condition (spec "String
// expansions", ldapauth; 9.18): it binds to the server with the USER=
// (URL-decoded) and PASS= of query; the rest of the URL only chooses the
// server. It is false for an empty password (without asking the server)
// and when the server rejects the credentials; a missing USER= or PASS=,
// a malformed query and a server that cannot be reached or fails
// otherwise are errors (which defer an SMTP AUTH: 435).
func (r *Registry) LDAPAuth(query string) (bool, error) {
	lq, err := parseLDAPQuery(query)
	if err != nil {
		return false, err
	}
	if !lq.hasUser || !lq.hasPass {
		return false, fmt.Errorf("ldapauth lookups must specify the username and password")
	}
	if lq.pass == "" {
		r.debugf("Auth denied by LDAP: empty password")
		return false, nil
	}
	servers, err := r.ldapServers(lq)
	if err != nil {
		return false, err
	}
	user := percentDecode(lq.user, true)
	var last error
	for _, srv := range servers {
		c, invalid, err := r.ldapConnect(srv, lq, user, lq.pass)
		if invalid {
			r.debugf("%v", err)
			return false, nil
		}
		if err != nil {
			last = err
			continue
		}
		c.Close()
		return true, nil
	}
	return false, last
}
