package tlsserver

import (
	"crypto/tls"
	"fmt"
	"slices"
	"strings"
)

// GnuTLS priority strings, the value of tls_require_ciphers in a GnuTLS
// build of Exim (spec chapter "Encrypted SMTP connections using TLS/SSL",
// section "Requiring specific ciphers or other parameters in GnuTLS").
//
// # Grammar (as GnuTLS 3.7.9 accepts it, observed through Exim 4.96)
//
// Elements are separated by ":" (not ","). Leading blanks of an element are
// skipped, trailing ones are not. The first element is a keyword (NORMAL,
// PFS, SECURE128, SECURE192, SECURE256, SUITEB128, SUITEB192, LEGACY,
// PERFORMANCE, NONE; any case) or already a prefixed element (then the start
// is NONE). Later elements are "+NAME" (add), "-NAME" or "!NAME" (remove)
// or "%FLAG". An empty element, an unknown name, or a bare word after the
// first element is rejected with "The request is invalid." at the offset
// where the element starts. A string that leaves no protocol version, no
// usable cipher/MAC pair, or no signature algorithm fails with "No or
// insufficient priorities were set." at offset 0.
//
// # Mapping onto crypto/tls
//
// Versions become MinVersion/MaxVersion; the TLS 1.2 (and older) suites
// whose key exchange, cipher and MAC are all enabled become CipherSuites;
// enabled groups Go has (X25519, P-256, P-384, P-521) become
// CurvePreferences. %SERVER_PRECEDENCE orders TLS 1.2 suites by the
// string; otherwise the client's order decides, as GnuTLS does by default.
// What Go cannot do is listed in Priority.Warnings: TLS 1.3 cipher suites
// cannot be restricted or ordered, there is no DHE, PSK, SRP or anonymous
// key exchange, no CCM or Camellia ciphers, no X448 or FFDHE groups, no
// signature algorithm restriction, and no GnuTLS security profiles (the
// SECURE and SUITEB keywords' key size rules).

// PriorityError is a priority string GnuTLS would refuse.
type PriorityError struct {
	String string // the priority string
	Offset int    // where the offending element starts
	Reason string // GnuTLS's error text
}

// Error returns Exim's text after "tls_require_ciphers invalid: ".
func (e *PriorityError) Error() string {
	rest := ""
	if e.Offset <= len(e.String) {
		rest = e.String[e.Offset:]
	}
	if len(rest) > 8 {
		rest = rest[:8]
	}
	return fmt.Sprintf("gnutls_priority_init(%s) failed at offset %d, \"%s..\" failed: %s", e.String, e.Offset, rest, e.Reason)
}

const (
	errInvalid      = "The request is invalid."
	errInsufficient = "No or insufficient priorities were set."
)

// Priority is a parsed priority string.
type Priority struct {
	versions, ciphers, macs, kx, groups, signs []string
	// ServerPrecedence is %SERVER_PRECEDENCE: the server's order decides.
	ServerPrecedence bool
	// Warnings lists what the string asks for that Go's TLS cannot do; the
	// rest of the string still applies.
	Warnings []string
}

type category int

const (
	catVersion category = iota
	catCipher
	catMAC
	catKx
	catGroup
	catSign
	catComp
	catCtype
)

