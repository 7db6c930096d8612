package expand

// listOperators are the list operators. Spec: "Expansion operators".
var listOperators = map[string]opFunc{}
