// Package dnstest runs a small authoritative DNS server for tests, on a
// loopback address, answering from zone text given by the test. It is the
// DNS server that exigo's tests point internal/dns (and, inside a network
// namespace, real Exim) at.
package dnstest

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	mdns "github.com/miekg/dns"
)

// Server answers queries from its records. Names listed in ServFail get
// SERVFAIL; names with no records and no records below them get NXDOMAIN;
// other names get NOERROR with the matching records (following CNAMEs in
// the answer). Responses carry the AD bit when SetAD is on, the query
// asked for DNSSEC (DO or AD bit, as a validating resolver requires, RFC
// 6840 section 5.7) and the name is not one made insecure by SetInsecure.
type Server struct {
	Addr string // host:port the server listens on (UDP and TCP)

	mu       sync.Mutex
	rrs      []mdns.RR
	servFail map[string]bool
	insecure map[string]bool
	ad       bool
	udp, tcp *mdns.Server
}

// Start parses zone (RFC 1035 master-file lines; relative names are under
// the root, TTL 300 by default) and serves it on addr ("127.0.0.1:0" for a
// free port). The server stops when the test ends.
func Start(t testing.TB, addr, zone string) *Server {
	t.Helper()
	s := &Server{servFail: map[string]bool{}, insecure: map[string]bool{}}
	if err := s.SetZone(zone); err != nil {
		t.Fatal(err)
	}
	// UDP and TCP must share a port; with a random port, the TCP one may
	// be taken by someone else: try again with another.
	var pc net.PacketConn
	var ln net.Listener
	for try := 0; ; try++ {
		var err error
		pc, err = net.ListenPacket("udp", addr)
		if err != nil {
			t.Fatalf("dnstest: %v", err)
		}
		s.Addr = pc.LocalAddr().String()
		ln, err = net.Listen("tcp", s.Addr)
		if err == nil {
			break
		}
		pc.Close()
		if try >= 20 || !strings.HasSuffix(addr, ":0") {
			t.Fatalf("dnstest: %v", err)
		}
	}
	s.udp = &mdns.Server{PacketConn: pc, Handler: s}
	s.tcp = &mdns.Server{Listener: ln, Handler: s}
	go s.udp.ActivateAndServe()
	go s.tcp.ActivateAndServe()
	t.Cleanup(func() {
		s.udp.Shutdown()
		s.tcp.Shutdown()
	})
	return s
}

// SetZone replaces the records.
func (s *Server) SetZone(zone string) error {
	zp := mdns.NewZoneParser(strings.NewReader(zone), ".", "")
	zp.SetDefaultTTL(300)
	var rrs []mdns.RR
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		rrs = append(rrs, rr)
	}
	if err := zp.Err(); err != nil {
		return fmt.Errorf("dnstest zone: %w", err)
	}
	s.mu.Lock()
	s.rrs = rrs
	s.mu.Unlock()
	return nil
}

// ServFail makes queries for name (any type) answer SERVFAIL.
func (s *Server) ServFail(name string) {
	s.mu.Lock()
	s.servFail[mdns.CanonicalName(name)] = true
	s.mu.Unlock()
}

// ClearServFail undoes every ServFail.
func (s *Server) ClearServFail() {
	s.mu.Lock()
	s.servFail = map[string]bool{}
	s.mu.Unlock()
}

// SetAD sets whether answers carry the AD bit.
func (s *Server) SetAD(ad bool) {
	s.mu.Lock()
	s.ad = ad
	s.mu.Unlock()
}

// SetInsecure replaces the set of names whose answers never carry the AD
// bit (a zone that is not signed, or an answer the resolver could not
// validate), whatever SetAD says.
func (s *Server) SetInsecure(names ...string) {
	s.mu.Lock()
	s.insecure = map[string]bool{}
	for _, n := range names {
		s.insecure[mdns.CanonicalName(n)] = true
	}
	s.mu.Unlock()
}

// ServeDNS implements mdns.Handler.
func (s *Server) ServeDNS(w mdns.ResponseWriter, req *mdns.Msg) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := new(mdns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	m.RecursionAvailable = true
	wantsDNSSEC := req.AuthenticatedData
	if o := req.IsEdns0(); o != nil && o.Do() {
		wantsDNSSEC = true
	}
	if len(req.Question) != 1 {
		m.Rcode = mdns.RcodeFormatError
		w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	name := mdns.CanonicalName(q.Name)
	m.AuthenticatedData = s.ad && wantsDNSSEC && !s.insecure[name]
	if s.servFail[name] {
		m.Rcode = mdns.RcodeServerFailure
		w.WriteMsg(m)
		return
	}
	exists := false
	for hops := 0; hops < 8; hops++ {
		var cname string
		for _, rr := range s.rrs {
			h := rr.Header()
			owner := mdns.CanonicalName(h.Name)
			if owner == name || strings.HasSuffix(owner, "."+name) {
				exists = true
			}
			if owner != name {
				continue
			}
			if h.Rrtype == q.Qtype || q.Qtype == mdns.TypeANY {
				m.Answer = append(m.Answer, mdns.Copy(rr))
			} else if h.Rrtype == mdns.TypeCNAME {
				m.Answer = append(m.Answer, mdns.Copy(rr))
				cname = mdns.CanonicalName(rr.(*mdns.CNAME).Target)
			}
		}
		if cname == "" {
			break
		}
		name = cname
	}
	if !exists {
		m.Rcode = mdns.RcodeNameError
	}
	if w.LocalAddr().Network() == "udp" {
		size := mdns.MinMsgSize
		if o := req.IsEdns0(); o != nil {
			size = int(o.UDPSize())
		}
		m.Truncate(size) // sets TC when records had to go
	}
	w.WriteMsg(m)
}