var (
	allVersions = []string{"TLS1.3", "TLS1.2", "TLS1.1", "TLS1.0", "SSL3.0", "DTLS1.2", "DTLS1.0", "DTLS0.9"}
	allCiphers  = []string{"AES-256-GCM", "CHACHA20-POLY1305", "AES-256-CCM", "AES-256-CBC", "AES-128-GCM", "AES-128-CCM", "AES-128-CBC",
		"CAMELLIA-256-GCM", "CAMELLIA-128-GCM", "CAMELLIA-256-CBC", "CAMELLIA-128-CBC", "AES-256-CCM-8", "AES-128-CCM-8",
		"AES-192-CBC", "3DES-CBC", "ARCFOUR-128", "ARCFOUR-40", "NULL", "GOST28147-TC26Z-CNT", "GOST28147-TC26Z-CFB", "GOST28147-CPA-CFB"}
	allMACs  = []string{"SHA1", "AEAD", "SHA256", "SHA384", "MD5", "UMAC-96", "UMAC-128", "GOST28147-TC26Z-IMIT", "STREEBOG-256", "STREEBOG-512"}
	allKx    = []string{"ECDHE-ECDSA", "ECDHE-RSA", "RSA", "DHE-RSA", "DHE-DSS", "ANON-DH", "ANON-ECDH", "PSK", "DHE-PSK", "ECDHE-PSK", "RSA-PSK", "SRP", "SRP-RSA", "SRP-DSS", "RSA-EXPORT", "VKO-GOST-12"}
	allGroup = []string{"SECP256R1", "SECP384R1", "SECP521R1", "X25519", "X448", "SECP192R1", "SECP224R1", "FFDHE2048", "FFDHE3072", "FFDHE4096", "FFDHE6144", "FFDHE8192",
		"GC256B", "GC512A", "GC256A", "GC256C", "GC256D", "GC512B", "GC512C"}
	allSigns = []string{"RSA-SHA256", "RSA-PSS-SHA256", "RSA-PSS-RSAE-SHA256", "ECDSA-SHA256", "ECDSA-SECP256R1-SHA256", "EdDSA-Ed25519", "EdDSA-Ed448",
		"RSA-SHA384", "RSA-PSS-SHA384", "RSA-PSS-RSAE-SHA384", "ECDSA-SHA384", "ECDSA-SECP384R1-SHA384",
		"RSA-SHA512", "RSA-PSS-SHA512", "RSA-PSS-RSAE-SHA512", "ECDSA-SHA512", "ECDSA-SECP521R1-SHA512",
		"RSA-SHA1", "ECDSA-SHA1", "RSA-SHA224", "ECDSA-SHA224", "DSA-SHA1", "DSA-SHA224", "DSA-SHA256", "RSA-MD5", "RSA-MD2", "RSA-RMD160",
		"GOSTR341012-512", "GOSTR341012-256", "GOSTR341001"}
	allComp  = []string{"NULL", "DEFLATE"}
	allCtype = []string{"X509", "RAWPK", "OPENPGP"}

	// The "ALL" forms add GnuTLS's non-legacy members only.
	cipherAll = []string{"AES-256-GCM", "CHACHA20-POLY1305", "AES-256-CCM", "AES-256-CBC", "AES-128-GCM", "AES-128-CCM", "AES-128-CBC",
		"CAMELLIA-256-GCM", "CAMELLIA-128-GCM", "CAMELLIA-256-CBC", "CAMELLIA-128-CBC"}
	macAll = []string{"SHA1", "AEAD", "SHA256", "SHA384"}
	kxAll  = []string{"ECDHE-ECDSA", "ECDHE-RSA", "RSA", "DHE-RSA", "DHE-DSS"}

	normalVersions = []string{"TLS1.3", "TLS1.2", "TLS1.1", "TLS1.0", "DTLS1.2", "DTLS1.0"}
	normalCiphers  = []string{"AES-256-GCM", "CHACHA20-POLY1305", "AES-256-CCM", "AES-256-CBC", "AES-128-GCM", "AES-128-CCM", "AES-128-CBC"}
	normalMACs     = []string{"SHA1", "AEAD"}
	normalKx       = []string{"ECDHE-ECDSA", "ECDHE-RSA", "RSA", "DHE-RSA"}
	normalGroups   = []string{"X25519", "SECP256R1", "SECP384R1", "SECP521R1", "X448", "FFDHE2048", "FFDHE3072", "FFDHE4096", "FFDHE6144", "FFDHE8192"}
	commonSigns    = []string{"RSA-SHA256", "RSA-PSS-SHA256", "RSA-PSS-RSAE-SHA256", "ECDSA-SHA256", "ECDSA-SECP256R1-SHA256", "EdDSA-Ed25519", "EdDSA-Ed448",
		"RSA-SHA384", "RSA-PSS-SHA384", "RSA-PSS-RSAE-SHA384", "ECDSA-SHA384", "ECDSA-SECP384R1-SHA384",
		"RSA-SHA512", "RSA-PSS-SHA512", "RSA-PSS-RSAE-SHA512", "ECDSA-SHA512", "ECDSA-SECP521R1-SHA512", "RSA-SHA1", "ECDSA-SHA1"}
)

