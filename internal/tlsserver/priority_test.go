package tlsserver

import (
	"crypto/tls"
	"slices"
	"strings"
	"testing"
)

// The error texts were observed by starting Exim 4.96 (GnuTLS 3.7.9) as a
// daemon with each tls_require_ciphers value: a bad string stops the
// daemon with "Exim configuration error:\n  tls_require_ciphers invalid:
// <text>" in the paniclog; a good one lets it start.
func TestParsePriorityErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"BOGUS:STUFF", `gnutls_priority_init(BOGUS:STUFF) failed at offset 0, "BOGUS:ST.." failed: The request is invalid.`},
		{"NORMAL:BOGUS", `gnutls_priority_init(NORMAL:BOGUS) failed at offset 7, "BOGUS.." failed: The request is invalid.`},
		{"NORMAL:-VERS-TLS1.0:+FOO", `gnutls_priority_init(NORMAL:-VERS-TLS1.0:+FOO) failed at offset 20, "+FOO.." failed: The request is invalid.`},
		{"NORMAL:%BOGUS", `gnutls_priority_init(NORMAL:%BOGUS) failed at offset 7, "%BOGUS.." failed: The request is invalid.`},
		{"NORMAL:+AES-128-GCMX:-VERS-TLS1.0", `gnutls_priority_init(NORMAL:+AES-128-GCMX:-VERS-TLS1.0) failed at offset 7, "+AES-128.." failed: The request is invalid.`},
		{"NONE", `gnutls_priority_init(NONE) failed at offset 0, "NONE.." failed: No or insufficient priorities were set.`},
		{"NORMAL:-VERS-ALL", `gnutls_priority_init(NORMAL:-VERS-ALL) failed at offset 0, "NORMAL:-.." failed: No or insufficient priorities were set.`},
		{"NORMAL::-AES-128-GCM", `gnutls_priority_init(NORMAL::-AES-128-GCM) failed at offset 7, ":-AES-12.." failed: The request is invalid.`},
		{"NORMAL,-VERS-TLS1.0", `gnutls_priority_init(NORMAL,-VERS-TLS1.0) failed at offset 0, "NORMAL,-.." failed: The request is invalid.`},
		{"@SYSTEM", `gnutls_priority_init(@SYSTEM) failed at offset 0, "@SYSTEM.." failed: The request is invalid.`},
		{"SYSTEM", `gnutls_priority_init(SYSTEM) failed at offset 0, "SYSTEM.." failed: The request is invalid.`},
		{"NORMAL:-VERS-TLS1.0:-VERS-TLS1.1:-VERS-TLS1.2:BOGUSABCDEFGHIJ", `gnutls_priority_init(NORMAL:-VERS-TLS1.0:-VERS-TLS1.1:-VERS-TLS1.2:BOGUSABCDEFGHIJ) failed at offset 46, "BOGUSABC.." failed: The request is invalid.`},
		{"NORMAL :-VERS-TLS1.0", `gnutls_priority_init(NORMAL :-VERS-TLS1.0) failed at offset 0, "NORMAL :.." failed: The request is invalid.`},
		{"NORMAL:-VERS-TLS1.0:", `gnutls_priority_init(NORMAL:-VERS-TLS1.0:) failed at offset 20, ".." failed: The request is invalid.`},
		{"-VERS-TLS1.0", `gnutls_priority_init(-VERS-TLS1.0) failed at offset 0, "-VERS-TL.." failed: No or insufficient priorities were set.`},
		{"VERS-TLS1.2", `gnutls_priority_init(VERS-TLS1.2) failed at offset 0, "VERS-TLS.." failed: The request is invalid.`},
		{"NONE:+VERS-TLS1.2", `gnutls_priority_init(NONE:+VERS-TLS1.2) failed at offset 0, "NONE:+VE.." failed: No or insufficient priorities were set.`},
		{"NORMAL:+GROUP-FOO", `gnutls_priority_init(NORMAL:+GROUP-FOO) failed at offset 7, "+GROUP-F.." failed: The request is invalid.`},
		{"NORMAL:-CIPHER-ALL", `gnutls_priority_init(NORMAL:-CIPHER-ALL) failed at offset 0, "NORMAL:-.." failed: No or insufficient priorities were set.`},
		{"NORMAL:-MAC-ALL", `gnutls_priority_init(NORMAL:-MAC-ALL) failed at offset 0, "NORMAL:-.." failed: No or insufficient priorities were set.`},
	}
	insufficient := []string{
		"NONE:+VERS-TLS1.2:+AES-128-GCM:+ECDHE-RSA:+AEAD",
		"NONE:+VERS-TLS1.2:+AES-128-GCM:+ECDHE-RSA",
		"NONE:+VERS-TLS1.3:+AES-128-GCM:+AEAD:+GROUP-X25519",
		"NONE:+VERS-TLS1.2:+AES-128-CBC:+RSA:+SHA1:+COMP-NULL",
		"NONE:+VERS-TLS1.2:+AES-128-CBC:+RSA:+SHA1:+CTYPE-X509",
		"NONE:+VERS-TLS1.2:+AES-128-GCM:+RSA:+SHA1:+SIGN-ALL",
		"NONE:+AES-128-GCM:+RSA:+AEAD:+SIGN-ALL",
	}
	for _, in := range insufficient {
		tests = append(tests, struct{ in, want string }{in, `gnutls_priority_init(` + in + `) failed at offset 0, "` + in[:8] + `.." failed: No or insufficient priorities were set.`})
	}
	for _, tt := range tests {
		_, err := ParsePriority(tt.in)
		if err == nil {
			t.Errorf("ParsePriority(%q) succeeded, want %s", tt.in, tt.want)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("ParsePriority(%q):\n got %s\nwant %s", tt.in, err, tt.want)
		}
	}
}

