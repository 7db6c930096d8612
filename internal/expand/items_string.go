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
		if m > len(hashChars) {
			return "", errorf("hash count \"%s\" too big", a[1])
		}
	}
	if m == 0 {
		// Exim divides by zero here and dies.
		return "", errorf("division by zero in \"%s\" expansion", name)
	}
	return hashString(a[len(a)-1], n, m), nil
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

// numericHash is Exim's div/mod numeric hash: "t mod n", or with m >= 0
// "q/r" where t mod (n*m) = q*m + r. n and m are C ints; the arithmetic is
// unsigned, as Exim's is.
func numericHash(s string, n, m int, name string) (string, error) {
	total := nhashTotal(s)
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