// keyword is a starting keyword's lists.
type keyword struct {
	versions, ciphers, macs, kx, groups []string
	profile                             bool // has key size rules Go cannot apply
}

var keywords = map[string]keyword{
	"NORMAL":      {normalVersions, normalCiphers, normalMACs, normalKx, normalGroups, false},
	"PERFORMANCE": {normalVersions, []string{"AES-128-GCM", "AES-128-CCM", "CHACHA20-POLY1305", "AES-128-CBC", "AES-256-GCM", "AES-256-CCM", "AES-256-CBC"}, normalMACs, normalKx, normalGroups, false},
	"PFS":         {normalVersions, normalCiphers, normalMACs, []string{"ECDHE-ECDSA", "ECDHE-RSA", "DHE-RSA"}, normalGroups, false},
	"LEGACY":      {normalVersions, append(slices.Clone(normalCiphers), "3DES-CBC"), []string{"SHA1", "AEAD", "SHA256", "SHA384"}, normalKx, normalGroups, false},
	"SECURE128":   {normalVersions, normalCiphers, normalMACs, normalKx, normalGroups, true},
	"SECURE192":   {normalVersions, []string{"AES-256-GCM", "CHACHA20-POLY1305", "AES-256-CCM", "AES-256-CBC"}, normalMACs, normalKx, []string{"SECP384R1", "SECP521R1", "X448", "FFDHE8192"}, true},
	"SECURE256":   {normalVersions, []string{"AES-256-GCM", "CHACHA20-POLY1305", "AES-256-CCM", "AES-256-CBC"}, normalMACs, normalKx, []string{"SECP384R1", "SECP521R1", "X448", "FFDHE8192"}, true},
	"SUITEB128":   {[]string{"TLS1.2"}, []string{"AES-128-GCM", "AES-256-GCM"}, []string{"AEAD"}, []string{"ECDHE-ECDSA"}, []string{"SECP256R1", "SECP384R1"}, true},
	"SUITEB192":   {[]string{"TLS1.2"}, []string{"AES-256-GCM"}, []string{"AEAD"}, []string{"ECDHE-ECDSA"}, []string{"SECP384R1"}, true},
	"NONE":        {},
}

// flags are the %FLAG names GnuTLS accepts; the value says whether Go
// can honour it (true) or it is ignored with a warning (false).
var flags = map[string]bool{
	"COMPAT": true, "DUMBFW": false, "NO_EXTENSIONS": false, "NO_TICKETS": true, "NO_TICKETS_TLS12": true,
	"NO_ETM": true, "FORCE_ETM": false, "NO_SESSION_HASH": false, "FORCE_SESSION_HASH": false,
	"SERVER_PRECEDENCE": true, "SSL3_RECORD_VERSION": true, "LATEST_RECORD_VERSION": true,
	"STATELESS_COMPRESSION": true, "NEW_PADDING": true, "VERIFY_ALLOW_SIGN_RSA_MD5": false,
	"VERIFY_ALLOW_SIGN_WITH_SHA1": false, "VERIFY_DISABLE_CRL_CHECKS": false, "VERIFY_ALLOW_X509_V1_CA_CRT": false,
	"VERIFY_ALLOW_BROKEN": false, "UNSAFE_RENEGOTIATION": true, "PARTIAL_RENEGOTIATION": true,
	"SAFE_RENEGOTIATION": true, "DISABLE_SAFE_RENEGOTIATION": true, "DISABLE_WILDCARDS": true,
	"NO_STATUS_REQUEST": false, "ALLOW_SMALL_RECORDS": true, "DISABLE_TLS13_COMPAT_MODE": true,
	"PROFILE_VERY_WEAK": false, "PROFILE_LOW": false, "PROFILE_LEGACY": false, "PROFILE_MEDIUM": false,
	"PROFILE_HIGH": false, "PROFILE_ULTRA": false, "PROFILE_FUTURE": false, "PROFILE_SUITEB128": false, "PROFILE_SUITEB192": false,
}

