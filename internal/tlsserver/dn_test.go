package tlsserver

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"
)

func TestFormatDN(t *testing.T) {
	oid := func(s ...int) asn1.ObjectIdentifier { return asn1.ObjectIdentifier(s) }
	ia5 := func(s string) asn1.RawValue { return asn1.RawValue{Tag: asn1.TagIA5String, Bytes: []byte(s)} }
	tests := []struct {
		name []byte
		want string
	}{
		// Observed: $tls_in_peerdn for a client certificate made with
		// openssl req -subj "/C=DE/ST=Berlin/L=Town, West/O=Exigo/CN=client.test/emailAddress=pm@client.test".
		{rawName(t, []atv{{oid(2, 5, 4, 6), "DE"}}, []atv{{oid(2, 5, 4, 8), "Berlin"}}, []atv{{oid(2, 5, 4, 7), "Town, West"}},
			[]atv{{oid(2, 5, 4, 10), "Exigo"}}, []atv{{oid(2, 5, 4, 3), "client.test"}}, []atv{{oid(1, 2, 840, 113549, 1, 9, 1), ia5("pm@client.test")}}),
			`C=DE,ST=Berlin,L=Town\, West,O=Exigo,CN=client.test,EMAIL=pm@client.test`},
		// Observed: "/CN=self client/DC=example/DC=org/serialNumber=42/UID=joe/title=Dr/street=Main St 1/postalCode=12345".
		{rawName(t, []atv{{oid(2, 5, 4, 3), "self client"}}, []atv{{oid(0, 9, 2342, 19200300, 100, 1, 25), ia5("example")}},
			[]atv{{oid(0, 9, 2342, 19200300, 100, 1, 25), ia5("org")}}, []atv{{oid(2, 5, 4, 5), "42"}},
			[]atv{{oid(0, 9, 2342, 19200300, 100, 1, 1), "joe"}}, []atv{{oid(2, 5, 4, 12), "Dr"}},
			[]atv{{oid(2, 5, 4, 9), "Main St 1"}}, []atv{{oid(2, 5, 4, 17), "12345"}}),
			"CN=self client,DC=example,DC=org,serialNumber=42,UID=joe,title=Dr,street=Main St 1,postalCode=12345"},
		// RFC 4514 escapes and multi-valued RDNs (in DER SET order) (GnuTLS behaviour; also
		// compared with real Exim by TestDifferential).
		{rawName(t, []atv{{oid(2, 5, 4, 10), "A+B"}, {oid(2, 5, 4, 11), "x"}}, []atv{{oid(2, 5, 4, 3), " #lead;<>\"\\ "}}),
			`OU=x+O=A\+B,CN=\ #lead\;\<\>\"\\\ `},
		{rawName(t, []atv{{oid(1, 2, 3, 4), "custom"}}), "1.2.3.4=#1306637573746f6d"},
	}
	for _, tt := range tests {
		if got := FormatDN(tt.name); got != tt.want {
			t.Errorf("FormatDN = %q, want %q", got, tt.want)
		}
	}
	if got := FormatDN([]byte{0x30, 0x05}); got != "" {
		t.Errorf("FormatDN(bad) = %q, want empty", got)
	}
	var empty pkix.RDNSequence
	der, _ := asn1.Marshal(empty)
	if got := FormatDN(der); got != "" {
		t.Errorf("FormatDN(empty) = %q", got)
	}
}
