package expand

import (
	"github.com/dlclark/regexp2"

	"github.com/exigo-mta/exigo/internal/pcre"
)

// compileRegex compiles a PCRE-style pattern (Exim uses PCRE2), with Exim's
// error text for a bad pattern.
func compileRegex(pattern string) (*regexp2.Regexp, error) {
	re, err := pcre.Compile(pattern)
	if err != nil {
		return nil, errorf("regular expression error in \"%s\": %s", pattern, err.Error())
	}
	return re, nil
}

// setNumeric sets $0..$9 from a match (nil clears them).
func (st *state) setNumeric(m *regexp2.Match) {
	if m == nil {
		st.numeric = nil
		return
	}
	groups := m.Groups()
	// A fresh slice: callers keep the previous one to restore it.
	st.numeric = make([]string, 0, len(groups))
	for _, g := range groups {
		st.numeric = append(st.numeric, g.String())
	}
}
