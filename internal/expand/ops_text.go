package expand

import "strings"

// textOperators are the operators that transform text.
// Spec: "Expansion operators".
var textOperators = map[string]opFunc{
	"lc": func(_ *state, s string, _ []int) (string, error) { return strings.ToLower(s), nil },
	"uc": func(_ *state, s string, _ []int) (string, error) { return strings.ToUpper(s), nil },
}
