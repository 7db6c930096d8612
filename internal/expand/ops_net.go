package expand

// netOperators are the net operators. Spec: "Expansion operators".
var netOperators = map[string]opFunc{}