func TestParsePriorityValid(t *testing.T) {
	// Each of these let the Exim daemon start.
	for _, in := range []string{
		"SECURE256", "NORMAL:!AES-128-GCM", "normal", "NORMAL:+CIPHER-ALL:%SERVER_PRECEDENCE",
		"NORMAL: -VERS-TLS1.0", " NORMAL", "NORMAL:+ARCFOUR-128", "NORMAL:-vers-tls1.0",
		"NONE:+VERS-TLS1.2:+AES-128-GCM:+ECDHE-RSA:+AEAD:+SIGN-ALL:+GROUP-ALL:+COMP-NULL:+CTYPE-X509",
		"SECURE128:-VERS-SSL3.0:%LATEST_RECORD_VERSION", "NORMAL:%COMPAT", "PFS:-VERS-TLS1.3",
		"NORMAL:+3DES-CBC", "NORMAL:-RSA", "NORMAL:-CURVE-ALL:+CURVE-SECP256R1", "NORMAL:%PROFILE_HIGH",
		"NORMAL:+SHA1:-MD5", "LEGACY", "PERFORMANCE", "SUITEB128", "NORMAL:-VERS-TLS-ALL:+VERS-TLS1.2",
		"NORMAL:-KX-ALL", "NORMAL:-GROUP-ALL", "NORMAL:-SIGN-ALL",
		"NONE:+VERS-TLS1.2:+AES-128-CBC:+RSA:+SHA1:+SIGN-ALL",
		"NONE:+VERS-TLS1.3:+AES-128-GCM:+AEAD:+GROUP-X25519:+SIGN-ALL",
		"NONE:+VERS-TLS1.3:+AES-128-GCM:+AEAD:+SIGN-ALL", "NONE:+VERS-TLS1.2:+AES-128-GCM:+AEAD:+SIGN-ALL",
	} {
		if _, err := ParsePriority(in); err != nil {
			t.Errorf("ParsePriority(%q): %v", in, err)
		}
	}
}

func TestPriorityMapping(t *testing.T) {
	p, err := ParsePriority("NORMAL")
	if err != nil {
		t.Fatal(err)
	}
	if p.MinVersion() != tls.VersionTLS10 || p.MaxVersion() != tls.VersionTLS13 {
		t.Errorf("NORMAL versions %x-%x", p.MinVersion(), p.MaxVersion())
	}
	cs := p.CipherSuites()
	// GnuTLS NORMAL refused CBC-SHA256 and 3DES suites (observed).
	for _, id := range []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, tls.TLS_RSA_WITH_AES_128_CBC_SHA256, tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA} {
		if slices.Contains(cs, id) {
			t.Errorf("NORMAL allows %s", tls.CipherSuiteName(id))
		}
	}
	for _, id := range []uint16{tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_RSA_WITH_AES_256_GCM_SHA384} {
		if !slices.Contains(cs, id) {
			t.Errorf("NORMAL lacks %s", tls.CipherSuiteName(id))
		}
	}
	if len(p.Warnings) != 0 {
		t.Errorf("NORMAL warnings: %v", p.Warnings)
	}
	if got := p.Curves(); !slices.Equal(got, []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384, tls.CurveP521}) {
		t.Errorf("NORMAL curves %v", got)
	}

	p, _ = ParsePriority("NORMAL:-VERS-TLS1.0:-VERS-TLS1.1:-RSA:-AES-128-CBC:-AES-256-CBC")
	if p.MinVersion() != tls.VersionTLS12 {
		t.Errorf("min version %x", p.MinVersion())
	}
	for _, id := range p.CipherSuites() {
		s := suites[id]
		if s.Kx == "RSA" || strings.Contains(s.Cipher, "CBC") {
			t.Errorf("unexpected %s", tls.CipherSuiteName(id))
		}
	}

	p, _ = ParsePriority("SECURE256:+DHE-RSA:+GROUP-X448:%SERVER_PRECEDENCE:-AES-256-GCM:-VERS-TLS1.1")
	want := []string{"SECURE256: GnuTLS security profile", "+DHE-RSA: not supported", "+GROUP-X448: not supported",
		"%SERVER_PRECEDENCE: Go's TLS chooses TLS 1.3", "AES-256-GCM stays enabled for TLS 1.3", "cannot leave out TLS1.1"}
	for _, w := range want {
		found := false
		for _, got := range p.Warnings {
			found = found || strings.Contains(got, w)
		}
		if !found {
			t.Errorf("no warning %q in %q", w, p.Warnings)
		}
	}
	if !p.ServerPrecedence {
		t.Error("ServerPrecedence not set")
	}
}

func FuzzParsePriority(f *testing.F) {
	for _, s := range []string{"NORMAL", "NORMAL:-VERS-TLS1.0:+FOO", "SECURE256:%SERVER_PRECEDENCE", "NONE:+VERS-TLS1.2:+AES-128-GCM:+AEAD:+SIGN-ALL", "::", " NORMAL: -RSA", "LEGACY:+GROUP-ALL:-CURVE-ALL:+CTYPE-CLI-ALL"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePriority(s)
		if err != nil {
			pe, ok := err.(*PriorityError)
			if !ok {
				t.Fatalf("error type %T", err)
			}
			_ = pe.Error()
			return
		}
		lo, hi := p.MinVersion(), p.MaxVersion()
		if lo > hi {
			t.Fatalf("min %x > max %x", lo, hi)
		}
		for _, id := range p.CipherSuites() {
			if _, ok := suites[id]; !ok {
				t.Fatalf("unknown suite %x", id)
			}
		}
		_ = p.Curves()
	})
}
