package dbtools

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/exigo-mta/exigo/internal/hintsdb"
)

// Host is a remote host found for a domain.
type Host struct {
	Name string
	IP   string
}

// HostFinder routes an address and returns the remote hosts it would be
// delivered to (nil when none or unknown).
type HostFinder func(address string) []Host

// Exinext implements exinext: for a domain, an address or a message id,
// the retry records of the routing, of the hosts the address routes to
// (host errors and message errors with those hosts), and of the address
// itself. A bare local part is qualified with qualify, the default
// domain. hosts may be nil: then only records keyed by the domain, the
// address or the message id are found.
func Exinext(args []string, spool, qualify string, hosts HostFinder, env *Env) int {
	if len(args) != 1 {
		io.WriteString(env.Stderr, "Usage: exinext <address>|<domain>|<local-part>\n")
		return 1
	}
	arg := args[0]
	out := env.Stdout
	isID := messageID().MatchString(arg)
	addr, domain := arg, arg
	if i := strings.LastIndexByte(arg, '@'); i >= 0 {
		domain = arg[i+1:]
	} else if !isID && !strings.Contains(arg, ".") && qualify != "" {
		addr, domain = arg+"@"+qualify, qualify
	} else {
		addr = "User@" + arg
	}
	var found []Host
	if !isID {
		if hosts != nil {
			found = hosts(addr)
		}
		if len(found) == 0 {
			fmt.Fprintf(out, "No remote hosts found for %s\n", arg)
		}
	}
	db, err := hintsdb.Open(spool, "retry", false)
	if err != nil {
		fmt.Fprintf(out, "No retry data found for %s\n", arg)
		return 0
	}
	defer db.Close()
	keys, _ := db.Keys()
	printed := 0
	for _, k := range keys {
		if !exinextWants(k, arg, addr, domain, isID, found) {
			continue
		}
		var r hintsdb.RetryRecord
		if ok, err := db.Get(k, &r); !ok || err != nil {
			continue
		}
		fmt.Fprintf(out, "%s error %d: %s\n", describeKey(k), r.BasicErrno, r.Text)
		d := func(t time.Time) string { return t.Local().Format(dateLayout) }
		fmt.Fprintf(out, "  first failed: %s\n  last tried:   %s\n  next try at:  %s\n", d(r.FirstFailed), d(r.LastTry), d(r.NextTry))
		if r.Expired {
			fmt.Fprintf(out, "  past final cutoff time\n")
		}
		printed++
	}
	if printed == 0 {
		fmt.Fprintf(out, "No retry data found for %s\n", arg)
	}
	return 0
}

// exinextWants selects the records exinext shows.
func exinextWants(k, arg, addr, domain string, isID bool, hosts []Host) bool {
	if isID {
		return strings.HasSuffix(k, ":"+arg)
	}
	switch {
	case k == "R:"+domain, k == "R:"+addr, strings.HasPrefix(k, "R:"+addr+":"),
		!strings.Contains(arg, "@") && strings.HasPrefix(k, "R:") && strings.HasSuffix(strings.SplitN(k[2:], ":", 2)[0], "@"+domain):
		return true
	}
	for _, h := range hosts {
		p := "T:" + h.Name + ":" + h.IP
		if k == p || strings.HasPrefix(k, p+":") {
			return true
		}
	}
	return false
}

// describeKey turns a retry key into exinext's words: "Route: domain",
// "Transport: host [ip]:port msgid".
func describeKey(k string) string {
	if strings.HasPrefix(k, "R:") {
		return "Route: " + k[2:]
	}
	if !strings.HasPrefix(k, "T:") {
		return k
	}
	parts := strings.Split(k[2:], ":")
	if len(parts) < 2 || strings.Count(k, ":") > 5 {
		// An IPv6 address: leave the key as it is after the host.
		host, rest, _ := strings.Cut(k[2:], ":")
		return "Transport: " + host + " [" + rest + "]"
	}
	s := "Transport: " + parts[0] + " [" + parts[1] + "]"
	rest := parts[2:]
	if len(rest) > 0 && !messageID().MatchString(rest[0]) {
		s += ":" + rest[0]
		rest = rest[1:]
	}
	if len(rest) > 0 {
		s += " " + rest[0]
	}
	return s
}
