package expand

// logicConditions are and, or, forall and forany, and the boolean tests.
// Spec: "Expansion conditions".
var logicConditions = map[string]condDef{}
