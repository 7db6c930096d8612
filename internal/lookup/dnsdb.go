package lookup

import (
	"context"
	"net/netip"
	"strconv"
	"strings"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/exigo-mta/exigo/internal/debug"
	"github.com/exigo-mta/exigo/internal/dns"
)

// dnsdb runs a dnsdb query (spec 9.10–9.13). It returns the data, whether
// anything was found, how long the result may be cached (the smallest TTL
// of the records used; -1 for "no limit"), and a *DeferError when the
// defer_* rule says so (Exim's message is then empty).
func (r *Registry) dnsdb(q string) (string, bool, time.Duration, error) {
	d, err := parseDnsdb(q)
	if err != nil {
		return "", false, 0, err
	}
	if r.opts.Resolver == nil {
		return "", false, 0, &DeferError{Msg: "no DNS resolver configured"}
	}
	o := dns.Options{DNSSEC: d.dnssec != dnssecNever, RequireAD: d.dnssec == dnssecStrict,
		Timeout: d.retrans, Retries: d.retry}
	var (
		out      []string
		deferred bool
		minTTL   uint32
		haveTTL  bool
	)
	ctx := context.Background()
	ask := func(name string, qtype uint16) *dns.Answer {
		a := r.opts.Resolver.Lookup(ctx, name, qtype, o)
		r.opts.Debug.Printf(debug.DNS, "DNS lookup of %s (%s) gave %s", name, mdns.TypeToString[qtype], a.Status)
		if a.Status == dns.Succeed && (!haveTTL || a.TTL < minTTL) {
			minTTL, haveTTL = a.TTL, true
		}
		return a
	}
	for _, domain := range d.domains {
		domain = strings.TrimSuffix(domain, ".")
		if domain == "" {
			continue
		}
		var recs []string
		var again bool
		switch d.typ {
		case "a+":
			for _, t := range []uint16{mdns.TypeAAAA, mdns.TypeA} {
				a := ask(domain, t)
				again = again || a.Status == dns.Again
				recs = append(recs, formatRecords(d, a)...)
			}
		case "zns", "soa":
			qt := mdns.TypeNS
			if d.typ == "soa" {
				qt = mdns.TypeSOA
			}
			// Walk up the tree until records are found; zns never asks
			// for the root.
			for name := domain; name != ""; {
				a := ask(name, qt)
				if a.Status == dns.Again {
					again = true
					break
				}
				if a.Status == dns.Succeed {
					recs = formatRecords(d, a)
					break
				}
				_, rest, ok := strings.Cut(name, ".")
				if !ok {
					break
				}
				name = rest
			}
		case "csa":
			if _, err := netip.ParseAddr(domain); err == nil {
				continue
			}
			a := ask("_client._smtp."+domain, mdns.TypeSRV)
			again = a.Status == dns.Again
			recs = formatCSA(d, a)
		case "ptr":
			name := domain
			if ip, err := netip.ParseAddr(domain); err == nil {
				name = dns.ReverseName(ip)
			}
			a := ask(name, mdns.TypePTR)
			again = a.Status == dns.Again
			recs = formatRecords(d, a)
		default:
			a := ask(domain, qtypeOf(d.typ))
			again = a.Status == dns.Again
			recs = formatRecords(d, a)
		}
		if again {
			switch d.defer_ {
			case deferStrict:
				return "", false, 0, &DeferError{}
			case deferLax:
				deferred = true
			}
		}
		out = append(out, recs...)
	}
	if len(out) == 0 {
		if deferred {
			return "", false, 0, &DeferError{}
		}
		return "", false, -1, nil
	}
	ttl := time.Duration(-1)
	if haveTTL {
		ttl = time.Duration(minTTL) * time.Second
	}
	return strings.Join(out, d.sep), true, ttl, nil
}

func qtypeOf(t string) uint16 {
	switch t {
	case "a":
		return mdns.TypeA
	case "aaaa":
		return mdns.TypeAAAA
	case "mx", "mxh":
		return mdns.TypeMX
	case "ns":
		return mdns.TypeNS
	case "txt":
		return mdns.TypeTXT
	case "spf":
		return mdns.TypeSPF
	case "srv":
		return mdns.TypeSRV
	case "tlsa":
		return mdns.TypeTLSA
	case "cname":
		return mdns.TypeCNAME
	case "soa":
		return mdns.TypeSOA
	}
	return mdns.TypeTXT
}

