package dkim

import (
	"bufio"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	_ "crypto/sha1" // registers crypto.SHA1
	_ "crypto/sha256"
	_ "crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/exigo-mta/exigo/internal/message"
)

// DefaultSignHeaders is Exim's default dkim_sign_headers (the builtin macro
// _DKIM_SIGN_HEADERS): the header names of RFC 4871, each signed whether
// or not the message has it.
const DefaultSignHeaders = "From:Sender:Reply-To:Subject:Date:Message-ID:To:Cc:MIME-Version:Content-Type:Content-Transfer-Encoding:Content-ID:Content-Description:Resent-Date:Resent-From:Resent-Sender:Resent-To:Resent-Cc:Resent-Message-ID:In-Reply-To:References:List-Id:List-Help:List-Unsubscribe:List-Subscribe:List-Post:List-Owner:List-Archive"

// OversignHeaders is Exim's builtin macro _DKIM_OVERSIGN_HEADERS.
const OversignHeaders = "+From:+Sender:+Reply-To:+Subject:+Date:+Message-ID:+To:+Cc:+MIME-Version:+Content-Type:+Content-Transfer-Encoding:+Content-ID:+Content-Description:+Resent-Date:+Resent-From:+Resent-Sender:+Resent-To:+Resent-Cc:+Resent-Message-ID:+In-Reply-To:+References:+List-Id:+List-Help:+List-Unsubscribe:+List-Subscribe:+List-Post:+List-Owner:+List-Archive"

// SignOptions describe one signature: one element of dkim_domain and one of
// dkim_selector, with the other dkim_* options expanded while
// $dkim_domain and $dkim_selector held them (see the package comment).
type SignOptions struct {
	// Domain is the d= value (Exim lowercases each dkim_domain element).
	Domain string
	// Selector is the s= value.
	Selector string
	// Key is the private key (see ParsePrivateKey or LoadPrivateKey).
	Key crypto.Signer
	// Canon is the expanded dkim_canon: "relaxed" (also when empty) or
	// "simple", used for headers and body alike.
	Canon string
	// Hash is the expanded dkim_hash: "sha256" (also when empty), "sha1"
	// or "sha512".
	Hash string
	// Identity is the expanded dkim_identity (i=), written as it is.
	Identity string
	// SignHeaders is the expanded dkim_sign_headers: a colon-separated
	// list of names, each optionally prefixed "=" or "+"; empty means
	// DefaultSignHeaders.
	SignHeaders string
	// Timestamps is the expanded dkim_timestamps: empty for no t= and x=,
	// otherwise the number of seconds from Now to the expiry x=.
	Timestamps string
	// Now is the signing time for t= (time.Now when zero).
	Now time.Time
}

// Sign signs a message (headers and body, lines ending in LF or CRLF, as
// it will be sent: the caller passes the headers the transport sends,
// after headers_add/headers_remove and Exim's own Received:) once for each
// element of opts, and returns the DKIM-Signature fields in that order,
// each "DKIM-Signature: ...\n" folded with "\n\t", for the transport to
// put above all the other headers in the order given. A message is signed
// without any of the other new signatures. An error names the signature
// that failed; dkim_strict then decides between deferring and sending
// unsigned.
func Sign(hs message.Headers, body io.Reader, opts ...SignOptions) ([]string, error) {
	type bodyKey struct{ canon, hash string }
	hashes := map[bodyKey]hash.Hash{}
	var writers []io.Writer
	var canons []*bodyCanon
	for i := range opts {
		o := &opts[i]
		if o.Canon == "" {
			o.Canon = string(Relaxed)
		}
		if o.Hash == "" {
			o.Hash = "sha256"
		}
		if o.Canon != string(Relaxed) && o.Canon != string(Simple) {
			return nil, fmt.Errorf("DKIM: unknown canonicalization %q", o.Canon)
		}
		if _, ok := hashByName(o.Hash); !ok {
			return nil, fmt.Errorf("DKIM: unrecognised hash %q", o.Hash)
		}
		k := bodyKey{o.Canon, o.Hash}
		if hashes[k] == nil {
			h, _ := hashByName(o.Hash)
			hh := h.New()
			hashes[k] = hh
			bc := newBodyCanon(Canon(o.Canon), hh)
			canons = append(canons, bc)
			writers = append(writers, bc)
		}
	}
	if _, err := io.Copy(io.MultiWriter(writers...), bufio.NewReader(body)); err != nil {
		return nil, fmt.Errorf("DKIM: reading the body: %w", err)
	}
	for _, bc := range canons {
		bc.Close()
	}
	out := make([]string, 0, len(opts))
	for _, o := range opts {
		bh := base64.StdEncoding.EncodeToString(hashes[bodyKey{o.Canon, o.Hash}].Sum(nil))
		f, err := signOne(hs, o, bh)
		if err != nil {
			return nil, fmt.Errorf("DKIM: signing for d=%s s=%s: %w", o.Domain, o.Selector, err)
		}
		out = append(out, f)
	}
	return out, nil
}

