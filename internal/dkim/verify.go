package dkim

import (
	"bufio"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/exigo-mta/exigo/internal/dns"
	"github.com/exigo-mta/exigo/internal/message"
)

// Verification statuses ($dkim_verify_status). Spec: chapter "DKIM, SPF,
// SRS and DMARC", section "Verifying DKIM signatures in incoming mail".
const (
	StatusNone    = "none"
	StatusInvalid = "invalid"
	StatusFail    = "fail"
	StatusPass    = "pass"
)

// Reasons ($dkim_verify_reason).
const (
	ReasonPubkeyUnavailable  = "pubkey_unavailable"
	ReasonPubkeySyntax       = "pubkey_syntax" // documented; Exim 4.96 sets the two below
	ReasonPubkeyDNSSyntax    = "pubkey_dns_syntax"
	ReasonPubkeyDERSyntax    = "pubkey_der_syntax"
	ReasonBodyhashMismatch   = "bodyhash_mismatch"
	ReasonSignatureIncorrect = "signature_incorrect"
)

// NoLimit is what $dkim_bodylength and $dkim_expires show when the
// signature has no l= or x=.
const NoLimit = "9999999999999"

// Result is the verification of one DKIM-Signature field, with every value
// the $dkim_* variables show while acl_smtp_dkim runs for it.
type Result struct {
	Status string // $dkim_verify_status
	Reason string // $dkim_verify_reason ("" unless invalid or fail)
	// Detail is the text Exim logs in brackets on the dkim_verbose line.
	Detail string

	Domain        string // $dkim_domain (d=)
	Identity      string // $dkim_identity (i=, empty when absent)
	Selector      string // $dkim_selector (s=)
	Algo          string // $dkim_algo (a=)
	CanonHeaders  string // $dkim_canon_headers
	CanonBody     string // $dkim_canon_body
	HeaderNames   string // $dkim_headernames (h=, colon-separated)
	CopiedHeaders string // $dkim_copiedheaders (z=)
	BodyLength    string // $dkim_bodylength (l=, or NoLimit)
	Created       string // $dkim_created (t=, or "0")
	Expires       string // $dkim_expires (x=, or NoLimit)

	KeyTesting      string // $dkim_key_testing: "1" or "0"
	KeyNoSubdomains string // $dkim_key_nosubdomains: "1" or "0"
	KeySrvType      string // $dkim_key_srvtype (s= of the record, "*")
	KeyGranularity  string // $dkim_key_granularity (g=, "*")
	KeyNotes        string // $dkim_key_notes (n=)
	KeyLength       int    // $dkim_key_length, in bits (0 before the key is loaded)

	// SigBits is the size of the b= signature in bits, which Exim logs
	// as b= on the dkim_verbose line.
	SigBits int
	// Notes are the lines Exim logs while verifying, before any ACL
	// runs ("DKIM: d=… s=… [failed key import]", "DKIM: validation
	// error: …"), without the message id.
	Notes []string
}

// VerifyOptions are the main options that shape verification.
type VerifyOptions struct {
	// Hashes is dkim_verify_hashes (default "sha256:sha512").
	Hashes string
	// KeyTypes is dkim_verify_keytypes (default "ed25519:rsa").
	KeyTypes string
	// MinKeySizes is dkim_verify_min_keysizes (default
	// "rsa=1024 ed25519=250").
	MinKeySizes string
	// Minimal is dkim_verify_minimal: stop after the first pass.
	Minimal bool
}

// KeyLookup fetches the TXT records at a name; Verify uses LookupFunc
// around an internal/dns Resolver, tests may supply their own.
type KeyLookup func(ctx context.Context, name string) (txts []string, err error)

// errKeyUnavailable marks a lookup that found nothing usable.
var errKeyUnavailable = errors.New("public key record unavailable")

// ResolverLookup returns a KeyLookup that asks r, joining the strings of
// each TXT record.
func ResolverLookup(r *dns.Resolver) KeyLookup {
	return func(ctx context.Context, name string) ([]string, error) {
		recs, a := r.LookupTXT(ctx, name, dns.Options{})
		if a.Status != dns.Succeed {
			if a.Err != nil {
				return nil, fmt.Errorf("%w: %v", errKeyUnavailable, a.Err)
			}
			return nil, errKeyUnavailable
		}
		var out []string
		for _, parts := range recs {
			out = append(out, strings.Join(parts, ""))
		}
		return out, nil
	}
}

