package retry

import "testing"

// FuzzParseErrorType checks that error names never crash the parser and
// that accepted names print back to a name that parses to the same type.
func FuzzParseErrorType(f *testing.F) {
	for _, s := range errorNames {
		f.Add(s)
	}
	f.Add("quota_1w2d3h4m5s")
	f.Add("RCPT_4XX")
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseErrorType(s)
		if err != nil {
			return
		}
		e2, err := ParseErrorType(e.String())
		if err != nil || e2 != e {
			t.Fatalf("%q -> %q -> %v %v", s, e.String(), e2, err)
		}
	})
}