func hashByName(name string) (crypto.Hash, bool) {
	switch name {
	case "sha1":
		return crypto.SHA1, true
	case "sha256":
		return crypto.SHA256, true
	case "sha512":
		return crypto.SHA512, true
	}
	return 0, false
}

// keyType names the key's algorithm as in a=: "rsa" or "ed25519".
func keyType(k crypto.Signer) (string, error) {
	switch k.Public().(type) {
	case *rsa.PublicKey:
		return "rsa", nil
	case ed25519.PublicKey:
		return "ed25519", nil
	}
	return "", errors.New("unsupported key type")
}

func signOne(hs message.Headers, o SignOptions, bh string) (string, error) {
	if o.Key == nil {
		return "", errors.New("no private key")
	}
	kt, err := keyType(o.Key)
	if err != nil {
		return "", err
	}
	algo := kt + "-" + o.Hash
	names := signedNames(hs, o.SignHeaders)
	var t, x string
	if o.Timestamps != "" {
		n, err := strconv.ParseUint(strings.TrimSpace(o.Timestamps), 10, 63)
		if err != nil {
			return "", fmt.Errorf("bad dkim_timestamps %q", o.Timestamps)
		}
		now := o.Now
		if now.IsZero() {
			now = time.Now()
		}
		t = strconv.FormatInt(now.Unix(), 10)
		x = strconv.FormatInt(now.Unix()+int64(n), 10)
	}
	f := &folder{}
	f.write("DKIM-Signature:")
	f.item(true, "v=", "1")
	for _, tv := range [][2]string{{"a=", algo}, {"q=", "dns/txt"}, {"c=", o.Canon + "/" + o.Canon}, {"d=", o.Domain}, {"s=", o.Selector}} {
		f.sep(";")
		f.item(true, tv[0], tv[1])
	}
	f.sep(";")
	for i, n := range names {
		if i == 0 {
			f.item(true, "h=", n)
			continue
		}
		f.sep(":")
		f.item(false, "", n)
	}
	f.sep(";")
	f.item(true, "bh=", bh)
	if o.Identity != "" {
		f.sep(";")
		f.item(true, "i=", o.Identity)
	}
	if t != "" {
		f.sep(";")
		f.item(true, "t=", t)
		f.sep(";")
		f.item(true, "x=", x)
	}
	f.sep(";")
	sigLen := base64.StdEncoding.EncodedLen(sigSize(o.Key))
	// The field as hashed has an empty b=; its layout so far does not
	// depend on the value, only on its length.
	h, _ := hashByName(o.Hash)
	hh := h.New()
	for _, hdr := range selectHeaders(hs, names) {
		io.WriteString(hh, canonHeader(Canon(o.Canon), hdr.Text, false))
	}
	// The hashed text must have b= where the real one has it: lay it out
	// as the real field will be, with the value removed.
	hashed := layoutWithEmptyB(f, sigLen)
	io.WriteString(hh, canonHeader(Canon(o.Canon), hashed, true))
	sig, err := signDigest(o.Key, h, hh.Sum(nil))
	if err != nil {
		return "", err
	}
	f.item(true, "b=", base64.StdEncoding.EncodeToString(sig))
	f.sep(";")
	return f.b.String() + "\n", nil
}

// layoutWithEmptyB returns the field as f holds it followed by "b=;" placed
// as the real b= tag of n characters will be: the verifier removes the
// value with any white space around it, but keeps what comes before b=.
func layoutWithEmptyB(f *folder, n int) string {
	g := &folder{col: f.col}
	g.b.WriteString(f.b.String())
	g.item(true, "b=", strings.Repeat("x", n))
	s := g.b.String()
	i := strings.LastIndex(s, "b=")
	return s[:i+2] + ";"
}

func sigSize(k crypto.Signer) int {
	if p, ok := k.Public().(*rsa.PublicKey); ok {
		return p.Size()
	}
	return ed25519.SignatureSize
}

