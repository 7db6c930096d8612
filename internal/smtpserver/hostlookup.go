package smtpserver

import (
	"context"
	"fmt"
	"strings"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/exigo-mta/exigo/internal/dns"
	"github.com/exigo-mta/exigo/internal/mainlog"
)

// lookupHostName finds the client's host name for host_lookup (Exim
// specification chapter "Main configuration", host_lookup, and chapter
// "SMTP processing", "The host name lookup"): the names of the PTR
// records of its address, of which the first whose address records
// include the client's address becomes $sender_host_name and the others
// that do become $sender_host_aliases. When no name is verified,
// $host_lookup_failed is 1 (and an address without any name is logged
// under host_lookup_failed); when DNS fails temporarily,
// $host_lookup_deferred is 1.
func (s *session) lookupHostName() {
	if s.hostLooked {
		return
	}
	s.hostLooked = true
	defer func() {
		// The name now stands in the client's descriptions.
		s.vars["sender_fullhost"] = s.fullHost()
		if s.peer.Addr.IsValid() {
			s.vars["sender_rcvhost"] = s.rcvHost()
		}
	}()
	if !s.peer.Addr.IsValid() || s.srv.Instance == nil || s.srv.Instance.Resolver == nil {
		return
	}
	ip := s.peer.Addr.Unmap()
	r := s.srv.Instance.Resolver
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	defer cancel()
	names, a := r.LookupNames(ctx, dns.ReverseName(ip), mdns.TypePTR, dns.Options{})
	if a.Status != dns.Succeed && a.Status != dns.NoData && a.Status != dns.NXDomain {
		s.vars["host_lookup_deferred"] = "1"
		s.vars["host_lookup_failed"] = "0"
		return
	}
	var verified []string
	for _, n := range names {
		n = strings.ToLower(strings.TrimSuffix(n, "."))
		if n == "" {
			continue
		}
		addrs, _ := r.LookupA(ctx, n, dns.Options{})
		more, _ := r.LookupAAAA(ctx, n, dns.Options{})
		for _, x := range append(addrs, more...) {
			if x.Unmap() == ip {
				verified = append(verified, n)
				break
			}
		}
	}
	s.vars["host_lookup_deferred"] = "0"
	if len(verified) == 0 {
		s.vars["host_lookup_failed"] = "1"
		s.hostLookupFailure = "failed to find host name from IP address"
		if len(names) > 0 {
			s.hostLookupFailure = fmt.Sprintf("%s does not match any IP address for %s", ip, strings.ToLower(strings.TrimSuffix(names[0], ".")))
		}
		// Logged only when the address has no name at all: a name that
		// does not map back goes unlogged (observed with Exim 4.96).
		if len(names) == 0 && s.sel().Has(mainlog.SelHostLookupFailed) {
			s.log(fmt.Sprintf("no host name found for IP address %s", ip), mainlog.Main)
		}
		return
	}
	s.vars["host_lookup_failed"] = "0"
	s.vars["sender_host_name"] = verified[0]
	s.vars["sender_host_aliases"] = strings.Join(verified[1:], " ")
}

// reverseLookup is acl.Session.LookupHostName: the lookup (once per
// connection) and why it found no verified name ("" when it did, or
// when DNS failed for now).
func (s *session) reverseLookup() string {
	s.lookupHostName()
	if s.vars["sender_host_name"] != "" {
		return ""
	}
	return s.hostLookupFailure
}
