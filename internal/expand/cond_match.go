package expand

// matchConditions are the regular expression and list matching conditions.
// Spec: "Expansion conditions".
var matchConditions = map[string]condDef{}
