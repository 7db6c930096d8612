package lookup

import (
	"testing"

	"github.com/go-ldap/ldap/v3"
)

func TestParseLDAPQuery(t *testing.T) {
	tests := []struct {
		q, err            string
		user, pass, dn    string
		filter            string
		scope, size, attr int
	}{
		{q: `user="cn=a b" pass=x size=3 ldap://h:1/o=x?mail?sub?(a=b)`, user: "cn=a b", pass: "x", dn: "o=x", filter: "(a=b)", scope: 2, size: 3, attr: 1},
		{q: `ldap:///`, filter: "(objectClass=*)"},
		{q: `LDAP://h/o=%41?a,b??`, dn: "o=A", filter: "(objectClass=*)", attr: 2},
		{q: `bogus`, err: "malformed parameter setting precedes LDAP URL"},
		{q: `x=1 ldap:///`, err: `unknown parameter "x=" precedes LDAP URL`},
		{q: `referrals=no ldap:///`, err: `LDAP option REFERRALS is not "follow" or "nofollow"`},
		{q: `ldap://h/?a?bad`, err: "ldap_url_parse: (error 8) parsing \"ldap://h/?a?bad\"\n"},
		{q: `ldap://h/?a?sub?(a=%zz)`, err: "ldap_url_parse: (error 9) parsing \"ldap://h/?a?sub?(a=%zz)\"\n"},
		{q: `ldapx://h/`, err: `LDAP URL does not start with "ldap://", "ldaps://", or "ldapi://" (it starts with "ldapx://h/...")`},
	}
	for _, tt := range tests {
		lq, err := parseLDAPQuery(tt.q)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("%q: error %v, want %q", tt.q, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.q, err)
			continue
		}
		u := lq.url
		if lq.user != tt.user || lq.pass != tt.pass || u.dn != tt.dn || u.filter != tt.filter || u.scope != tt.scope || lq.size != tt.size || len(u.attrs) != tt.attr {
			t.Errorf("%q: got %+v %+v", tt.q, lq, u)
		}
	}
}

func TestFormatLDAPEntries(t *testing.T) {
	e := func(attrs ...*ldap.EntryAttribute) *ldap.Entry { return &ldap.Entry{DN: "x", Attributes: attrs} }
	a := func(n string, v ...string) *ldap.EntryAttribute { return &ldap.EntryAttribute{Name: n, Values: v} }
	v, ok, _ := formatLDAPEntries([]*ldap.Entry{e(a("cn", "A, B", "C"))}, true)
	if !ok || v != "A,, B,C" {
		t.Errorf("single: %q %v", v, ok)
	}
	v, ok, _ = formatLDAPEntries([]*ldap.Entry{e(a("cn", "a\"b\\c\nd"), a("sn", "x,y"))}, false)
	if !ok || v != `cn="a\"b\\c\nd" sn="x,,y"` {
		t.Errorf("multi: %q %v", v, ok)
	}
	v, ok, _ = formatLDAPEntries([]*ldap.Entry{e(), e(a("d", "1")), e()}, true)
	if !ok || v != "1\n" {
		t.Errorf("entries: %q %v", v, ok)
	}
	if _, ok, _ = formatLDAPEntries([]*ldap.Entry{e(), e()}, true); ok {
		t.Error("entries without attributes found")
	}
}

func FuzzParseLDAPQuery(f *testing.F) {
	for _, s := range []string{`user="a\"b" pass=x ldap://h:1/o=x?a,b?sub?(a=b)?e`, `ldapi://%2Ftmp%2Fs/`, `size=-1 ldap:///`, `x`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		lq, err := parseLDAPQuery(q)
		if err == nil && lq.url == nil {
			t.Fatal("no URL and no error")
		}
	})
}
