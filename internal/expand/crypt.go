package expand

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"strconv"
	"strings"
)

// unixCrypt computes crypt(3) of key with the salt and method taken from
// setting, as glibc's libcrypt does for the methods it shares with Exim's
// usual password files: traditional DES, "$1$" (MD5), "$5$" (SHA-256) and
// "$6$" (SHA-512). ok is false for other methods and malformed settings
// (crypt() then fails and nothing matches).
func unixCrypt(key, setting string) (string, bool) {
	switch {
	case strings.HasPrefix(setting, "$1$"):
		return md5Crypt(key, setting[3:]), true
	case strings.HasPrefix(setting, "$5$"):
		return shaCrypt(key, setting[3:], "$5$", sha256.New, sha256Order[:], 3)
	case strings.HasPrefix(setting, "$6$"):
		return shaCrypt(key, setting[3:], "$6$", sha512.New, sha512Order[:], 2)
	case strings.HasPrefix(setting, "$"), strings.HasPrefix(setting, "_"):
		return "", false
	}
	return desCrypt(key, setting)
}

// cryptAlphabet is crypt(3)'s base64 alphabet.
const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// crypt64 appends n characters for the 24-bit value w, low bits first.
func crypt64(b []byte, w uint32, n int) []byte {
	for ; n > 0; n-- {
		b = append(b, cryptAlphabet[w&0x3f])
		w >>= 6
	}
	return b
}

// md5Crypt is the "$1$" method (Poul-Henning Kamp's MD5 crypt).
func md5Crypt(key, rest string) string {
	salt := rest
	if i := strings.IndexByte(salt, '$'); i >= 0 {
		salt = salt[:i]
	}
	if len(salt) > 8 {
		salt = salt[:8]
	}
	alt := md5.Sum([]byte(key + salt + key))
	h := md5.New()
	h.Write([]byte(key + "$1$" + salt))
	for n := len(key); n > 0; n -= 16 {
		h.Write(alt[:min(n, 16)])
	}
	for i := len(key); i > 0; i >>= 1 {
		if i&1 != 0 {
			h.Write([]byte{0})
		} else {
			h.Write([]byte(key[:1]))
		}
	}
	final := h.Sum(nil)
	for i := 0; i < 1000; i++ {
		h := md5.New()
		if i&1 != 0 {
			h.Write([]byte(key))
		} else {
			h.Write(final)
		}
		if i%3 != 0 {
			h.Write([]byte(salt))
		}
		if i%7 != 0 {
			h.Write([]byte(key))
		}
		if i&1 != 0 {
			h.Write(final)
		} else {
			h.Write([]byte(key))
		}
		final = h.Sum(nil)
	}
	out := []byte("$1$" + salt + "$")
	for _, t := range [][3]int{{0, 6, 12}, {1, 7, 13}, {2, 8, 14}, {3, 9, 15}, {4, 10, 5}} {
		out = crypt64(out, uint32(final[t[0]])<<16|uint32(final[t[1]])<<8|uint32(final[t[2]]), 4)
	}
	return string(crypt64(out, uint32(final[11]), 2))
}

// sha256Order and sha512Order are the byte orders of the SHA-crypt
// encodings, three bytes (high to low) per group.
var sha256Order = [...]int{0, 10, 20, 21, 1, 11, 12, 22, 2, 3, 13, 23, 24, 4, 14, 15, 25, 5, 6, 16, 26, 27, 7, 17, 18, 28, 8, 9, 19, 29}

var sha512Order = [...]int{0, 21, 42, 22, 43, 1, 44, 2, 23, 3, 24, 45, 25, 46, 4, 47, 5, 26, 6, 27, 48, 28, 49, 7, 50, 8, 29, 9, 30, 51, 31, 52, 10, 53, 11, 32, 12, 33, 54, 34, 55, 13, 56, 14, 35, 15, 36, 57, 37, 58, 16, 59, 17, 38, 18, 39, 60, 40, 61, 19, 62, 20, 41}

// shaCrypt is the "$5$" and "$6$" methods (Ulrich Drepper's SHA crypt).
func shaCrypt(key, rest, prefix string, newHash func() hash.Hash, order []int, tail int) (string, bool) {
	rounds, explicit := 5000, false
	if r, ok := strings.CutPrefix(rest, "rounds="); ok {
		i := strings.IndexByte(r, '$')
		if i < 0 {
			return "", false
		}
		n, err := strconv.ParseUint(r[:i], 10, 32)
		if err != nil {
			return "", false
		}
		rounds = int(min(max(n, 1000), 999999999))
		explicit = true
		rest = r[i+1:]
	}
	salt := rest
	if i := strings.IndexByte(salt, '$'); i >= 0 {
		salt = salt[:i]
	}
	if len(salt) > 16 {
		salt = salt[:16]
	}
	sum := func(parts ...[]byte) []byte {
		h := newHash()
		for _, p := range parts {
			h.Write(p)
		}
		return h.Sum(nil)
	}
	k, s := []byte(key), []byte(salt)
	b := sum(k, s, k)
	h := newHash()
	h.Write(k)
	h.Write(s)
	n := len(k)
	for ; n > len(b); n -= len(b) {
		h.Write(b)
	}
	h.Write(b[:n])
	for i := len(k); i > 0; i >>= 1 {
		if i&1 != 0 {
			h.Write(b)
		} else {
			h.Write(k)
		}
	}
	a := h.Sum(nil)
	repeat := func(d []byte, count, length int) []byte {
		h := newHash()
		for i := 0; i < count; i++ {
			h.Write(d)
		}
		dig := h.Sum(nil)
		out := make([]byte, 0, length)
		for len(out) < length {
			out = append(out, dig[:min(len(dig), length-len(out))]...)
		}
		return out
	}
	p := repeat(k, len(k), len(k))
	ss := repeat(s, 16+int(a[0]), len(s))
	c := a
	for i := 0; i < rounds; i++ {
		h := newHash()
		if i&1 != 0 {
			h.Write(p)
		} else {
			h.Write(c)
		}
		if i%3 != 0 {
			h.Write(ss)
		}
		if i%7 != 0 {
			h.Write(p)
		}
		if i&1 != 0 {
			h.Write(c)
		} else {
			h.Write(p)
		}
		c = h.Sum(nil)
	}
	out := []byte(prefix)
	if explicit {
		out = append(out, "rounds="+strconv.Itoa(rounds)+"$"...)
	}
	out = append(out, salt+"$"...)
	for i := 0; i+2 < len(order); i += 3 {
		out = crypt64(out, uint32(c[order[i]])<<16|uint32(c[order[i+1]])<<8|uint32(c[order[i+2]]), 4)
	}
	if tail == 3 {
		out = crypt64(out, uint32(c[31])<<8|uint32(c[30]), 3)
	} else {
		out = crypt64(out, uint32(c[63]), 2)
	}
	return string(out), true
}
