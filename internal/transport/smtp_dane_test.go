package transport

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/dns"
	"github.com/exigo-mta/exigo/internal/dns/dnstest"
)

func TestParseTLSA(t *testing.T) {
	h32 := strings.Repeat("ab", 32)
	h64 := strings.Repeat("cd", 64)
	cases := []struct {
		u, s, m uint8
		data    string
		ok      bool
	}{
		{3, 1, 1, h32, true},
		{2, 0, 1, h32, true},
		{3, 0, 2, h64, true},
		{3, 1, 0, "3059", true},
		{0, 1, 1, h32, false}, // PKIX-TA: not for SMTP
		{1, 1, 1, h32, false}, // PKIX-EE
		{3, 2, 1, h32, false}, // unknown selector
		{3, 1, 3, h32, false}, // unknown matching type
		{3, 1, 1, h64, false}, // wrong length for SHA2-256
		{3, 1, 2, h32, false}, // wrong length for SHA2-512
		{3, 1, 1, "zz", false},
		{3, 1, 0, "", false},
	}
	for _, c := range cases {
		_, ok := parseTLSA(c.u, c.s, c.m, c.data)
		if ok != c.ok {
			t.Errorf("%d %d %d %s: ok=%v, want %v", c.u, c.s, c.m, c.data, ok, c.ok)
		}
	}
}

func rec(t *testing.T, u, s, m uint8, data string) tlsaRecord {
	r, ok := parseTLSA(u, s, m, data)
	if !ok {
		t.Fatalf("record %d %d %d %s unusable", u, s, m, data)
	}
	return r
}

