package queue

import (
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/spool"
)

// TestTLSHeader checks the -tls_* lines written for a message with and
// without TLS, in the order and taint Exim 4.96 writes them.
func TestTLSHeader(t *testing.T) {
	pem := "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
	for _, c := range []struct {
		name string
		a    Arrival
		want string
	}{
		{"no TLS", Arrival{}, "-tls_resumption A\n"},
		{"TLS", Arrival{TLSCipher: "TLS1.3:X", TLSVer: "TLS1.3", TLSOurCert: pem, TLSResumption: 1},
			"-tls_cipher TLS1.3:X\n-tls_ourcert -----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----\\n\n-tls_resumption B\n-tls_ver TLS1.3\n"},
		{"client certificate", Arrival{TLSCipher: "C", TLSVerified: true, TLSPeerCert: pem, TLSPeerDN: "CN=a", TLSSNI: "s.example", TLSOCSP: 1, TLSVer: "TLS1.2"},
			"-tls_certificate_verified\n-tls_cipher C\n--tls_peercert -----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----\\n\n--tls_peerdn CN=a\n--tls_sni s.example\n-tls_ocsp 1\n-tls_resumption A\n-tls_ver TLS1.2\n"},
	} {
		h := spool.NewHeader("1xWw87-0001m3-1R")
		h.User, h.DeliverFirsttime = "u", false
		h.Recipients = []spool.Recipient{spool.NewRecipient("x@y")}
		tlsHeader(h, &c.a)
		b, err := h.Encode()
		if err != nil {
			t.Fatal(err)
		}
		var got strings.Builder
		for _, l := range strings.SplitAfter(string(b), "\n") {
			if strings.Contains(l, "tls_") {
				got.WriteString(l)
			}
		}
		if got.String() != c.want {
			t.Errorf("%s:\ngot:\n%s\nwant:\n%s", c.name, got.String(), c.want)
		}
	}
}
