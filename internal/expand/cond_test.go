package expand

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestUnixCrypt(t *testing.T) {
	// Values from glibc's crypt(3).
	for _, c := range []struct{ key, want string }{
		{"", "abmF1QH4PEr.E"},
		{"a", "./xT2u5QYaHcU"},
		{"password", "zzXUHfURnGg8I"},
		{"longpassword123", "Q9o/habKy9MhE"},
		{"test", "abgOeLfPimXQo"},
		{"x", "$1$$LP5.V3ajGqHDdXW6XwZQy."},
		{"secret", "$1$12345678$hj0uLpdidjPhbMMZeno8X/"},
		{"hello world", "$5$rounds=1000$abc$RiBwoSyzSFJDvN9y0Cqv4TxvBD4ljEpZvVsciEF7T36"},
		{"hello", "$6$0123456789abcdef$SDn0S8xANvSBIdF7l0w.l5t3eKUkjSaoo.F9V4F.uVsqovfKZGm7CRy6TMtqAO7W.Y44N.0sOkNjF4qjtlGkc0"},
		{"", "$6$s$.ZBEl9liET9mKM6jGxl//vp8wOnIJwfkp.7sG2Ahu2q68bf4LasDRE6k5T5NPzLqBFx3oUbMl6xWpBsFfgm6.."},
	} {
		got, ok := unixCrypt(c.key, c.want)
		if !ok || got != c.want {
			t.Errorf("unixCrypt(%q, %q) = %q, %v", c.key, c.want, got, ok)
		}
	}
	for _, setting := range []string{"", "a", "!!", "*", "$y$j9T$salt$hash", "_abc"} {
		if got, ok := unixCrypt("x", setting); ok {
			t.Errorf("unixCrypt(x, %q) = %q, want failure", setting, got)
		}
	}
}

func TestConditionNumber(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		err  string
	}{
		{"", 0, ""},
		{"  ", 0, ""},
		{"12", 12, ""},
		{" -3 ", -3, ""},
		{"+4", 4, ""},
		{"2k", 2048, ""},
		{"1M", 1 << 20, ""},
		{"-1g", -(1 << 30), ""},
		{"-9223372036854775808", -9223372036854775808, ""},
		{"9223372036854775808", 0, `absolute value of integer "9223372036854775808" is too large (overflow)`},
		{"8589934592G", 0, `absolute value of integer "8589934592G" is too large (overflow)`},
		{" x", 0, `integer expected but "x" found`},
		{"1x", 0, `invalid integer "1x"`},
		{"1 K", 0, `invalid integer "1 K"`},
	} {
		got, err := conditionNumber(c.in)
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if got != c.want || msg != c.err {
			t.Errorf("conditionNumber(%q) = %d, %q; want %d, %q", c.in, got, msg, c.want, c.err)
		}
	}
}

func TestSRSDecode(t *testing.T) {
	// Day 20784 since the epoch is "jq"; the hash of user@example.com
	// with secret "secret" starts b3d4.
	now := time.Unix(20784*86400+3600, 0)
	for _, c := range []struct {
		lp, secret, want string
		ok               bool
	}{
		{"SRS0=b3d4=jq=example.com=user", "secret", "user@example.com", true},
		{"srs0=b3d4=jq=Example.COM=User", "secret", "user@example.com", true},
		{"SRS0=b3d4=jg=example.com=user", "secret", "user@example.com", true},
		{"SRS0=b3d4=jf=example.com=user", "secret", "", false},
		{"SRS0=b3d4=jr=example.com=user", "secret", "", false},
		{"SRS0=B3D4=jq=example.com=user", "secret", "", false},
		{"SRS0=b3d4=JQ=example.com=user", "secret", "", false},
		{"SRS0=b3d4=jq=example.com=user", "other", "", false},
		{"SRS0=xxxx=AB=example.com=us=er", "", "us=er@example.com", true},
		{"SRS1=xxxx=AB=example.com=user", "", "", false},
		{"user", "", "", false},
	} {
		got, ok := srsDecode(c.lp, c.secret, now)
		if got != c.want || ok != c.ok {
			t.Errorf("srsDecode(%q, %q) = %q, %v; want %q, %v", c.lp, c.secret, got, ok, c.want, c.ok)
		}
	}
}

