package lookup

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/exigo-mta/exigo/internal/lists"
)

// deferMode is the dnsdb defer_* modifier (spec 9.11).
type deferMode int

const (
	deferLax deferMode = iota
	deferStrict
	deferNever
)

// dnssecMode is the dnsdb dnssec_* modifier (spec 9.11).
type dnssecMode int

const (
	dnssecLax dnssecMode = iota
	dnssecStrict
	dnssecNever
)

// dnsdbQuery is a parsed dnsdb query.
type dnsdbQuery struct {
	sep      string // between records (default newline)
	fieldSep string // between fields of one record
	fieldSet bool   // a field separator was given (",x" or ";")
	defer_   deferMode
	dnssec   dnssecMode
	retrans  time.Duration
	retry    int
	typ      string // lower case: a, aaaa, a+, mx, mxh, ns, zns, txt, spf, ptr, srv, csa, soa, tlsa, cname
	domains  []string
}

// dnsdbTypes are the record types dnsdb accepts (spec 9.10, 9.12).
var dnsdbTypes = map[string]bool{
	"a": true, "aaaa": true, "a+": true, "cname": true, "csa": true,
	"mx": true, "mxh": true, "ns": true, "ptr": true, "soa": true,
	"spf": true, "srv": true, "tlsa": true, "txt": true, "zns": true,
}

// parseDnsdb parses "[>S[,F|;]] [modifier,...] [type=]domain-list"
// (spec 9.10–9.13). Errors are *DeferError with Exim's texts.
func parseDnsdb(q string) (*dnsdbQuery, error) {
	d := &dnsdbQuery{sep: "\n", fieldSep: " "}
	s := strings.TrimLeft(q, " \t\n\r")
	if strings.HasPrefix(s, ">") {
		s = s[1:]
		if s != "" {
			d.sep = s[:1]
			s = s[1:]
			switch {
			case strings.HasPrefix(s, ","):
				d.fieldSet = true
				if len(s) > 1 {
					d.fieldSep = s[1:2]
					s = s[2:]
				} else {
					s = s[1:]
				}
			case strings.HasPrefix(s, ";"):
				d.fieldSet = true
				d.fieldSep = ""
				s = s[1:]
			}
		}
		s = strings.TrimLeft(s, " \t\n\r")
	}
	// Modifiers, each followed by a comma.
	for {
		var word string
		switch {
		case hasPrefixFold(s, "defer_"), hasPrefixFold(s, "dnssec_"),
			hasPrefixFold(s, "retrans_"), hasPrefixFold(s, "retry_"):
			end := strings.IndexByte(s, ',')
			if end < 0 {
				return nil, &DeferError{Msg: "dnsdb modifier syntax error"}
			}
			word, s = strings.TrimSpace(s[:end]), strings.TrimLeft(s[end+1:], " \t\n\r")
		}
		if word == "" {
			break
		}
		name, val, _ := strings.Cut(word, "_")
		val = strings.ToLower(val)
		switch strings.ToLower(name) {
		case "defer":
			switch val {
			case "strict":
				d.defer_ = deferStrict
			case "lax":
				d.defer_ = deferLax
			case "never":
				d.defer_ = deferNever
			default:
				return nil, &DeferError{Msg: "unsupported dnsdb defer behaviour"}
			}
		case "dnssec":
			switch val {
			case "strict":
				d.dnssec = dnssecStrict
			case "lax":
				d.dnssec = dnssecLax
			case "never":
				d.dnssec = dnssecNever
			default:
				return nil, &DeferError{Msg: "unsupported dnsdb dnssec behaviour"}
			}
		case "retrans":
			t, ok := parseEximTime(val)
			if !ok {
				return nil, &DeferError{Msg: "unsupported dnsdb timeout value"}
			}
			d.retrans = t
		case "retry":
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 {
				return nil, &DeferError{Msg: "dnsdb modifier syntax error"}
			}
			d.retry = n
		}
	}
	// The record type, if the text before the first "=" is a word.
	d.typ = "txt"
	if eq := strings.IndexByte(s, '='); eq >= 0 {
		cand := strings.TrimSpace(s[:eq])
		if isTypeWord(cand) {
			t := strings.ToLower(cand)
			if !dnsdbTypes[t] {
				return nil, &DeferError{Msg: "unsupported DNS record type"}
			}
			d.typ = t
			s = s[eq+1:]
		}
	}
	s = strings.TrimLeft(s, " \t\n\r")
	// Spec 9.13: a PTR query that is exactly one IPv6 address, with no
	// change of separator, is not split as a list.
	if d.typ == "ptr" && !strings.HasPrefix(s, "<") {
		if a, err := netip.ParseAddr(strings.TrimSpace(s)); err == nil && a.Is6() {
			d.domains = []string{strings.TrimSpace(s)}
			return d, nil
		}
	}
	for _, item := range lists.Split(s, ':') {
		if len(d.domains) >= 1000 {
			break
		}
		d.domains = append(d.domains, item)
	}
	return d, nil
}

func hasPrefixFold(s, p string) bool {
	return len(s) >= len(p) && asciiEqualFold(s[:len(p)], p)
}

func isTypeWord(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+') {
			return false
		}
	}
	return true
}

// parseEximTime parses an Exim time value such as "5s", "1m30s" or "2h"
// (spec "The Exim runtime configuration file", time values); a bare number
// is seconds.
func parseEximTime(s string) (time.Duration, bool) {
	if s == "" {
		return 0, false
	}
	var total time.Duration
	for s != "" {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 || i > 9 {
			return 0, false
		}
		n, _ := strconv.Atoi(s[:i])
		s = s[i:]
		unit := time.Second
		if s != "" {
			switch s[0] {
			case 's':
			case 'm':
				unit = time.Minute
			case 'h':
				unit = time.Hour
			case 'd':
				unit = 24 * time.Hour
			case 'w':
				unit = 7 * 24 * time.Hour
			default:
				return 0, false
			}
			s = s[1:]
		}
		total += time.Duration(n) * unit
	}
	return total, true
}
