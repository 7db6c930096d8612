package expand

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"strings"
)

// hashOperators are the digest operators. Spec: "Expansion operators".
var hashOperators = map[string]opFunc{
	"md5": func(_ *state, s string, _ []int) (string, error) {
		sum := md5.Sum([]byte(s))
		return hex.EncodeToString(sum[:]), nil
	},
	"sha1": func(_ *state, s string, _ []int) (string, error) {
		sum := sha1.Sum([]byte(s))
		return strings.ToUpper(hex.EncodeToString(sum[:])), nil
	},
}

// hashSuffixOperators are the operators whose name carries a number:
// sha2_N/sha256_N, sha3_N, and the textual and numeric hashes hash_N_M,
// h_N_M, nhash_N_M, nh_N_M. Spec: "Expansion operators" and the items
// "hash" and "nhash".
var hashSuffixOperators = map[string]suffixOp{
	"sha2":   sha2Op,
	"sha256": sha2Op,
	"sha3":   sha3Op,
	"hash":   numericSuffixOp(2, false, opHash),
	"h":      numericSuffixOp(2, false, opHash),
	"nhash":  numericSuffixOp(2, false, opNhash),
	"nh":     numericSuffixOp(2, false, opNhash),
}

func sha2Op(_, suffix string, has bool) opFunc {
	return func(_ *state, s string, _ []int) (string, error) {
		var sum []byte
		switch {
		case !has || suffix == "256":
			d := sha256.Sum256([]byte(s))
			sum = d[:]
		case suffix == "384":
			d := sha512.Sum384([]byte(s))
			sum = d[:]
		case suffix == "512":
			d := sha512.Sum512([]byte(s))
			sum = d[:]
		default:
			return "", errorf("unrecognised sha2 variant")
		}
		return strings.ToUpper(hex.EncodeToString(sum)), nil
	}
}

func sha3Op(_, suffix string, has bool) opFunc {
	return func(_ *state, s string, _ []int) (string, error) {
		var sum []byte
		switch {
		case suffix == "224":
			d := sha3.Sum224([]byte(s))
			sum = d[:]
		case !has || suffix == "256":
			d := sha3.Sum256([]byte(s))
			sum = d[:]
		case suffix == "384":
			d := sha3.Sum384([]byte(s))
			sum = d[:]
		case suffix == "512":
			d := sha3.Sum512([]byte(s))
			sum = d[:]
		default:
			return "", errorf("unrecognised sha3 variant")
		}
		return strings.ToUpper(hex.EncodeToString(sum)), nil
	}
}

// hashChars are the characters of the textual hash, in Exim's order
// (observed: "s" and "t" change places).
const hashChars = "abcdefghijklmnopqrtsuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// opHash is ${hash_N_M:s}: a string of N characters from the first M of
// hashChars (M defaults to 26), or s itself when it has no more than N
// bytes. Each byte past the first N is rotated left by (byte + position)
// mod 8 bits and xored into slot position mod N.
func opHash(s string, vals []int) (string, error) {
	n, m := 0, 26
	if len(vals) > 0 {
		n = vals[0]
	}
	if len(vals) > 1 {
		m = vals[1]
	}
	if m > len(hashChars) {
		return "", errorf("hash count \"%d\" too big", m)
	}
	return hashString(s, n, m), nil
}

func hashString(s string, n, m int) string {
	if n < 0 || len(s) <= n {
		return s
	}
	if m <= 0 || n == 0 {
		// Exim gives nothing for no slots and stops on a zero modulus.
		return ""
	}
	slots := []byte(s[:n])
	for k := n; k < len(s); k++ {
		c := s[k]
		r := uint((int(c) + k) & 7)
		slots[k%n] ^= c<<r | c>>(8-r)
	}
	for i, v := range slots {
		slots[i] = hashChars[int(v)%m]
	}
	return string(slots)
}

// nhashPrimes weight the bytes of the numeric hash, cyclically.
var nhashPrimes = [...]uint32{113, 109, 107, 103, 101, 97, 89, 83, 79, 73,
	71, 67, 61, 59, 53, 47, 43, 41, 37, 31, 29, 23, 19, 17, 13, 11, 7, 5, 3}

// opNhash is ${nhash_N_M:s}: the weighted byte sum modulo N, or, with M,
// modulo N*M printed as quotient/remainder of M.
func opNhash(s string, vals []int) (string, error) {
	n, m := 0, 0
	if len(vals) > 0 {
		n = vals[0]
	}
	if len(vals) > 1 {
		m = vals[1]
	}
	return nhashString(s, n, m, len(vals) > 1)
}

// nhashTotal is the weighted byte sum that both forms of nhash reduce.
func nhashTotal(s string) uint32 {
	var total uint32
	for i := 0; i < len(s); i++ {
		total += uint32(s[i]) * nhashPrimes[i%len(nhashPrimes)]
	}
	return total
}

func nhashString(s string, n, m int, two bool) (string, error) {
	total := nhashTotal(s)
	if !two {
		if n <= 0 {
			return "", errorf("nhash: division by zero")
		}
		return fmt.Sprint(total % uint32(n)), nil
	}
	mod := uint32(n) * uint32(m)
	if n <= 0 || m <= 0 || mod == 0 {
		return "", errorf("nhash: division by zero")
	}
	v := total % mod
	return fmt.Sprintf("%d/%d", v/uint32(m), v%uint32(m)), nil
}
