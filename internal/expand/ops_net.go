package expand

import (
	"fmt"
	"net/netip"
	"strings"
)

// netOperators are the IP address operators. Spec: "Expansion operators".
var netOperators = map[string]opFunc{
	"ipv6norm":   func(_ *state, s string, _ []int) (string, error) { return ipv6Op(s, false) },
	"ipv6denorm": func(_ *state, s string, _ []int) (string, error) { return ipv6Op(s, true) },
	"reverse_ip": func(_ *state, s string, _ []int) (string, error) { return reverseIP(s) },
}

// netSuffixOperators holds mask; mask_n (any suffix starting with "n")
// prints IPv6 results in normalised form.
var netSuffixOperators = map[string]suffixOp{
	"mask": func(_, suffix string, _ bool) opFunc {
		norm := strings.HasPrefix(suffix, "n")
		return func(_ *state, s string, _ []int) (string, error) { return maskOp(s, norm) }
	},
}

// parseIPText checks s the way Exim recognises an IP address: dotted-quad
// IPv4 without leading zeros, or IPv6 (with an optional trailing dotted
// quad and, for IPv6, a %interface), optionally followed by "/" and a
// mask number when allowMask is set. The mask text may be empty (0) and
// is read like C's strtol: leading white space and a sign, nothing after;
// it must not be negative.
func parseIPText(s string, allowMask bool) (addr netip.Addr, mask int, hasMask, ok bool) {
	ip := s
	if i := strings.IndexByte(s, '/'); i >= 0 {
		if !allowMask {
			return addr, 0, false, false
		}
		ip = s[:i]
		m, good := parseMaskNumber(s[i+1:])
		if !good {
			return addr, 0, false, false
		}
		mask, hasMask = m, true
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return addr, 0, false, false
	}
	return a.WithZone(""), mask, hasMask, true
}

func parseMaskNumber(s string) (int, bool) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	if i == len(s) {
		return 0, i == 0
	}
	neg := false
	if s[i] == '+' || s[i] == '-' {
		neg = s[i] == '-'
		i++
	}
	start := i
	var v int64
	for ; i < len(s) && isDigit(s[i]); i++ {
		if v < 1<<40 {
			v = v*10 + int64(s[i]-'0')
		}
	}
	if i == start || i != len(s) || neg && v != 0 {
		return 0, false
	}
	return int(int32(v)), true
}

// ipv6Text formats a 16-byte address the way Exim's ipv6norm does: hex
// groups without leading zeros, the longest run of zero groups (even a
// single one; the first of equal runs) replaced by "::"; an address of
// all zeros comes out as ":".
func ipv6Text(a [16]byte) string {
	var g [8]uint16
	for i := range g {
		g[i] = uint16(a[2*i])<<8 | uint16(a[2*i+1])
	}
	best, bestLen := -1, 0
	for i := 0; i < 8; {
		if g[i] != 0 {
			i++
			continue
		}
		j := i
		for j < 8 && g[j] == 0 {
			j++
		}
		if j-i > bestLen {
			best, bestLen = i, j-i
		}
		i = j
	}
	if bestLen == 8 {
		return ":"
	}
	join := func(gs []uint16) string {
		parts := make([]string, len(gs))
		for i, v := range gs {
			parts[i] = fmt.Sprintf("%x", v)
		}
		return strings.Join(parts, ":")
	}
	if best < 0 {
		return join(g[:])
	}
	return join(g[:best]) + "::" + join(g[best+bestLen:])
}

// ipv6Op is ${ipv6norm:...} and ${ipv6denorm:...}; IPv4 addresses become
// IPv4-mapped IPv6.
func ipv6Op(s string, denorm bool) (string, error) {
	a, _, _, ok := parseIPText(s, false)
	if !ok {
		return "", errorf("\"%s\" is not an IP address", s)
	}
	b := a.As16()
	if !denorm {
		return ipv6Text(b), nil
	}
	parts := make([]string, 8)
	for i := range parts {
		parts[i] = fmt.Sprintf("%02x%02x", b[2*i], b[2*i+1])
	}
	return strings.Join(parts, ":"), nil
}

// reverseIP is ${reverse_ip:...}: dotted-quad reversed for IPv4 (also
// IPv4-mapped IPv6), nibbles reversed for IPv6.
func reverseIP(s string) (string, error) {
	a, _, _, ok := parseIPText(s, true)
	if !ok {
		return "", errorf("reverse_ip() not given an IP address [%s]", s)
	}
	a = a.Unmap()
	if a.Is4() {
		b := a.As4()
		return fmt.Sprintf("%d.%d.%d.%d", b[3], b[2], b[1], b[0]), nil
	}
	b := a.As16()
	const hexd = "0123456789abcdef"
	out := make([]byte, 0, 63)
	for i := 15; i >= 0; i-- {
		if len(out) > 0 {
			out = append(out, '.')
		}
		out = append(out, hexd[b[i]&15], '.', hexd[b[i]>>4])
	}
	return string(out), nil
}

// maskOp is ${mask:ip/bits}: the address with the host bits cleared and
// the mask appended; IPv6 is written with dots between four-digit groups
// (colons end lsearch keys) unless norm is set.
func maskOp(s string, norm bool) (string, error) {
	a, mask, has, ok := parseIPText(s, true)
	if !ok {
		return "", errorf("\"%s\" is not an IP address", s)
	}
	if !has {
		return "", errorf("missing mask value in \"%s\"", s)
	}
	if mask < 0 || mask > a.BitLen() {
		return "", errorf("mask value too big in \"%s\"", s)
	}
	p, err := a.Prefix(mask)
	if err != nil {
		return "", errorf("mask value too big in \"%s\"", s)
	}
	m := p.Addr()
	if m.Is4() {
		return fmt.Sprintf("%s/%d", m, mask), nil
	}
	b := m.As16()
	if norm {
		return fmt.Sprintf("%s/%d", ipv6Text(b), mask), nil
	}
	parts := make([]string, 8)
	for i := range parts {
		parts[i] = fmt.Sprintf("%02x%02x", b[2*i], b[2*i+1])
	}
	return fmt.Sprintf("%s/%d", strings.Join(parts, "."), mask), nil
}
