package expand

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// cryptEq is crypteq{plain}{encrypted}: the second string is either in
// the LDAP form "{md5}...", "{sha1}...", "{crypt}..." or "{crypt16}..."
// (mechanism names matched caselessly), or a crypt() result. Digests are
// base64 (24 or 28 characters) or hex (32 or 40, any case); other lengths
// do not match. Spec: "Expansion conditions", crypteq.
func cryptEq(plain, enc string) (bool, error) {
	if !strings.HasPrefix(enc, "{") {
		return cryptMatches(plain, enc), nil
	}
	end := strings.IndexByte(enc, '}')
	if end < 0 {
		return false, errorf("unknown encryption mechanism in \"%s\"", enc)
	}
	mech, data := strings.ToLower(enc[1:end]), enc[end+1:]
	switch mech {
	case "md5":
		sum := md5.Sum([]byte(plain))
		return digestMatches(sum[:], data, 24, 32), nil
	case "sha1":
		sum := sha1.Sum([]byte(plain))
		return digestMatches(sum[:], data, 28, 40), nil
	case "crypt":
		return cryptMatches(plain, data), nil
	case "crypt16":
		return crypt16Matches(plain, data), nil
	}
	return false, errorf("unknown encryption mechanism in \"%s\"", enc)
}

// digestMatches compares a digest with its base64 or hex form.
func digestMatches(sum []byte, data string, b64Len, hexLen int) bool {
	switch len(data) {
	case b64Len:
		return data == base64.StdEncoding.EncodeToString(sum)
	case hexLen:
		return strings.EqualFold(data, hex.EncodeToString(sum))
	}
	return false
}

// cryptMatches reports whether crypt(plain, enc) gives enc.
func cryptMatches(plain, enc string) bool {
	got, ok := unixCrypt(plain, enc)
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(enc)) == 1
}

// crypt16Matches is Exim's own crypt16(): up to eight characters as for
// crypt(); a longer password (up to sixteen characters) appends the crypt()
// of characters 9 to 16, salted with characters 3 and 4 of the first
// result, without its salt.
func crypt16Matches(plain, enc string) bool {
	if len(plain) <= 8 {
		return cryptMatches(plain, enc)
	}
	first, ok := unixCrypt(plain[:8], enc)
	if !ok || len(first) < 4 {
		return false
	}
	second, ok := unixCrypt(plain[8:min(len(plain), 16)], first[2:4])
	if !ok {
		return false
	}
	got := first + second[2:]
	return subtle.ConstantTimeCompare([]byte(got), []byte(enc)) == 1
}
