package expand

import (
	"crypto/hmac"
	"crypto/md5"
	"encoding/hex"
	"strings"
)

// srsBase32 is the alphabet of the SRS timestamp.
const srsBase32 = "abcdefghijklmnopqrstuvwxyz234567"

// evalSRSEncode is ${srs_encode{secret}{return path}{original domain}}:
// SRS0=HHHH=TT=domain=local@original-domain, where HHHH is the start of
// an HMAC-MD5 of the (lower-cased) return path and TT the day number
// modulo 1024 in base 32. An empty return path gives an empty result.
// Spec: chapter "DKIM, SPF, SRS and DMARC", "SRS (Sender Rewriting Scheme)".
func evalSRSEncode(st *state, args []node) (string, error) {
	a, err := st.strArgs(args)
	if err != nil {
		return "", err
	}
	secret, rp, orig := a[0], a[1], a[2]
	if rp == "" {
		return "", nil
	}
	local, domain, err := parseAddress(rp)
	if err != nil {
		return "", err
	}
	m := hmac.New(md5.New, []byte(secret))
	m.Write([]byte(strings.ToLower(rp)))
	sum := hex.EncodeToString(m.Sum(nil))[:4]
	day := int(st.now().Unix()/86400) % 1024
	ts := string([]byte{srsBase32[day>>5], srsBase32[day&31]})
	return "SRS0=" + sum + "=" + ts + "=" + domain + "=" + local + "@" + orig, nil
}

// parseAddress extracts the local part and domain from an RFC 2822
// address as Exim does for srs_encode, with Exim's error texts: a phrase
// and <...>, a source route and comments are allowed and dropped. The
// domain is empty for an unqualified address. It is a subset of Exim's
// address parser, enough for return paths.
func parseAddress(s string) (local, domain string, err error) {
	a := extractScanner{s: stripComments(s)}
	a.space()
	angle := false
	if a.more() && a.peek() == '<' {
		angle = true
		a.i++
	}
	if err := a.route(); err != nil {
		return "", "", err
	}
	local, ok := a.localPart()
	if !ok {
		if !angle {
			return "", "", errorf("missing or malformed local part (expected word or \"<\")")
		}
		return "", "", errorf("missing or malformed local part")
	}
	a.space()
	if !angle && a.more() && (a.peek() == ',' || a.peek() == '\\') {
		return "", "", errorf("missing or malformed local part (expected word or \"<\")")
	}
	if !angle && a.more() && a.peek() != '@' && a.peek() != '<' && isAtomChar(a.peek()) {
		// A phrase: "Name <addr>".
		for a.more() && a.peek() != '<' && a.peek() != '@' {
			if !isAtomChar(a.peek()) && !isSpace(a.peek()) && a.peek() != '"' {
				return "", "", errorf("missing or malformed local part (expected word or \"<\")")
			}
			a.i++
		}
		if !a.more() || a.peek() != '<' {
			return "", "", errorf("missing or malformed local part (expected word or \"<\")")
		}
		a.i++
		angle = true
		if err := a.route(); err != nil {
			return "", "", err
		}
		if local, ok = a.localPart(); !ok {
			return "", "", errorf("missing or malformed local part")
		}
		a.space()
	} else if !angle && a.more() && a.peek() == '<' {
		a.i++
		angle = true
		if local, ok = a.localPart(); !ok {
			return "", "", errorf("missing or malformed local part")
		}
		a.space()
	}
	if a.more() && a.peek() == '@' {
		a.i++
		a.space()
		if domain, ok = a.domain(); !ok {
			return "", "", errorf("domain missing or malformed")
		}
	}
	a.space()
	if angle {
		if !a.more() || a.peek() != '>' {
			return "", "", errorf("'>' missing at end of address")
		}
		a.i++
		a.space()
	}
	if a.more() {
		return "", "", errorf("malformed address: %s may not follow %s", a.s[a.i:], strings.TrimLeft(a.s[:a.i], " \t"))
	}
	return local, domain, nil
}

// extractScanner walks over an address.
type extractScanner struct {
	s string
	i int
}

func (a *extractScanner) more() bool { return a.i < len(a.s) }
func (a *extractScanner) peek() byte { return a.s[a.i] }
func (a *extractScanner) space() {
	for a.more() && isSpace(a.peek()) {
		a.i++
	}
}

// isAtomChar reports whether c may appear in an unquoted local part (Exim
// allows dots anywhere).
func isAtomChar(c byte) bool {
	if isAlnum(c) || c >= 0x80 {
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~.", c) >= 0
}

// route skips a source route "@a,@b:".
func (a *extractScanner) route() error {
	a.space()
	if !a.more() || a.peek() != '@' {
		return nil
	}
	for a.more() && a.peek() == '@' {
		a.i++
		if _, ok := a.domain(); !ok {
			return errorf("domain missing or malformed")
		}
		a.space()
		if a.more() && a.peek() == ',' {
			a.i++
			a.space()
			continue
		}
		if !a.more() || a.peek() != ':' {
			return errorf("no local part")
		}
		a.i++
		a.space()
		return nil
	}
	return nil
}

// localPart reads words (atoms and quoted strings) separated by dots.
func (a *extractScanner) localPart() (string, bool) {
	start := a.i
	for a.more() {
		c := a.peek()
		switch {
		case c == '"':
			a.i++
			for a.more() && a.peek() != '"' {
				if a.peek() == '\\' {
					a.i++
				}
				a.i++
			}
			if !a.more() {
				return "", false
			}
			a.i++
		case isAtomChar(c):
			a.i++
		default:
			return a.s[start:a.i], a.i > start
		}
	}
	return a.s[start:a.i], a.i > start
}

// domain reads a domain: dot-separated labels of letters, digits and
// hyphens (not starting with a hyphen), or a [literal].
func (a *extractScanner) domain() (string, bool) {
	start := a.i
	if a.more() && a.peek() == '[' {
		end := strings.IndexByte(a.s[a.i:], ']')
		if end < 0 {
			return "", false
		}
		a.i += end + 1
		return a.s[start:a.i], true
	}
	for {
		ls := a.i
		for a.more() && (isAlnum(a.peek()) || a.peek() == '-' && a.i > ls) {
			a.i++
		}
		if a.i == ls {
			return "", false
		}
		if !a.more() || a.peek() != '.' {
			return a.s[start:a.i], true
		}
		a.i++
	}
}

// stripComments removes (comments) outside quoted strings.
func stripComments(s string) string {
	if !strings.Contains(s, "(") {
		return s
	}
	var b strings.Builder
	depth, quoted := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted:
			if c == '"' {
				quoted = false
			}
		case c == '"' && depth == 0:
			quoted = true
		case c == '(':
			depth++
			continue
		case c == ')' && depth > 0:
			depth--
			continue
		}
		if depth == 0 {
			b.WriteByte(c)
		}
	}
	return b.String()
}
