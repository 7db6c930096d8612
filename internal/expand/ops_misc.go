package expand

// miscOperators are the misc operators. Spec: "Expansion operators".
var miscOperators = map[string]opFunc{}
