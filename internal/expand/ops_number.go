package expand

// numberOperators are the number operators. Spec: "Expansion operators".
var numberOperators = map[string]opFunc{}
