package cli

import (
	"fmt"

	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/lists"
)

// listMatcher lets the match_* expansion conditions match against Exim
// lists through the lists package.
type listMatcher struct {
	env *lists.Env
}

var _ expand.ListMatcherVars = listMatcher{}

// MatchList implements expand.ListMatcher.
func (m listMatcher) MatchList(kind, list, subject string) (bool, string, error) {
	ok, data, _, err := m.MatchListVars(kind, list, subject)
	return ok, data, err
}

// MatchListVars implements expand.ListMatcherVars: kind is "domain",
// "host" (an IP address, as match_ip does), "address", "localpart" or
// "string".
func (m listMatcher) MatchListVars(kind, list, subject string) (bool, string, []string, error) {
	var (
		r   lists.Match
		err error
	)
	switch kind {
	case "domain":
		r, err = lists.MatchDomain(m.env, list, subject)
	case "host":
		r, err = lists.MatchIP(m.env, list, subject)
	case "address":
		r, err = lists.MatchAddress(m.env, list, subject, false)
	case "localpart":
		r, err = lists.MatchLocalPart(m.env, list, subject, false)
	case "string":
		r, err = lists.MatchString(m.env, list, subject, false)
	default:
		return false, "", nil, fmt.Errorf("unknown list kind %q", kind)
	}
	if err != nil {
		return false, "", nil, err
	}
	return r.Matched, r.Data, r.Vars, nil
}
