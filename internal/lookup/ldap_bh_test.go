package lookup

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// ldapAuthConf is Exim's documented LDAP LOGIN authenticator (chapter
// "The plaintext authenticator", 5) with a PLAIN twin, pointed at the
// test's slapd.
const ldapAuthConf = `ldap_default_servers = 127.0.0.1::%[1]d
begin authenticators
plain:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = ${if and{{!eq{}{$auth2}}{ldapauth{user="uid=${quote_ldap_dn:$auth2},ou=People,dc=example,dc=net" pass=${quote:$auth3} ldap://127.0.0.1:%[1]d/}}}}
  server_set_id = $auth2
login:
  driver = plaintext
  public_name = LOGIN
  server_prompts = Username:: : Password::
  server_condition = ${if and{{!eq{}{$auth1}}{ldapauth{user="uid=${quote_ldap_dn:$auth1},ou=People,dc=example,dc=net" pass=${quote:$auth2} ldap:///}}}}
  server_set_id = $auth1
`

var maskBHDate = regexp.MustCompile(`[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [-+]\d{4}`)

// smtpReplies keeps the SMTP reply lines of a -bh transcript.
func smtpReplies(s string) string {
	var out []string
	for _, l := range strings.Split(maskBHDate.ReplaceAllString(s, "<DATE>"), "\n") {
		if len(l) >= 4 && l[0] >= '2' && l[0] <= '5' && (l[3] == ' ' || l[3] == '-') {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// TestLDAPAuthBH drives SMTP AUTH PLAIN and LOGIN through ldapauth in
// exim -bh and exigo -bh against slapd: a good password gives 235, a bad
// or empty one 535, user names with LDAP-special characters are not an
// injection (535 unless the password of that very entry is given), and a
// stopped slapd gives 435.
func TestLDAPAuthBH(t *testing.T) {
	exim, exigo := oracletest.Exim(t), oracletest.Exigo(t)
	s := startSlapd(t)
	conf := oracletest.WriteConfig(t, fmt.Sprintf(ldapAuthConf, s.Port))
	plain := func(user, pass string) string { return "AUTH PLAIN " + b64("\x00"+user+"\x00"+pass) }
	login := func(user, pass string) string { return "AUTH LOGIN\r\n" + b64(user) + "\r\n" + b64(pass) }
	type tc struct {
		name, auth, want string
	}
	up := []tc{
		{"plain good", plain("alice", "alicepw"), "235 "},
		{"plain ssha good", plain("bob", "sshapass"), "235 "},
		{"plain bad", plain("alice", "wrong"), "535 "},
		{"plain empty password", plain("alice", ""), "535 "},
		{"plain unknown user", plain("nobody", "x"), "535 "},
		{"plain star user", plain("a*b", "starpw"), "235 "},
		{"plain star wildcard", plain("*", "starpw"), "535 "},
		{"plain injection", plain("x)(uid=*", "starpw"), "535 "},
		{"plain injection own password", plain("x)(uid=*", "injpw"), "235 "},
		{"plain comma user", plain("carol, jr", "carolpw"), "235 "},
		{"plain dn injection", plain("alice,ou=People,dc=example,dc=net", "alicepw"), "535 "},
		{"plain empty user", plain("", "alicepw"), "535 "},
		{"login good", login("bob", "sshapass"), "235 "},
		{"login bad", login("bob", "alicepw"), "535 "},
		{"login injection", login("*)(uid=*", "x"), "535 "},
	}
	run := func(c tc) {
		script := "EHLO client.example\r\n" + c.auth + "\r\nQUIT\r\n"
		want := oracletest.Run(t, exim, script, "-C", conf, "-bh", "192.0.2.1")
		got := oracletest.Run(t, exigo, script, "-C", conf, "-bh", "192.0.2.1")
		w, g := smtpReplies(want.Stdout), smtpReplies(got.Stdout)
		if w != g {
			t.Errorf("%s: replies differ\n--- exim\n%s\n--- exigo\n%s", c.name, w, g)
		}
		t.Logf("%s: %s", c.name, strings.ReplaceAll(g, "\n", " | "))
		if !strings.Contains(g, "\n"+c.want) {
			t.Errorf("%s: exigo did not answer %q:\n%s", c.name, c.want, g)
		}
	}
	for _, c := range up {
		run(c)
	}
	s.Stop()
	for _, c := range []tc{
		{"down plain", plain("alice", "alicepw"), "435 "},
		{"down login", login("bob", "sshapass"), "435 "},
		{"down empty password", plain("alice", ""), "535 "},
	} {
		run(c)
	}
}
