package daemon

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Listen is one listening socket: an address (the zero Addr with All set
// means every interface, IPv6 and IPv4 on one socket) and a port.
type Listen struct {
	Addr netip.Addr
	All  bool
	Port int
	// TLSOnConnect marks a tls_on_connect_ports port (or -tls-on-connect).
	TLSOnConnect bool
}

// Network and address for net.Listen.
func (l Listen) network() (string, string) {
	if l.All {
		return "tcp", ":" + strconv.Itoa(l.Port)
	}
	if l.Addr.Is4() {
		return "tcp4", netip.AddrPortFrom(l.Addr, uint16(l.Port)).String()
	}
	return "tcp6", netip.AddrPortFrom(l.Addr, uint16(l.Port)).String()
}

// splitList splits an Exim list with its optional "<X" separator change
// (spec chapter "The Exim runtime configuration file", section "Changing
// list separators").
func splitList(s string) []string {
	s = strings.TrimSpace(s)
	sep := ":"
	if len(s) >= 2 && s[0] == '<' && !isAlnum(s[1]) && s[1] != ' ' {
		sep = s[1:2]
		s = s[2:]
	}
	var out []string
	for _, item := range strings.Split(strings.ReplaceAll(s, sep+sep, "\x00"), sep) {
		item = strings.TrimSpace(strings.ReplaceAll(item, "\x00", sep))
		if item != "" {
			out = append(out, item)
		}
	}
	return out
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// ParsePort resolves a port number or service name.
func ParsePort(s string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65536 {
		return n, nil
	}
	if n, err := net.LookupPort("tcp", s); err == nil {
		return n, nil
	}
	return 0, fmt.Errorf("invalid port %q", s)
}

// Plan computes the sockets to listen on from local_interfaces,
// daemon_smtp_ports, -oX and tls_on_connect_ports (spec chapter 13,
// "Starting the daemon and the use of network interfaces", sections 1–4).
// interfaces is "" when local_interfaces is unset: every interface, IPv6
// and IPv4.
func Plan(interfaces, ports, oX, tlsPorts string, allTLS bool) ([]Listen, error) {
	if oX != "" {
		var p, i []string
		for _, item := range splitList(oX) {
			if strings.ContainsAny(item, ".:") {
				i = append(i, item)
			} else {
				p = append(p, item)
			}
		}
		if len(p) > 0 {
			ports = strings.Join(p, ":")
		}
		if len(i) > 0 {
			interfaces = "<; " + strings.Join(i, " ; ")
		}
	}
	if ports == "" {
		ports = "smtp"
	}
	var defPorts []int
	for _, p := range splitList(ports) {
		n, err := ParsePort(p)
		if err != nil {
			return nil, err
		}
		defPorts = append(defPorts, n)
	}
	tls := map[int]bool{}
	for _, p := range splitList(tlsPorts) {
		n, err := ParsePort(p)
		if err != nil {
			return nil, err
		}
		tls[n] = true
	}
	var out []Listen
	add := func(l Listen) {
		l.TLSOnConnect = allTLS || tls[l.Port]
		out = append(out, l)
	}
	if interfaces == "" {
		for _, p := range defPorts {
			add(Listen{All: true, Port: p})
		}
		return out, nil
	}
	for _, item := range splitList(interfaces) {
		addr, port, err := parseInterface(item)
		if err != nil {
			return nil, err
		}
		var l Listen
		if addr.IsUnspecified() {
			l.All = addr.Is6()
			if !l.All {
				l.Addr = addr
			}
		} else {
			l.Addr = addr
		}
		if port > 0 {
			l.Port = port
			add(l)
			continue
		}
		for _, p := range defPorts {
			l.Port = p
			add(l)
		}
	}
	return out, nil
}

// parseInterface parses one local_interfaces item: "ip", "ip.port" or
// "[ip]:port".
func parseInterface(item string) (netip.Addr, int, error) {
	if strings.HasPrefix(item, "[") {
		ap, err := netip.ParseAddrPort(item)
		if err != nil {
			return netip.Addr{}, 0, fmt.Errorf("invalid local_interfaces item %q", item)
		}
		return ap.Addr(), int(ap.Port()), nil
	}
	if a, err := netip.ParseAddr(item); err == nil {
		return a, 0, nil
	}
	if i := strings.LastIndexByte(item, '.'); i > 0 {
		if a, err := netip.ParseAddr(item[:i]); err == nil {
			if p, err := strconv.Atoi(item[i+1:]); err == nil && p > 0 && p < 65536 {
				return a, p, nil
			}
		}
	}
	return netip.Addr{}, 0, fmt.Errorf("invalid local_interfaces item %q", item)
}

// Describe renders the listening sockets as the "daemon started" log
// line shows them after "listening for SMTP on ": the plain ports, then
// " and for SMTPS on " and the tls_on_connect ports when there are any.
func Describe(ls []Listen) string {
	var plain, tlsc []Listen
	for _, l := range ls {
		if l.TLSOnConnect {
			tlsc = append(tlsc, l)
		} else {
			plain = append(plain, l)
		}
	}
	out := describe(plain)
	if len(tlsc) > 0 {
		out += " and for SMTPS on " + describe(tlsc)
	}
	return out
}

// describe renders one group of sockets: "port N (IPv6 and IPv4)" for
// sockets on every interface, "[addr]:port" or "[addr]:{p1,p2}" per
// address otherwise.
func describe(ls []Listen) string {
	var parts []string
	type group struct {
		addr  string
		ports []string
	}
	var groups []*group
	byAddr := map[string]*group{}
	for _, l := range ls {
		if l.All {
			parts = append(parts, fmt.Sprintf("port %d (IPv6 and IPv4)", l.Port))
			continue
		}
		a := l.Addr.String()
		g := byAddr[a]
		if g == nil {
			g = &group{addr: a}
			byAddr[a] = g
			groups = append(groups, g)
		}
		g.ports = append(g.ports, strconv.Itoa(l.Port))
	}
	for _, g := range groups {
		if len(g.ports) == 1 {
			parts = append(parts, "["+g.addr+"]:"+g.ports[0])
		} else {
			parts = append(parts, "["+g.addr+"]:{"+strings.Join(g.ports, ",")+"}")
		}
	}
	return strings.Join(parts, " ")
}
