// Package localhost decides which IP addresses are "the local host" for
// routing (the routers' self option, MX lists) and for the smtp
// transport's allow_localhost check, as Exim specification chapter
// "Starting the daemon and the use of network interfaces", section
// "Recognizing the local host" describes it:
//
//   - the addresses in local_interfaces and extra_local_interfaces are
//     local, whatever the machine's interfaces are; port numbers in the
//     items are ignored;
//   - the items 0.0.0.0 and ::0 stand for every IPv4 or IPv6 address of
//     the machine's interfaces;
//   - local_interfaces defaults to "<; ::0 ; 0.0.0.0" (every interface
//     address, including 127.0.0.1 and ::1, but not the rest of
//     127.0.0.0/8).
//
// Host names that hosts_treat_as_local matches are local too; matching
// them is the caller's business (it is an expanded domain list).
package localhost

import (
	"net"
	"net/netip"
	"strings"
)

// DefaultInterfaces is local_interfaces when it is not set (Exim built
// with IPv6 support, as Debian's is).
const DefaultInterfaces = "<; ::0 ; 0.0.0.0"

// Interfaces returns the local host's addresses for the values of
// local_interfaces (li, DefaultInterfaces when unset) and
// extra_local_interfaces (extra, "" when unset); machine lists the
// machine's interface addresses, used for the wildcard items. Items
// that are not IP addresses are skipped.
func Interfaces(li, extra string, machine []netip.Addr) []netip.Addr {
	var out []netip.Addr
	seen := map[netip.Addr]bool{}
	add := func(a netip.Addr) {
		a = a.Unmap()
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	for _, list := range []string{li, extra} {
		for _, item := range splitList(list) {
			a, ok := parseItem(item)
			if !ok {
				continue
			}
			if a.IsUnspecified() {
				for _, m := range machine {
					if m.Unmap().Is4() == a.Is4() {
						add(m)
					}
				}
				continue
			}
			add(a)
		}
	}
	return out
}

// Machine returns the addresses of the machine's network interfaces.
func Machine() []netip.Addr {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok {
				out = append(out, ip.Unmap())
			}
		}
	}
	return out
}

// Contains reports whether addr (an IP address in text form) is one of
// ifaces.
func Contains(ifaces []netip.Addr, addr string) bool {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, l := range ifaces {
		if l == ip {
			return true
		}
	}
	return false
}

// splitList splits an Exim list: items separated by ":" (a doubled one
// stands for itself), or by the character given as "<c" at the start.
func splitList(s string) []string {
	s = strings.TrimSpace(s)
	sep := byte(':')
	if len(s) >= 2 && s[0] == '<' && !isSpaceOrAlnum(s[1]) {
		sep = s[1]
		s = s[2:]
	}
	var out []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			if i+1 < len(s) && s[i+1] == sep {
				cur.WriteByte(sep)
				i++
				continue
			}
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
			continue
		}
		cur.WriteByte(s[i])
	}
	if t := strings.TrimSpace(cur.String()); t != "" || len(out) > 0 {
		out = append(out, t)
	}
	return out
}

func isSpaceOrAlnum(c byte) bool {
	return c == ' ' || c == '\t' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// parseItem parses "ip", "ip.port" or "[ip]:port" (the port is ignored:
// section "Recognizing the local host").
func parseItem(item string) (netip.Addr, bool) {
	if item == "" {
		return netip.Addr{}, false
	}
	if strings.HasPrefix(item, "[") {
		if j := strings.IndexByte(item, ']'); j > 0 {
			item = item[1:j]
		}
	}
	if a, err := netip.ParseAddr(item); err == nil {
		return a.Unmap(), true
	}
	if j := strings.LastIndexByte(item, '.'); j > 0 {
		if a, err := netip.ParseAddr(item[:j]); err == nil && allDigits(item[j+1:]) {
			return a.Unmap(), true
		}
	}
	return netip.Addr{}, false
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