// Things Go's TLS has; anything else enabled explicitly gets a warning.
var (
	goCiphers = []string{"AES-128-GCM", "AES-256-GCM", "CHACHA20-POLY1305", "AES-128-CBC", "AES-256-CBC", "3DES-CBC", "ARCFOUR-128"}
	goMACs    = []string{"SHA1", "AEAD", "SHA256"}
	goKx      = []string{"ECDHE-ECDSA", "ECDHE-RSA", "RSA"}
	goGroups  = []string{"X25519", "SECP256R1", "SECP384R1", "SECP521R1"}
	goVers    = []string{"TLS1.3", "TLS1.2", "TLS1.1", "TLS1.0"}
)

// lookupName resolves an element name (without its prefix) to its
// category and members.
func lookupName(name string) (category, []string, bool) {
	u := strings.ToUpper(name)
	find := func(list []string, s string) []string {
		for _, x := range list {
			if strings.EqualFold(x, s) {
				return []string{x}
			}
		}
		return nil
	}
	switch {
	case strings.HasPrefix(u, "VERS-"):
		v := u[5:]
		switch v {
		case "ALL", "TLS-ALL":
			return catVersion, []string{"TLS1.3", "TLS1.2", "TLS1.1", "TLS1.0"}, true
		case "DTLS-ALL":
			return catVersion, []string{"DTLS1.2", "DTLS1.0"}, true
		}
		m := find(allVersions, v)
		return catVersion, m, m != nil
	case strings.HasPrefix(u, "GROUP-") || strings.HasPrefix(u, "CURVE-"):
		g := u[6:]
		switch g {
		case "ALL":
			return catGroup, allGroup[:12], true
		case "DH-ALL":
			return catGroup, []string{"FFDHE2048", "FFDHE3072", "FFDHE4096", "FFDHE6144", "FFDHE8192"}, true
		case "EC-ALL":
			return catGroup, []string{"SECP256R1", "SECP384R1", "SECP521R1", "X25519", "X448", "SECP192R1", "SECP224R1"}, true
		case "GOST-ALL":
			return catGroup, allGroup[12:], true
		}
		m := find(allGroup, g)
		return catGroup, m, m != nil
	case strings.HasPrefix(u, "SIGN-"):
		s := u[5:]
		if s == "ALL" {
			return catSign, commonSigns, true
		}
		if s == "GOST-ALL" {
			return catSign, []string{"GOSTR341012-512", "GOSTR341012-256", "GOSTR341001"}, true
		}
		m := find(allSigns, s)
		return catSign, m, m != nil
	case strings.HasPrefix(u, "COMP-"):
		c := u[5:]
		if c == "ALL" {
			return catComp, allComp, true
		}
		m := find(allComp, c)
		return catComp, m, m != nil
	case strings.HasPrefix(u, "CTYPE-"):
		c := u[6:]
		for _, p := range []string{"CLI-", "SRV-"} {
			c = strings.TrimPrefix(c, p)
		}
		if c == "ALL" {
			return catCtype, allCtype, true
		}
		m := find(allCtype, c)
		return catCtype, m, m != nil
	}
	switch u {
	case "CIPHER-ALL":
		return catCipher, cipherAll, true
	case "CIPHER-GOST-ALL":
		return catCipher, []string{"GOST28147-TC26Z-CNT"}, true
	case "MAC-ALL":
		return catMAC, macAll, true
	case "MAC-GOST-ALL":
		return catMAC, []string{"GOST28147-TC26Z-IMIT"}, true
	case "KX-ALL":
		return catKx, kxAll, true
	case "KX-GOST-ALL":
		return catKx, []string{"VKO-GOST-12"}, true
	}
	if m := find(allCiphers, u); m != nil {
		return catCipher, m, true
	}
	if m := find(allMACs, u); m != nil {
		return catMAC, m, true
	}
	if m := find(allKx, u); m != nil {
		return catKx, m, true
	}
	return 0, nil, false
}

