package expand

import (
	"strings"
	"testing"
)

// FuzzCompilePCRE checks that no pattern makes the PCRE translation, the
// engine or a match panic, and that errors carry Exim's wording.
func FuzzCompilePCRE(f *testing.F) {
	for _, s := range []string{
		"(", ")", "[", "a**", `\`, `\Qa.b\E`, "(?P<n>a)(?P=n)", "[[:alpha:]]+",
		"a*+b", "(?i)x", "(?<=a)b", "a{2,1}", "[z-a]", "(?#c", `\c`, "[^]a]",
		"x{2,", "(?", "\xff\xfe", "((a)|b)+?",
	} {
		f.Add(s, "abc")
	}
	f.Fuzz(func(t *testing.T, pattern, subject string) {
		re, err := compileRegex(pattern)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "regular expression error in ") {
				t.Fatalf("compileRegex(%q): %v", pattern, err)
			}
			return
		}
		if _, _, err := re.Match(subject); err != nil {
			t.Logf("match(%q, %q): %v", pattern, subject, err)
		}
	})
}

// FuzzConditionNumber checks the numeric condition parser.
func FuzzConditionNumber(f *testing.F) {
	for _, s := range []string{"", " 1", "-9223372036854775808", "1K", "8589934592G", "x", "1 x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := conditionNumber(s); err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("conditionNumber(%q): error of type %T", s, err)
			}
		}
	})
}

// FuzzJSONItems checks the JSON array iteration of forall_json and
// friends: it terminates and returns items that are parts of the input.
func FuzzJSONItems(f *testing.F) {
	for _, s := range []string{`[1,2]`, `[{"a":[1]},"b"]`, `["a\"b"]`, `[`, `x`, `[1,,2]`} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, dewrap bool) {
		n := 0
		_ = jsonItems(dewrap)(s, func(item string) (bool, error) {
			if !strings.Contains(s, item) {
				t.Fatalf("item %q not in %q", item, s)
			}
			n++
			if n > len(s)+1 {
				t.Fatalf("too many items from %q", s)
			}
			return false, nil
		})
	})
}
