// DANE for the smtp transport: TLSA records of the destination host,
// fetched through the DNS resolver and trusted only when the answer was
// DNSSEC-authenticated, decide how the server's certificate is checked
// (Exim specification chapter "Encrypted SMTP connections using
// TLS/SSL", section "DANE"; smtp transport options hosts_require_dane,
// hosts_try_dane, dane_require_tls_ciphers; RFC 6698, RFC 7671, RFC 7672).

package transport

//lint:file-ignore ST1005 the DANE error texts are GnuTLS's, as Exim logs them

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"strconv"
	"time"

	"github.com/exigo-mta/exigo/internal/dns"
	"github.com/exigo-mta/exigo/internal/instance"
)

// tlsaRecord is one TLSA record that exigo can use: certificate usage
// DANE-TA (2) or DANE-EE (3), selector full certificate (0) or
// SubjectPublicKeyInfo (1), matching type exact (0), SHA2-256 (1) or
// SHA2-512 (2). Exim supports only these usages for SMTP (spec section
// "DANE"; RFC 7672 section 3.1.3 says PKIX-TA and PKIX-EE are not for
// SMTP).
type tlsaRecord struct {
	usage, selector, matching uint8
	data                      []byte
}

// TLSA certificate usages (RFC 7218 names).
const (
	tlsaDANETA = 2
	tlsaDANEEE = 3
)

// parseTLSA converts the fields of a TLSA record (its data in
// hexadecimal, as the record's presentation form has it); ok is false
// for a record that is unusable (RFC 7671 section 4: such records are
// ignored).
func parseTLSA(usage, selector, matching uint8, hexData string) (tlsaRecord, bool) {
	if usage != tlsaDANETA && usage != tlsaDANEEE {
		return tlsaRecord{}, false
	}
	if selector > 1 || matching > 2 {
		return tlsaRecord{}, false
	}
	data, err := hex.DecodeString(hexData)
	if err != nil || len(data) == 0 {
		return tlsaRecord{}, false
	}
	want := map[uint8]int{1: sha256.Size, 2: sha512.Size}[matching]
	if want != 0 && len(data) != want {
		return tlsaRecord{}, false
	}
	return tlsaRecord{usage: usage, selector: selector, matching: matching, data: data}, true
}

// matches reports whether c is the certificate (or holds the public key)
// the record names.
func (r tlsaRecord) matches(c *x509.Certificate) bool {
	in := c.Raw
	if r.selector == 1 {
		in = c.RawSubjectPublicKeyInfo
	}
	switch r.matching {
	case 1:
		s := sha256.Sum256(in)
		return bytes.Equal(s[:], r.data)
	case 2:
		s := sha512.Sum512(in)
		return bytes.Equal(s[:], r.data)
	}
	return bytes.Equal(in, r.data)
}

// GnuTLS's texts, as Exim logs them, for a chain that no TLSA record
// matches: DANE-EE records that match no leaf, DANE-TA records that
// match no certificate of the chain, and a DANE-TA anchored chain
// whose leaf does not carry the host name.
var (
	errDANEDiffers = errors.New("Verification failed. The certificate differs. ")
	errDANECA      = errors.New("Verification failed. CA constrains were violated. ")
	errDANEBadName = errors.New("certificate invalid")
)

