package expand

// codecOperators are the codec operators. Spec: "Expansion operators".
var codecOperators = map[string]opFunc{}
