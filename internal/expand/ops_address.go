package expand

// addressOperators are the address operators. Spec: "Expansion operators".
var addressOperators = map[string]opFunc{}