// formatRecords renders each record of a as dnsdb does (spec 9.10, 9.12).
func formatRecords(d *dnsdbQuery, a *dns.Answer) []string {
	if a.Status != dns.Succeed {
		return nil
	}
	var out []string
	fs := d.fieldSep
	for _, rr := range a.Records {
		switch v := rr.(type) {
		case *mdns.A:
			if ip, ok := netip.AddrFromSlice(v.A.To4()); ok {
				out = append(out, ip.String())
			}
		case *mdns.AAAA:
			if ip, ok := netip.AddrFromSlice(v.AAAA.To16()); ok {
				out = append(out, ip.String())
			}
		case *mdns.MX:
			if d.typ == "mxh" {
				out = append(out, trimDot(v.Mx))
			} else {
				out = append(out, strconv.Itoa(int(v.Preference))+fs+trimDot(v.Mx))
			}
		case *mdns.SRV:
			out = append(out, strconv.Itoa(int(v.Priority))+fs+strconv.Itoa(int(v.Weight))+fs+
				strconv.Itoa(int(v.Port))+fs+trimDot(v.Target))
		case *mdns.TXT:
			out = append(out, joinTXT(d, v.Txt, false))
		case *mdns.SPF:
			out = append(out, joinTXT(d, v.Txt, true))
		case *mdns.NS:
			out = append(out, trimDot(v.Ns))
		case *mdns.PTR:
			out = append(out, trimDot(v.Ptr))
		case *mdns.CNAME:
			out = append(out, trimDot(v.Target))
		case *mdns.SOA:
			if !d.fieldSet {
				out = append(out, trimDot(v.Ns))
				continue
			}
			out = append(out, strings.Join([]string{trimDot(v.Ns), trimDot(v.Mbox),
				u32(v.Serial), u32(v.Refresh), u32(v.Retry), u32(v.Expire), u32(v.Minttl)}, fs))
		case *mdns.TLSA:
			out = append(out, strconv.Itoa(int(v.Usage))+fs+strconv.Itoa(int(v.Selector))+fs+
				strconv.Itoa(int(v.MatchingType))+fs+strings.ToLower(v.Certificate))
		}
	}
	return out
}

// joinTXT: TXT gives the first string unless a field separator was given;
// SPF concatenates without a separator by default.
func joinTXT(d *dnsdbQuery, parts []string, spf bool) string {
	parts = unescapeTXT(parts)
	switch {
	case d.fieldSet:
		return strings.Join(parts, d.fieldSep)
	case spf:
		return strings.Join(parts, "")
	case len(parts) > 0:
		return parts[0]
	}
	return ""
}

// unescapeTXT turns miekg/dns's presentation escapes back into raw bytes.
func unescapeTXT(parts []string) []string {
	out := make([]string, len(parts))
	for i, p := range parts {
		if !strings.Contains(p, `\`) {
			out[i] = p
			continue
		}
		var b strings.Builder
		for j := 0; j < len(p); j++ {
			if p[j] == '\\' && j+1 < len(p) {
				if j+3 < len(p) && isDigit(p[j+1]) && isDigit(p[j+2]) && isDigit(p[j+3]) {
					n, _ := strconv.Atoi(p[j+1 : j+4])
					b.WriteByte(byte(n))
					j += 3
					continue
				}
				j++
			}
			b.WriteByte(p[j])
		}
		out[i] = b.String()
	}
	return out
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// formatCSA renders a Client SMTP Authorization SRV answer: the code from
// the weight (0 and 1: "N", 2: "Y", 3: "?"; others are skipped) and the
// target. Only version 1 records (priority 1) count. Exim 4.96 does no
// parent-domain search in dnsdb (observed: it stops after the first query).
func formatCSA(d *dnsdbQuery, a *dns.Answer) []string {
	if a.Status != dns.Succeed {
		return nil
	}
	for _, rr := range a.Records {
		s, ok := rr.(*mdns.SRV)
		if !ok || s.Priority != 1 {
			continue
		}
		var code string
		switch s.Weight {
		case 0, 1:
			code = "N"
		case 2:
			code = "Y"
		case 3:
			code = "?"
		default:
			continue
		}
		return []string{code + d.fieldSep + trimDot(s.Target)}
	}
	return nil
}

func u32(v uint32) string { return strconv.FormatUint(uint64(v), 10) }

func trimDot(s string) string { return strings.TrimSuffix(s, ".") }