// Verify checks the DKIM-Signature fields of a received message (headers
// as received, body with LF or CRLF line ends) and returns one Result per
// signature in the order Exim processes them: by preference of key type
// (dkim_verify_keytypes) and hash (dkim_verify_hashes), in header order
// among equals. Exim ignores (no Result) fields whose tag list does not parse and
// signatures whose hash or key type dkim_verify_hashes or
// dkim_verify_keytypes leave out. See the package comment for the DATA
// stage's contract.
func Verify(ctx context.Context, hs message.Headers, body io.Reader, lookup KeyLookup, o VerifyOptions) []Result {
	if o.Hashes == "" {
		o.Hashes = "sha256:sha512"
	}
	if o.KeyTypes == "" {
		o.KeyTypes = "ed25519:rsa"
	}
	if o.MinKeySizes == "" {
		o.MinKeySizes = "rsa=1024 ed25519=250"
	}
	var sigs []*sigState
	for i := range hs {
		h := hs[i]
		if h.Type == '*' || !strings.EqualFold(h.Name, "DKIM-Signature") {
			continue
		}
		if s := parseSignature(hs, i, o); s != nil {
			sigs = append(sigs, s)
		}
	}
	// Exim takes the signatures in the order of preference of
	// dkim_verify_keytypes, then dkim_verify_hashes, and in header order
	// among equals (observed with Exim 4.96).
	sort.SliceStable(sigs, func(a, b int) bool {
		ka, ha := algoRank(sigs[a].res.Algo, o)
		kb, hb := algoRank(sigs[b].res.Algo, o)
		if ka != kb {
			return ka < kb
		}
		return ha < hb
	})
	// Body hashes, one pass over the body for all signatures.
	var ws []io.Writer
	var canons []*bodyCanon
	for _, s := range sigs {
		if s.bodyHash == nil {
			continue
		}
		bc := newBodyCanon(s.bodyCanon, s.bodyHash)
		bc.limit = s.limit
		canons = append(canons, bc)
		ws = append(ws, bc)
	}
	if len(ws) > 0 {
		io.Copy(io.MultiWriter(ws...), bufio.NewReader(body))
		for _, bc := range canons {
			bc.Close()
		}
	}
	out := make([]Result, 0, len(sigs))
	passed := false
	for _, s := range sigs {
		if s.res.Status == "" {
			if o.Minimal && passed {
				// dkim_verify_minimal: the rest are left unverified.
				s.res.Status, s.res.Detail = StatusNone, "not verified"
			} else {
				s.finish(ctx, hs, lookup, o)
			}
		}
		if s.res.Status == StatusPass {
			passed = true
		}
		out = append(out, s.res)
	}
	return out
}

// sigState is one signature being verified.
type sigState struct {
	res       Result
	index     int // the field's index in the headers
	tags      map[string]Tag
	raw       string // the field's value (after the colon)
	hash      crypto.Hash
	keyType   string
	bodyCanon Canon
	hdrCanon  Canon
	bodyHash  hash.Hash
	limit     int64
	names     []string
}

func (s *sigState) invalid(reason, detail string) {
	s.res.Status, s.res.Reason, s.res.Detail = StatusInvalid, reason, detail
	s.bodyHash = nil
}

func parseSignature(hs message.Headers, i int, o VerifyOptions) *sigState {
	s := &sigState{index: i, limit: -1}
	r := &s.res
	r.BodyLength, r.Created, r.Expires = NoLimit, "0", NoLimit
	r.KeyTesting, r.KeyNoSubdomains, r.KeySrvType, r.KeyGranularity = "0", "0", "*", "*"
	s.raw = hs[i].Value()
	tags, err := ParseTags(s.raw)
	if err != nil {
		return nil
	}
	s.tags = tagMap(tags)
	get := func(n string) string { return s.tags[n].Value }
	r.Domain = strings.ToLower(get("d"))
	r.Selector = get("s")
	r.Algo = get("a")
	r.Identity = get("i")
	if sig, err := base64.StdEncoding.DecodeString(noFWS(get("b"))); err == nil {
		r.SigBits = 8 * len(sig)
	}
	c := get("c")
	if c == "" {
		c = "simple/simple"
	}
	hc, bcn, _ := strings.Cut(c, "/")
	if bcn == "" {
		bcn = "simple"
	}
	r.CanonHeaders, r.CanonBody = hc, bcn
	for _, n := range strings.Split(noFWS(get("h")), ":") {
		if n != "" {
			s.names = append(s.names, n)
		}
	}
	r.HeaderNames = strings.Join(s.names, ":")
	r.CopiedHeaders = noFWS(get("z"))
	if v := get("l"); v != "" {
		r.BodyLength = v
	}
	if v := get("t"); v != "" {
		r.Created = v
	}
	if v := get("x"); v != "" {
		r.Expires = v
	}
	if v, ok := s.tags["v"]; (ok && v.Value != "1") || (hc != "simple" && hc != "relaxed") || (bcn != "simple" && bcn != "relaxed") {
		s.invalid("", "invalid - signature tag missing or invalid")
		return s
	}
	kt, hn, _ := strings.Cut(r.Algo, "-")
	h, ok := hashByName(hn)
	if !ok || (kt != "rsa" && kt != "ed25519") {
		s.invalid("", "invalid - unsupported algorithm")
		return s
	}
	if !inList(o.Hashes, hn) || !inList(o.KeyTypes, kt) {
		return nil
	}
	if v := get("l"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			s.invalid("", "invalid - signature tag missing or invalid")
			return s
		}
		s.limit = n
	}
	s.hash, s.keyType = h, kt
	s.hdrCanon, s.bodyCanon = Canon(hc), Canon(bcn)
	s.bodyHash = h.New()
	return s
}