// signDigest signs a header hash: RSASSA-PKCS1-v1_5 for RSA keys (RFC 6376
// section 3.3.1), Ed25519 over the hash for Ed25519 keys (RFC 8463).
func signDigest(k crypto.Signer, h crypto.Hash, digest []byte) ([]byte, error) {
	if _, ok := k.Public().(ed25519.PublicKey); ok {
		return k.Sign(rand.Reader, digest, crypto.Hash(0))
	}
	return k.Sign(rand.Reader, digest, h)
}

// signedNames returns the h= list for a message: the message's headers
// from the bottom up, each taking the first element of the sign list that
// names it and is still open (a plain name takes one header, "=name" and
// "+name" any number), with the header's own spelling; then the plain
// names no header took and one more of each "+name", as the list spells
// them. Spec: option dkim_sign_headers; the order is Exim's, observed.
func signedNames(hs message.Headers, list string) []string {
	if strings.TrimSpace(list) == "" {
		list = DefaultSignHeaders
	}
	type entry struct {
		name string
		kind byte // 0, '=' or '+'
		used bool
	}
	var entries []entry
	for _, e := range splitColonList(list) {
		var k byte
		if e != "" && (e[0] == '=' || e[0] == '+') {
			k, e = e[0], e[1:]
		}
		if e == "" {
			continue
		}
		entries = append(entries, entry{name: e, kind: k})
	}
	var out []string
	for i := len(hs) - 1; i >= 0; i-- {
		h := hs[i]
		if h.Type == '*' {
			continue
		}
		for j := range entries {
			e := &entries[j]
			if !strings.EqualFold(e.name, h.Name) || (e.kind == 0 && e.used) {
				continue
			}
			e.used = true
			out = append(out, h.Name)
			break
		}
	}
	for _, e := range entries {
		if e.kind == '+' || (e.kind == 0 && !e.used) {
			out = append(out, e.name)
		}
	}
	return out
}

// splitColonList splits an Exim colon list: "::" is a colon in an
// element, white space around elements is dropped.
func splitColonList(s string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			if i+1 < len(s) && s[i+1] == ':' {
				cur.WriteByte(':')
				i++
				continue
			}
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
			continue
		}
		cur.WriteByte(s[i])
	}
	if t := strings.TrimSpace(cur.String()); t != "" {
		out = append(out, t)
	}
	return out
}

// selectHeaders returns the header instances h= names, in h= order: each
// name takes the lowest instance of that name not yet taken (RFC 6376
// section 5.4.2); names with no instance left take nothing.
func selectHeaders(hs message.Headers, names []string) []message.Header {
	taken := make([]bool, len(hs))
	var out []message.Header
	for _, n := range names {
		for i := len(hs) - 1; i >= 0; i-- {
			if taken[i] || hs[i].Type == '*' || !strings.EqualFold(hs[i].Name, strings.TrimSpace(n)) {
				continue
			}
			taken[i] = true
			out = append(out, hs[i])
			break
		}
	}
	return out
}

// KeyDisabled reports whether an expanded dkim_private_key means "do not
// sign": "0", "false" or empty. Spec: option dkim_private_key.
func KeyDisabled(s string) bool {
	return s == "" || s == "0" || s == "false"
}

// LoadPrivateKey reads an expanded dkim_private_key: a value starting with
// "/" names a file holding the key; anything else is the key itself.
func LoadPrivateKey(s string) (crypto.Signer, error) {
	if strings.HasPrefix(s, "/") {
		b, err := os.ReadFile(s)
		if err != nil {
			return nil, fmt.Errorf("DKIM: reading private key: %w", err)
		}
		s = string(b)
	}
	return ParsePrivateKey([]byte(s))
}

// ParsePrivateKey parses a PEM private key: PKCS#1 RSA ("RSA PRIVATE
// KEY") or PKCS#8 RSA or Ed25519 ("PRIVATE KEY").
func ParsePrivateKey(b []byte) (crypto.Signer, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("DKIM: private key is not in PEM format")
	}
	if blk.Type == "RSA PRIVATE KEY" {
		k, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("DKIM: parsing private key: %w", err)
		}
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("DKIM: parsing private key: %w", err)
	}
	switch v := k.(type) {
	case *rsa.PrivateKey:
		return v, nil
	case ed25519.PrivateKey:
		return v, nil
	}
	return nil, fmt.Errorf("DKIM: unsupported private key type %T", k)
}

// Strict reports whether an expanded dkim_strict asks to defer when
// signing fails: "1" or "true".
func Strict(s string) bool { return s == "1" || s == "true" }
