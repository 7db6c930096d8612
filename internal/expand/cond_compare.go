package expand

// compareConditions are the string and numeric comparisons.
// Spec: "Expansion conditions".
var compareConditions = map[string]condDef{
	"eq": stringArgs(2, func(_ *state, a []string) (bool, error) { return a[0] == a[1], nil }),
}