// algoRank is the position of an a= value's key type in
// dkim_verify_keytypes and of its hash in dkim_verify_hashes (past the
// end when absent).
func algoRank(algo string, o VerifyOptions) (int, int) {
	kt, hn, _ := strings.Cut(strings.ToLower(algo), "-")
	return listIndex(o.KeyTypes, kt), listIndex(o.Hashes, hn)
}

func listIndex(list, item string) int {
	l := splitColonList(list)
	for i, e := range l {
		if strings.EqualFold(e, item) {
			return i
		}
	}
	return len(l)
}

func inList(list, item string) bool {
	for _, e := range splitColonList(list) {
		if strings.EqualFold(e, item) {
			return true
		}
	}
	return false
}

// finish checks the body hash, fetches the key and checks the signature.
func (s *sigState) finish(ctx context.Context, hs message.Headers, lookup KeyLookup, o VerifyOptions) {
	r := &s.res
	want, err := base64.StdEncoding.DecodeString(noFWS(s.tags["bh"].Value))
	if err != nil || string(want) != string(s.bodyHash.Sum(nil)) {
		r.Status, r.Reason = StatusFail, ReasonBodyhashMismatch
		r.Detail = "verification failed - body hash mismatch (body probably modified in transit)"
		return
	}
	txts, err := lookup(ctx, r.Selector+"._domainkey."+r.Domain)
	if err != nil || len(txts) == 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("DKIM: d=%s s=%s [failed key import]", r.Domain, r.Selector))
		r.Status, r.Reason = StatusInvalid, ReasonPubkeyUnavailable
		r.Detail = "invalid - public key record (currently?) unavailable"
		return
	}
	pub, err := s.parseKeyRecord(txts[0])
	if err != nil {
		r.Notes = append(r.Notes, fmt.Sprintf("DKIM: d=%s s=%s [failed key import]", r.Domain, r.Selector))
		var de derError
		if errors.As(err, &de) {
			// Exim's crypto library explains a key it cannot decode.
			r.Notes = append(r.Notes, "DKIM: validation error: ASN1 parser: Error in TAG.")
		}
		r.Status, r.Reason = StatusInvalid, keySyntaxReason(err)
		r.Detail = "invalid - syntax error in public key record"
		return
	}
	if min := minKeySize(o.MinKeySizes, s.keyType); r.KeyLength < min {
		r.Status, r.Reason = StatusFail, ReasonSignatureIncorrect
		r.Detail = "verification failed - signature invalid (key too short)"
		return
	}
	hh := s.hash.New()
	for _, h := range selectHeaders(withoutIndex(hs, s.index), s.names) {
		io.WriteString(hh, canonHeader(s.hdrCanon, h.Text, false))
	}
	io.WriteString(hh, canonHeader(s.hdrCanon, stripB(hs[s.index].Text, s.tags["b"], len(hs[s.index].Text)-len(s.raw)), true))
	sig, err := base64.StdEncoding.DecodeString(noFWS(s.tags["b"].Value))
	ok := err == nil
	if ok {
		switch k := pub.(type) {
		case *rsa.PublicKey:
			ok = rsa.VerifyPKCS1v15(k, s.hash, hh.Sum(nil), sig) == nil
		case ed25519.PublicKey:
			ok = ed25519.Verify(k, hh.Sum(nil), sig)
		default:
			ok = false
		}
	}
	if !ok {
		r.Notes = append(r.Notes, "DKIM: validation error: Public key signature verification has failed.")
		r.Status, r.Reason = StatusFail, ReasonSignatureIncorrect
		r.Detail = "verification failed - signature did not verify (headers probably modified in transit)"
		return
	}
	r.Status, r.Detail = StatusPass, "verification succeeded"
}