// ParsePriority parses a GnuTLS priority string. Leading blanks of the
// whole string are ignored, as Exim does. The error is a *PriorityError.
func ParsePriority(s string) (*Priority, error) {
	s = strings.TrimLeft(s, " \t\n\r")
	p := &Priority{}
	signTouched := false
	warned := map[string]bool{}
	warn := func(format string, args ...any) {
		w := fmt.Sprintf(format, args...)
		if !warned[w] {
			warned[w] = true
			p.Warnings = append(p.Warnings, w)
		}
	}
	off := 0
	for i, elem := range strings.Split(s, ":") {
		start := off
		off += len(elem) + 1
		trimmed := strings.TrimLeft(elem, " \t")
		pos := start
		if trimmed == "" {
			return nil, &PriorityError{s, pos, errInvalid}
		}
		c := trimmed[0]
		if i == 0 && c != '+' && c != '-' && c != '!' && c != '%' {
			kw, ok := keywords[strings.ToUpper(trimmed)]
			if !ok {
				return nil, &PriorityError{s, pos, errInvalid}
			}
			p.versions = slices.Clone(kw.versions)
			p.ciphers = slices.Clone(kw.ciphers)
			p.macs = slices.Clone(kw.macs)
			p.kx = slices.Clone(kw.kx)
			p.groups = slices.Clone(kw.groups)
			if !strings.EqualFold(trimmed, "NONE") {
				p.signs = slices.Clone(commonSigns)
				signTouched = true
			}
			if kw.profile {
				warn("%s: GnuTLS security profile (minimum key sizes) not applied by Go's TLS", strings.ToUpper(trimmed))
			}
			continue
		}
		name := trimmed[1:]
		switch c {
		case '%':
			honoured, ok := flags[strings.ToUpper(name)]
			if !ok {
				return nil, &PriorityError{s, pos, errInvalid}
			}
			if strings.EqualFold(name, "SERVER_PRECEDENCE") {
				p.ServerPrecedence = true
			} else if !honoured {
				warn("%%%s: not supported by Go's TLS, ignored", strings.ToUpper(name))
			}
			continue
		case '+', '-', '!':
		default:
			return nil, &PriorityError{s, pos, errInvalid}
		}
		cat, members, ok := lookupName(name)
		if !ok {
			return nil, &PriorityError{s, pos, errInvalid}
		}
		list := p.list(cat)
		if c == '+' {
			for _, m := range members {
				if !slices.Contains(*list, m) {
					*list = append(*list, m)
				}
			}
			if cat == catSign {
				signTouched = true
			}
			p.warnUnsupported(cat, members, name, warn)
		} else {
			*list = slices.DeleteFunc(*list, func(x string) bool { return slices.Contains(members, x) })
			if cat == catSign {
				warn("%s%s: Go's TLS cannot restrict signature algorithms, ignored", string(c), name)
			}
		}
	}
	if !p.sufficient(signTouched) {
		return nil, &PriorityError{s, 0, errInsufficient}
	}
	if p.ServerPrecedence && slices.Contains(p.versions, "TLS1.3") {
		warn("%%SERVER_PRECEDENCE: Go's TLS chooses TLS 1.3 cipher suites itself; applied to TLS 1.2 and older only")
	}
	if slices.Contains(p.versions, "TLS1.3") {
		for _, c := range []string{"AES-128-GCM", "AES-256-GCM", "CHACHA20-POLY1305"} {
			if !slices.Contains(p.ciphers, c) {
				warn("TLS 1.3 cipher suites cannot be restricted in Go's TLS: %s stays enabled for TLS 1.3", c)
			}
		}
	}
	if lo, hi := p.versionRange(); lo != 0 {
		for v := lo; v <= hi; v++ {
			if !slices.Contains(p.versions, VersionName(v)) {
				warn("Go's TLS cannot leave out %s between %s and %s: enabled", VersionName(v), VersionName(lo), VersionName(hi))
			}
		}
	}
	return p, nil
}

