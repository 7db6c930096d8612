package expand

// hashOperators are the hash operators. Spec: "Expansion operators".
var hashOperators = map[string]opFunc{}
