package expand

import (
	"strconv"
	"strings"
)

// stringItems are the string expansion items. Spec: chapter "String
// expansions", section "Expansion items".
var stringItems = map[string]itemDef{
	"extract": {parse: parseExtract},
	"hash":    itemsGeneric(2, 3, itemHash),
	"length":  itemsGeneric(2, 2, itemLength),
	"nhash":   itemsGeneric(2, 3, itemNhash),
	"sg":      {parse: parseSg},
	"substr":  itemsGeneric(2, 3, itemSubstr),
	"tr":      itemsGeneric(3, 3, itemTr),
}

// hashCodes are the characters of the textual hash, of which the first m
// are used. Spec: ${hash{<string1>}{<string2>}{<string3>}}. (Exim's table
// has "t" and "s" the other way round from the alphabet, and its hashes
// show it.)
const hashCodes = "abcdefghijklmnopqrtsuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// itemHash is ${hash{n}{m}{string}} and ${hash{n}{string}}.
func itemHash(_ *state, name string, a []string) (string, error) {
	n, err := itemNumber(a[0], name, false)
	if err != nil {
		return "", err
	}
	m := 26
	if len(a) == 3 {
		if m, err = itemNumber(a[1], name, true); err != nil {
			return "", err
		}
		if m > len(hashCodes) {
			return "", errorf("hash count \"%s\" too big", a[1])
		}
	}
	if m == 0 {
		// Exim divides by zero here and dies.
		return "", errorf("division by zero in \"%s\" expansion", name)
	}
	return textHash(a[len(a)-1], n, m), nil
}

// textHash is Exim's textual hash of s to n characters drawn from the
// first m characters of hashCodes; s itself when it is not longer than n.
func textHash(s string, n, m int) string {
	if n < 0 {
		n = 0
	}
	if n >= len(s) {
		return s
	}
	if n == 0 {
		return ""
	}
	h := []byte(s[:n])
	i := 0
	for j := n; j < len(s); j++ {
		c := int(s[j])
		shift := uint((c + j) & 7)
		h[i] ^= byte(c<<shift | c>>(8-shift))
		if i++; i >= n {
			i = 0
		}
	}
	for k := range h {
		h[k] = hashCodes[int(h[k])%m]
	}
	return string(h)
}

// itemNhash is ${nhash{n}{m}{string}} and ${nhash{n}{string}}.
func itemNhash(_ *state, name string, a []string) (string, error) {
	n, err := itemNumber(a[0], name, false)
	if err != nil {
		return "", err
	}
	m := -1
	if len(a) == 3 {
		if m, err = itemNumber(a[1], name, true); err != nil {
			return "", err
		}
	}
	return numericHash(a[len(a)-1], n, m, name)
}

// itemNhashPrimes are the multipliers of the numeric hash, used from the
// last one down, skipping the first.
var itemNhashPrimes = [...]uint32{2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41,
	43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97, 101, 103, 107, 109, 113}

// numericHash is Exim's div/mod numeric hash: "t mod n", or with m >= 0
// "q/r" where t mod (n*m) = q*m + r. n and m are C ints; the arithmetic is
// unsigned, as Exim's is.
func numericHash(s string, n, m int, name string) (string, error) {
	var total uint32
	i := 0
	for k := 0; k < len(s); k++ {
		if i == 0 {
			i = len(itemNhashPrimes) - 1
		}
		total += itemNhashPrimes[i] * uint32(s[k])
		i--
	}
	if m < 0 {
		if uint32(n) == 0 {
			return "", errorf("division by zero in \"%s\" expansion", name)
		}
		return strconv.FormatUint(uint64(total%uint32(n)), 10), nil
	}
	nm := uint32(n) * uint32(m)
	if nm == 0 {
		return "", errorf("division by zero in \"%s\" expansion", name)
	}
	total %= nm
	return strconv.FormatUint(uint64(total/uint32(m)), 10) + "/" +
		strconv.FormatUint(uint64(total%uint32(m)), 10), nil
}

// itemLength is ${length{n}{string}}.
func itemLength(_ *state, name string, a []string) (string, error) {
	n, err := itemNumber(a[0], name, true)
	if err != nil {
		return "", err
	}
	if n < len(a[1]) {
		return a[1][:n], nil
	}
	return a[1], nil
}

// itemSubstr is ${substr{start}{len}{string}} and ${substr{start}{string}}.
func itemSubstr(_ *state, name string, a []string) (string, error) {
	off, err := itemNumber(a[0], name, false)
	if err != nil {
		return "", err
	}
	n, hasLen := 0, len(a) == 3
	if hasLen {
		if n, err = itemNumber(a[1], name, true); err != nil {
			return "", err
		}
	}
	return substring(a[len(a)-1], off, n, hasLen), nil
}

// substring extracts bytes as ${substr} does. Spec: ${substr{<start>}...}:
// a negative offset counts from the end; overshooting the start shortens
// the length; with no length, a positive offset takes the rest and a
// negative one takes everything before the offset.
func substring(s string, off, n int, hasLen bool) string {
	l := len(s)
	if off < 0 {
		start := l + off
		if !hasLen {
			if start < 0 {
				return ""
			}
			return s[:start]
		}
		if start < 0 {
			n += start
			start = 0
			if n <= 0 {
				return ""
			}
		}
		off = start
	} else if off > l {
		return ""
	}
	if !hasLen || off+n > l {
		return s[off:]
	}
	return s[off : off+n]
}

// itemTr is ${tr{subject}{characters}{replacements}}.
func itemTr(_ *state, _ string, a []string) (string, error) {
	subject, from, to := a[0], a[1], a[2]
	if to == "" || from == "" {
		return subject, nil
	}
	b := []byte(subject)
	for i, c := range b {
		if k := strings.LastIndexByte(from, c); k >= 0 {
			if k >= len(to) {
				k = len(to) - 1
			}
			b[i] = to[k]
		}
	}
	return string(b), nil
}
