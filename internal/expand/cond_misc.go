package expand

// miscConditions are the remaining conditions (def:, exists, isip and so
// on). Spec: "Expansion conditions".
var miscConditions = map[string]condDef{}
