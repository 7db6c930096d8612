package lookup

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// readLDAPCases reads an expression file of testdata/ldap, substituting
// @S@ (server URL), @H@ (server as a list item), @PORT@ and @P@ (the
// people branch).
func readLDAPCases(t *testing.T, name string, s *slapdServer) []string {
	t.Helper()
	f, err := os.Open("testdata/ldap/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := strings.NewReplacer("@S@", s.URL(), "@H@", fmt.Sprintf("127.0.0.1::%d", s.Port),
		"@PORT@", strconv.Itoa(s.Port), "@P@", "ou=People,dc=example,dc=net")
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, r.Replace(line))
	}
	return out
}

// compareBE runs each expression through exim -be and exigo -be with conf
// and reports differences; it returns the number of cases run.
func compareBE(t *testing.T, conf string, exprs []string) int {
	t.Helper()
	exim, exigo := oracletest.Exim(t), oracletest.Exigo(t)
	for _, e := range exprs {
		want := oracletest.Run(t, exim, "", "-C", conf, "-be", e)
		got := oracletest.Run(t, exigo, "", "-C", conf, "-be", e)
		if got.Stdout != want.Stdout || got.Code != want.Code {
			t.Errorf("%s\nexim  (%d): %q\nexigo (%d): %q", e, want.Code, want.Stdout, got.Code, got.Stdout)
		}
	}
	return len(exprs)
}

// TestLDAPDifferential compares exigo's ldap, ldapm and ldapdn lookups and
// the ldapauth condition with Exim's against a real slapd, with the
// server up, with ldap_start_tls against a server without TLS, and after
// the server has stopped.
func TestLDAPDifferential(t *testing.T) {
	oracletest.Exim(t)
	s := startSlapd(t)
	conf := oracletest.WriteConfig(t, fmt.Sprintf("ldap_default_servers = 127.0.0.1::%d\n", s.Port))
	n := compareBE(t, conf, readLDAPCases(t, "cases.txt", s))

	tlsConf := oracletest.WriteConfig(t, fmt.Sprintf("ldap_default_servers = 127.0.0.1::%d\nldap_start_tls = true\nldap_require_cert = never\n", s.Port))
	n += compareBE(t, tlsConf, []string{
		"${lookup ldap{ldap:///ou=People,dc=example,dc=net?mail?sub?(uid=bob)}}",
		`${if ldapauth{user="uid=bob,ou=People,dc=example,dc=net" pass=sshapass ldap:///}{y}{n}}`,
	})

	s.Stop()
	n += compareBE(t, conf, readLDAPCases(t, "down.txt", s))
	t.Logf("%d expressions compared", n)
}