func (p *Priority) warnUnsupported(cat category, members []string, name string, warn func(string, ...any)) {
	var have []string
	switch cat {
	case catVersion:
		have = goVers
	case catCipher:
		have = goCiphers
	case catMAC:
		have = goMACs
	case catKx:
		have = goKx
	case catGroup:
		have = goGroups
	case catSign:
		warn("+%s: Go's TLS cannot restrict signature algorithms, ignored", name)
		return
	default:
		return
	}
	if len(members) == 1 && !slices.Contains(have, members[0]) {
		warn("+%s: not supported by Go's TLS, ignored", name)
	}
}

func (p *Priority) list(c category) *[]string {
	switch c {
	case catVersion:
		return &p.versions
	case catCipher:
		return &p.ciphers
	case catMAC:
		return &p.macs
	case catKx:
		return &p.kx
	case catGroup:
		return &p.groups
	case catSign:
		return &p.signs
	}
	var discard []string
	return &discard
}

func isAEAD(cipher string) bool {
	return strings.Contains(cipher, "GCM") || strings.Contains(cipher, "CCM") || strings.Contains(cipher, "POLY1305")
}

// sufficient is GnuTLS's final check (observed): a protocol version, a
// cipher with a MAC it can use, and signature algorithms.
// DTLS versions alone do not count.
func (p *Priority) sufficient(signTouched bool) bool {
	// Signature algorithms count once set by a keyword or a "+SIGN-"
	// element: NORMAL:-SIGN-ALL passes, NONE without +SIGN- does not.
	if !signTouched || !slices.ContainsFunc(p.versions, func(v string) bool { return strings.HasPrefix(v, "TLS") || v == "SSL3.0" }) {
		return false
	}
	for _, c := range p.ciphers {
		for _, m := range p.macs {
			if isAEAD(c) == (m == "AEAD") {
				return true
			}
		}
	}
	return false
}

// versionRange is the lowest and highest TLS version enabled (0, 0 when
// none that Go has).
func (p *Priority) versionRange() (lo, hi uint16) {
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11, tls.VersionTLS12, tls.VersionTLS13} {
		if slices.Contains(p.versions, VersionName(v)) {
			if lo == 0 {
				lo = v
			}
			hi = v
		}
	}
	return lo, hi
}

// MinVersion and MaxVersion give the TLS versions to allow (0 when the
// string enables none that Go has).
func (p *Priority) MinVersion() uint16 { lo, _ := p.versionRange(); return lo }

// MaxVersion is the highest TLS version to allow.
func (p *Priority) MaxVersion() uint16 { _, hi := p.versionRange(); return hi }

// CipherSuites returns the TLS 1.2-and-older suites of Go whose key
// exchange, cipher and MAC are all enabled, in the string's order (cipher,
// then MAC, then key exchange).
func (p *Priority) CipherSuites() []uint16 {
	type cand struct {
		id  uint16
		key [3]int
	}
	var cs []cand
	for id, s := range suites {
		if s.Kx == "" {
			continue
		}
		kx := s.Kx
		if kx == "ECDHE" {
			kx = "ECDHE-" + s.Auth
		}
		ci, mi, ki := slices.Index(p.ciphers, s.Cipher), slices.Index(p.macs, s.MAC), slices.Index(p.kx, kx)
		if ci < 0 || mi < 0 || ki < 0 {
			continue
		}
		cs = append(cs, cand{id, [3]int{ci, mi, ki}})
	}
	slices.SortFunc(cs, func(a, b cand) int {
		for i := range 3 {
			if a.key[i] != b.key[i] {
				return a.key[i] - b.key[i]
			}
		}
		return int(a.id) - int(b.id)
	})
	out := make([]uint16, len(cs))
	for i, c := range cs {
		out[i] = c.id
	}
	return out
}

// Curves returns the enabled groups that Go has, in the string's order.
func (p *Priority) Curves() []tls.CurveID {
	var out []tls.CurveID
	for _, g := range p.groups {
		switch g {
		case "X25519":
			out = append(out, tls.X25519)
		case "SECP256R1":
			out = append(out, tls.CurveP256)
		case "SECP384R1":
			out = append(out, tls.CurveP384)
		case "SECP521R1":
			out = append(out, tls.CurveP521)
		}
	}
	return out
}
