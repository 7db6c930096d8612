package dkim

import (
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/message"
)

func TestZoneLineSplits(t *testing.T) {
	rec := "v=DKIM1; k=rsa; p=" + strings.Repeat("A", 400)
	got := ZoneLine("sel", "example.org", rec)
	want := `sel._domainkey.example.org 10799 IN TXT "` + rec[:255] + `" "` + rec[255:] + `"`
	if got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

func TestGenerateKeyRecord(t *testing.T) {
	for _, c := range []struct {
		typ  string
		bits int
		want string
	}{{"rsa", 1024, "v=DKIM1; k=rsa; p=MIGfMA0"}, {"ed25519", 0, "v=DKIM1; k=ed25519; p="}} {
		k, err := GenerateKey(c.typ, c.bits)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := Record(k.Public())
		if err != nil || !strings.HasPrefix(rec, c.want) {
			t.Errorf("%s: %q %v", c.typ, rec, err)
		}
		pemText, err := MarshalPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParsePrivateKey(pemText); err != nil {
			t.Errorf("%s: reparse: %v", c.typ, err)
		}
	}
	if _, err := GenerateKey("rsa", 512); err == nil {
		t.Error("512-bit RSA accepted")
	}
}

func TestKeyDisabledAndStrict(t *testing.T) {
	for _, s := range []string{"", "0", "false"} {
		if !KeyDisabled(s) {
			t.Errorf("KeyDisabled(%q) = false", s)
		}
	}
	if KeyDisabled("/etc/key") || !Strict("true") || !Strict("1") || Strict("yes") {
		t.Error("KeyDisabled/Strict")
	}
}

func TestSignedNames(t *testing.T) {
	hs := message.Headers{{Name: "From"}, {Name: "Subject"}, {Name: "Subject"}}
	for _, c := range []struct{ list, want string }{
		{"=Subject:Subject", "Subject:Subject:Subject"},
		{"Subject:=Subject", "Subject:Subject"},
		{"+Subject:Subject", "Subject:Subject:Subject:Subject"},
		{"Subject:+Subject", "Subject:Subject:Subject"},
		{"=subject:+subject", "Subject:Subject:subject"},
		{"From : Subject", "Subject:From"},
	} {
		if got := strings.Join(signedNames(hs, c.list), ":"); got != c.want {
			t.Errorf("%s: got %s, want %s", c.list, got, c.want)
		}
	}
}

func TestBodyCanon(t *testing.T) {
	for _, c := range []struct {
		canon      Canon
		body, want string
	}{
		{Simple, "", ""},
		{Simple, "\n\n", ""},
		{Relaxed, "", ""},
		{Simple, "a  b \n\n\n", "a  b \r\n"},
		{Relaxed, "a \t b \t\r\n\r\n c", "a b\r\n\r\n c\r\n"},
	} {
		var b strings.Builder
		bc := newBodyCanon(c.canon, &b)
		bc.Write([]byte(c.body))
		bc.Close()
		if b.String() != c.want {
			t.Errorf("%s %q: got %q, want %q", c.canon, c.body, b.String(), c.want)
		}
	}
}