func TestJSONItems(t *testing.T) {
	for _, c := range []struct {
		in     string
		dewrap bool
		want   string
		err    string
	}{
		{`[1, 2 ,3]`, false, "1|2 |3", ""},
		{` [ {"a": [1,2]}, [3,4] ] x`, false, `{"a": [1,2]}|[3,4] `, ""},
		{`["a,b"]`, false, `"a|b"`, ""},
		{`[1,,2]`, false, "1", ""},
		{`[]`, false, "", ""},
		{`[ "a" , "b\"c" ]`, true, `a|b\"c`, ""},
		{`[1]`, true, "", `missing '"' wrapping string result for extract jsons`},
		{`abc`, false, "", `missing '[' wrapping array for extract json`},
		{`[1`, false, "", `missing ']' wrapping array for extract json`},
	} {
		var got []string
		err := jsonItems(c.dewrap)(c.in, func(s string) (bool, error) {
			got = append(got, s)
			return false, nil
		})
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if msg != c.err || c.err == "" && strings.Join(got, "|") != c.want {
			t.Errorf("jsonItems(%v)(%q) = %q, %q; want %q, %q", c.dewrap, c.in, got, msg, c.want, c.err)
		}
	}
}

func TestCondHooks(t *testing.T) {
	var gotName string
	var gotArgs []string
	ctx := &Context{Conds: CondHooks{
		PAM:           func(data string) (bool, error) { return data == "u:p", nil },
		LDAPAuth:      func(q string) (bool, error) { return false, errors.New("ldap down") },
		FirstDelivery: true,
	}}
	ctx.ACL = func(name string, args []string) (ACLVerdict, string, error) {
		gotName, gotArgs = name, args
		switch name {
		case "ok":
			return ACLAccept, "welcome", nil
		case "no":
			return ACLDeny, "", nil
		case "later":
			return ACLDefer, "", nil
		}
		return ACLError, "", nil
	}
	for _, c := range []struct{ in, want, err string }{
		{"${if acl{{ok}{a}{b}}{yes $value}{no}}", "yes welcome", ""},
		{"${if acl{{no}}{yes}{no}}", "no", ""},
		{"${if acl{{later}}{yes}{no}}", "", `DEFER from acl "later"`},
		{"${if acl{{bad}}{yes}{no}}", "", `ERROR from acl "bad"`},
		{"${if pam{u:p}{yes}{no}}", "yes", ""},
		{"${if pam{u:x}{yes}{no}}", "no", ""},
		{"${if ldapauth{q}{yes}{no}}", "", "ldap down"},
		{"${if first_delivery{yes}{no}}", "yes", ""},
		{"${if queue_running{yes}{no}}", "no", ""},
	} {
		got, err := String(c.in, ctx)
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if got != c.want || msg != c.err {
			t.Errorf("%s = %q, %q; want %q, %q", c.in, got, msg, c.want, c.err)
		}
	}
	if gotName != "bad" || len(gotArgs) != 0 {
		t.Errorf("ACL hook got %q %q", gotName, gotArgs)
	}
	if _, err := String("${if acl{{later}}}", ctx); !IsForced(err) {
		t.Errorf("ACL defer: %v is not a forced failure", err)
	}
}

func TestListsWithoutMatcher(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"${if match_domain{A.B}{x:a.b}{$value}{no}}", "a.b"},
		{"${if match_local_part{Root}{root}{yes}{no}}", "no"},
		{"${if match_address{a@B.C}{a@b.c}{yes}{no}}", "yes"},
		{"${if inlisti{B}{a:b}{$value}{no}}", "b"},
	} {
		got, err := String(c.in, nil)
		if err != nil || got != c.want {
			t.Errorf("%s = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}
