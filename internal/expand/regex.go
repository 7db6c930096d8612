package expand

import (
	"github.com/exigo-mta/exigo/internal/pcre"
)

// compileRegex compiles a PCRE-style pattern (Exim uses PCRE2), with Exim's
// error text for a bad pattern.
func compileRegex(pattern string) (*pcre.Regexp, error) {
	re, err := pcre.Compile(pattern)
	if err != nil {
		return nil, errorf("regular expression error in \"%s\": %s", pattern, err.Error())
	}
	return re, nil
}