func TestDANEVerify(t *testing.T) {
	pki := newTestPKI(t)
	good := []*x509.Certificate{pki.good.Leaf, pki.ca1}
	wrongName := []*x509.Certificate{pki.wrongName.Leaf, pki.ca1}
	byCA2 := []*x509.Certificate{pki.byCA2.Leaf, pki.ca2}
	leafOnly := []*x509.Certificate{pki.good.Leaf}
	spki := sha256hex(pki.good.Leaf.RawSubjectPublicKeyInfo)
	now := time.Now()
	cases := []struct {
		name  string
		recs  []tlsaRecord
		chain []*x509.Certificate
		want  error
	}{
		{"ee 3 1 1", []tlsaRecord{rec(t, 3, 1, 1, spki)}, good, nil},
		{"ee 3 0 1", []tlsaRecord{rec(t, 3, 0, 1, sha256hex(pki.good.Leaf.Raw))}, good, nil},
		{"ee 3 1 2", []tlsaRecord{rec(t, 3, 1, 2, sha512hex(pki.good.Leaf.RawSubjectPublicKeyInfo))}, good, nil},
		{"ee 3 0 0", []tlsaRecord{rec(t, 3, 0, 0, hex.EncodeToString(pki.good.Leaf.Raw))}, good, nil},
		{"ee ignores name", []tlsaRecord{rec(t, 3, 1, 1, sha256hex(pki.wrongName.Leaf.RawSubjectPublicKeyInfo))}, wrongName, nil},
		{"ee far future", []tlsaRecord{rec(t, 3, 1, 1, spki)}, good, nil},
		{"ee mismatch", []tlsaRecord{rec(t, 3, 1, 1, sha256hex(pki.byCA2.Leaf.RawSubjectPublicKeyInfo))}, good, errDANEDiffers},
		{"ta 2 0 1", []tlsaRecord{rec(t, 2, 0, 1, sha256hex(pki.ca1.Raw))}, good, nil},
		{"ta 2 1 1", []tlsaRecord{rec(t, 2, 1, 1, sha256hex(pki.ca1.RawSubjectPublicKeyInfo))}, good, nil},
		{"ta wrong ca", []tlsaRecord{rec(t, 2, 0, 1, sha256hex(pki.ca1.Raw))}, byCA2, errDANECA},
		{"ta not sent", []tlsaRecord{rec(t, 2, 0, 1, sha256hex(pki.ca1.Raw))}, leafOnly, errDANECA},
		{"ta name mismatch", []tlsaRecord{rec(t, 2, 0, 1, sha256hex(pki.ca1.Raw))}, wrongName, errDANEBadName},
		{"mixed, ta matches", []tlsaRecord{rec(t, 3, 1, 1, strings.Repeat("00", 32)), rec(t, 2, 0, 1, sha256hex(pki.ca1.Raw))}, good, nil},
		{"mixed mismatch", []tlsaRecord{rec(t, 3, 1, 1, strings.Repeat("00", 32)), rec(t, 2, 0, 1, sha256hex(pki.ca2.Raw))}, good, errDANECA},
		{"no chain", []tlsaRecord{rec(t, 3, 1, 1, spki)}, nil, errDANEDiffers},
	}
	for _, c := range cases {
		when := now
		if c.name == "ee far future" {
			when = now.Add(10 * 365 * 24 * time.Hour) // DANE-EE ignores dates
		}
		if got := daneVerify(c.recs, c.chain, "mx.dane.example", when); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

// TestDANEFor covers the decisions taken before connecting, for each
// kind of DNS answer (spec section "DANE"); the differential test covers
// the same against Exim.
func TestDANEFor(t *testing.T) {
	srv := dnstest.Start(t, "127.0.0.1:0", "_25._tcp.mx.a.example. TLSA 3 1 1 "+strings.Repeat("ab", 32)+"\n"+
		"_25._tcp.bad.a.example. TLSA 1 1 1 "+strings.Repeat("ab", 32)+"\nx.a.example. A 192.0.2.1\n")
	srv.SetAD(true)
	srv.ServFail("_25._tcp.fail.a.example")
	srv.SetInsecure("_25._tcp.insecure.a.example")
	res := dns.New(srv.Addr)
	res.Timeout, res.Retries = time.Second, 1
	cases := []struct {
		opts   string
		host   string
		secure bool
		on     bool
		err    string
	}{
		{"hosts_require_dane = *", "mx.a.example", true, true, ""},
		{"hosts_require_dane = *", "mx.a.example", false, false, "F:mx.a.example lookup not DNSSEC"},
		{"hosts_try_dane = *", "mx.a.example", false, false, ""},
		{"hosts_try_dane =", "mx.a.example", true, false, ""},
		{"hosts_require_dane = *", "none.a.example", true, false, "F:tlsa lookup FAIL"},
		{"hosts_try_dane = *", "none.a.example", true, false, ""},
		{"hosts_try_dane = *", "fail.a.example", true, false, "D:tlsa lookup DEFER"},
		{"hosts_require_dane = *", "bad.a.example", true, false, "F:tlsa lookup FAIL"},
		{"hosts_try_dane = *", "bad.a.example", true, false, ""},
	}
	for _, c := range cases {
		tr := newTransport(t, smtpConf+"  "+c.opts+"\n", "t").(*smtpTransport)
		d := &Delivery{Resolver: res}
		e := tr.newEnv(d)
		st, derr := tr.daneFor(context.Background(), e, d, Host{Name: c.host, Addr: "192.0.2.1", DNSSEC: c.secure}, 25, func(string) {})
		got := ""
		if derr != nil {
			got = map[Status]string{Fail: "F:", Defer: "D:"}[derr.status] + derr.text
		}
		if got != c.err || (st != nil && st.on) != c.on {
			t.Errorf("%s %s secure=%v: got %q on=%v, want %q on=%v", c.opts, c.host, c.secure, got, st != nil && st.on, c.err, c.on)
		}
	}
}

// FuzzTLSA feeds arbitrary TLSA fields and certificate bytes through
// the record parser and the matcher; neither may panic, and a record
// built from a certificate must match it.
func FuzzTLSA(f *testing.F) {
	f.Add(uint8(3), uint8(1), uint8(1), strings.Repeat("ab", 32), []byte{0x30, 0x03, 0x02, 0x01, 0x01})
	f.Add(uint8(2), uint8(0), uint8(0), "3003020101", []byte{0x30, 0x03, 0x02, 0x01, 0x01})
	f.Add(uint8(3), uint8(0), uint8(2), "", []byte{})
	f.Fuzz(func(t *testing.T, u, s, m uint8, data string, der []byte) {
		r, ok := parseTLSA(u, s, m, data)
		cert, err := x509.ParseCertificate(der)
		parsed := err == nil
		if !parsed {
			cert = &x509.Certificate{Raw: der, RawSubjectPublicKeyInfo: der}
		}
		if ok {
			r.matches(cert)
			if parsed {
				// The TLS stack hands over parsed certificates only.
				daneVerify([]tlsaRecord{r}, []*x509.Certificate{cert, cert}, "mx.example", time.Now())
			}
		}
		// Exact match of the whole certificate always matches.
		if len(der) > 0 {
			e, ok := parseTLSA(3, 0, 0, hex.EncodeToString(der))
			if !ok || !e.matches(cert) {
				t.Fatalf("3 0 0 of the certificate itself does not match")
			}
		}
	})
}