// withoutIndex hides the signature being checked from the h= selection
// (a DKIM-Signature named in h= means other signatures).
func withoutIndex(hs message.Headers, i int) message.Headers {
	out := make(message.Headers, len(hs))
	copy(out, hs)
	out[i].Type = '*'
	return out
}

// stripB returns the field text with the b= value (and the white space
// around it) removed; off is the offset of the value text in the field.
func stripB(field string, b Tag, off int) string {
	start, end := b.Start+off, b.End+off
	for end < len(field) && isFWS(field[end]) {
		end++
	}
	return field[:start] + field[end:]
}

func minKeySize(list, kt string) int {
	for _, f := range strings.Fields(strings.ReplaceAll(list, ":", " ")) {
		k, v, ok := strings.Cut(f, "=")
		if ok && k == kt {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	return 0
}

// parseKeyRecord parses a key record (RFC 6376 section 3.6.1), fills the
// $dkim_key_* values and returns the public key.
func (s *sigState) parseKeyRecord(rec string) (crypto.PublicKey, error) {
	r := &s.res
	tags, err := ParseTags(rec)
	if err != nil {
		return nil, err
	}
	m := tagMap(tags)
	if v, ok := m["v"]; ok && v.Value != "DKIM1" {
		return nil, errors.New("bad v=")
	}
	if v, ok := m["s"]; ok {
		r.KeySrvType = v.Value
	}
	if v, ok := m["g"]; ok {
		r.KeyGranularity = v.Value
	}
	r.KeyNotes = m["n"].Value
	for _, f := range strings.Split(noFWS(m["t"].Value), ":") {
		switch f {
		case "y":
			r.KeyTesting = "1"
		case "s":
			r.KeyNoSubdomains = "1"
		}
	}
	kt := "rsa"
	if v, ok := m["k"]; ok {
		kt = v.Value
	}
	p, ok := m["p"]
	if !ok {
		return nil, errors.New("no p=")
	}
	der, err := base64.StdEncoding.DecodeString(noFWS(p.Value))
	if err != nil {
		return nil, errors.New("bad p=")
	}
	if len(der) == 0 {
		return nil, derError{errors.New("empty p= (revoked key)")}
	}
	if kt != s.keyType {
		return nil, errors.New("key type mismatch")
	}
	switch kt {
	case "ed25519":
		if len(der) != ed25519.PublicKeySize {
			return nil, errors.New("bad ed25519 key")
		}
		r.KeyLength = 256
		return ed25519.PublicKey(der), nil
	case "rsa":
		k, err := x509.ParsePKIXPublicKey(der)
		if err != nil {
			k2, err2 := x509.ParsePKCS1PublicKey(der)
			if err2 != nil {
				return nil, derError{err}
			}
			k = k2
		}
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, errors.New("not an RSA key")
		}
		r.KeyLength = rk.N.BitLen()
		return rk, nil
	}
	return nil, errors.New("unknown key type")
}

func unset(s string) string {
	if s == "" {
		return "<UNSET>"
	}
	return s
}

// derError marks a key record whose p= does not decode as a key.
type derError struct{ error }

// keySyntaxReason is $dkim_verify_reason for a key record Exim cannot use:
// pubkey_dns_syntax when the record's tags are wrong, pubkey_der_syntax
// when p= is not a key (the spec names only "pubkey_syntax"; Exim 4.96
// sets these two).
func keySyntaxReason(err error) string {
	var de derError
	if errors.As(err, &de) {
		return ReasonPubkeyDERSyntax
	}
	return ReasonPubkeyDNSSyntax
}

// LogLine returns the dkim_verbose main log line for the signature (the
// text after the message id): "DKIM: d=… s=… c=… a=… b=… [status]".
// Spec: chapter "DKIM, SPF, SRS and DMARC", section 1, and chapter "Log
// files".
func (r *Result) LogLine() string {
	var b strings.Builder
	fmt.Fprintf(&b, "DKIM: d=%s s=%s c=%s/%s a=%s b=%d", unset(r.Domain), unset(r.Selector), r.CanonHeaders, r.CanonBody, unset(r.Algo), r.SigBits)
	if r.Identity != "" {
		fmt.Fprintf(&b, " i=%s", r.Identity)
	}
	if r.Created != "0" {
		fmt.Fprintf(&b, " t=%s", r.Created)
	}
	if r.Expires != NoLimit {
		fmt.Fprintf(&b, " x=%s", r.Expires)
	}
	if r.BodyLength != NoLimit {
		fmt.Fprintf(&b, " l=%s", r.BodyLength)
	}
	fmt.Fprintf(&b, " [%s]", r.Detail)
	return b.String()
}
