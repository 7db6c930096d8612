package smtpserver

import (
	"fmt"
	"strings"

	"github.com/exigo-mta/exigo/internal/lists"
)

// listEnv is the list matching environment of the session.
func (s *session) listEnv() *lists.Env {
	return &lists.Env{
		PrimaryHostname: s.vars["primary_hostname"],
		Expand:          s.expand,
	}
}

// hostOption reports whether the client is in the host list of the
// named main option, writing Exim's -bh commentary line
// (">>> host in NAME? yes (matched "*")").
func (s *session) hostOption(name string) bool {
	list := s.srv.Config.Main.String(name)
	if list == "" {
		if s.srv.Config.Main.IsSet(name) {
			s.trace("host in %s? no (end of list)", name)
		} else {
			s.trace("host in %s? no (option unset)", name)
		}
		return false
	}
	h := &lists.Host{IP: s.peer.Addr, NameLookedUp: true}
	m, err := lists.MatchHost(s.listEnv(), list, h)
	return s.traceMatch("host", name, m, err)
}

// domainOption matches a domain against the domain list of a main option.
func (s *session) domainOption(domain, name string) bool {
	list := s.srv.Config.Main.String(name)
	if list == "" {
		s.trace("%s in %s? no (option unset)", domain, name)
		return false
	}
	m, err := lists.MatchDomain(s.listEnv(), list, strings.ToLower(domain))
	return s.traceMatch(domain, name, m, err)
}

func (s *session) traceMatch(subject, name string, m lists.Match, err error) bool {
	switch {
	case err != nil:
		s.trace("%s in %s? list match deferred for %s", subject, name, err)
		return false
	case m.Matched:
		s.trace("%s in %s? yes (matched %q)", subject, name, m.Item)
	case m.Item != "":
		s.trace("%s in %s? no (matched %q)", subject, name, m.Item)
	default:
		s.trace("%s in %s? no (end of list)", subject, name)
	}
	return m.Matched
}

var _ = fmt.Sprintf