// daneVerify checks the server's chain (leaf first, as sent) against the
// records. A DANE-EE record must match the leaf; its name and dates are
// not checked (RFC 7671 section 5.1). A DANE-TA record must match a
// certificate of the chain, which then anchors the leaf's chain, and the
// leaf must be valid for host (RFC 7671 section 5.2; the spec: "server
// certificates must have a correct name").
func daneVerify(recs []tlsaRecord, chain []*x509.Certificate, host string, now time.Time) error {
	haveTA := false
	for _, r := range recs {
		if r.usage == tlsaDANETA {
			haveTA = true
		}
	}
	// With both kinds, GnuTLS reports the DANE-TA failure (observed).
	fail := errDANEDiffers
	if haveTA {
		fail = errDANECA
	}
	if len(chain) == 0 {
		return fail
	}
	leaf := chain[0]
	for _, r := range recs {
		if r.usage == tlsaDANEEE && r.matches(leaf) {
			return nil
		}
	}
	for _, r := range recs {
		if r.usage != tlsaDANETA {
			continue
		}
		for i, c := range chain {
			if !r.matches(c) {
				continue
			}
			roots := x509.NewCertPool()
			roots.AddCert(c)
			inter := x509.NewCertPool()
			for _, x := range chain[1:i] {
				inter.AddCert(x)
			}
			if i == 0 {
				return nil // the leaf itself is the trust anchor
			}
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now}); err != nil {
				continue
			}
			if leaf.VerifyHostname(host) != nil {
				// Anchored, but not for this host: Exim's host name
				// check fails after DANE passed (observed with Exim
				// 4.96).
				return errDANEBadName
			}
			return nil
		}
	}
	return fail
}

// daneState is what the TLSA lookup decided for one host.
type daneState struct {
	// on: a DANE-verified TLS session is required with recs.
	on   bool
	recs []tlsaRecord
	// usage is $tls_out_tlsa_usage: bit n set for usage n.
	usage int
}

// daneError is a failure to set up DANE for a host; its text follows
// "DANE error: " in Exim's log.
type daneError struct {
	status Status
	errno  int
	text   string
}

// ErrnoDNSDefer is Exim's number for a DNS lookup that could not be
// completed (a TLSA lookup that timed out or got SERVFAIL).
const ErrnoDNSDefer = -36

// daneFor decides DANE for h on port (spec section "DANE"): a host in
// hosts_require_dane or hosts_try_dane whose address lookup was
// DNSSEC-secured gets a TLSA lookup at _PORT._tcp.NAME; an authenticated
// answer with usable records turns DANE on. A host in hosts_require_dane
// that cannot have DANE fails. note receives the lines Exim logs on the
// way.
func (s *smtpTransport) daneFor(ctx context.Context, e *env, d *Delivery, h Host, port int, note func(string)) (*daneState, *daneError) {
	require := s.matchHosts(e, "hosts_require_dane", h)
	if !require && !s.matchHosts(e, "hosts_try_dane", h) {
		return nil, nil
	}
	if !h.DNSSEC {
		if require {
			return nil, &daneError{Fail, 0, h.Name + " lookup not DNSSEC"}
		}
		return nil, nil
	}
	res := d.Resolver
	if res == nil {
		res = s.systemResolver()
	}
	name := "_" + strconv.Itoa(port) + "._tcp." + h.Name
	rrs, a := res.LookupTLSA(ctx, name, dns.Options{DNSSEC: true})
	switch a.Status {
	case dns.Succeed:
	case dns.Again:
		return nil, &daneError{Defer, ErrnoDNSDefer, "tlsa lookup DEFER"}
	default:
		if require {
			return nil, &daneError{Fail, 0, "tlsa lookup FAIL"}
		}
		return nil, nil
	}
	if !a.AD {
		note("DANE error: TLSA lookup for " + h.Name + " not DNSSEC")
		if require {
			return nil, &daneError{Fail, 0, "TLSA lookup for " + h.Name + " not DNSSEC"}
		}
		return nil, nil
	}
	st := &daneState{}
	for _, rr := range rrs {
		if r, ok := parseTLSA(rr.Usage, rr.Selector, rr.MatchingType, rr.Certificate); ok {
			st.recs = append(st.recs, r)
			st.usage |= 1 << r.usage
		}
	}
	if len(st.recs) == 0 {
		// RFC 7672 section 2.2: only unusable records means no DANE, but
		// TLS stays mandatory; exigo treats it as no TLSA.
		if require {
			return nil, &daneError{Fail, 0, "tlsa lookup FAIL"}
		}
		return nil, nil
	}
	st.on = true
	return st, nil
}

// systemResolver is the resolver of /etc/resolv.conf with the main
// options dns_retrans and dns_retry, for a Delivery without one.
func (s *smtpTransport) systemResolver() *dns.Resolver {
	return instance.SystemResolver(s.cfg, "")
}
