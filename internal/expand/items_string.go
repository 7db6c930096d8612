package expand

// stringItems are the string expansion items. Spec: "Expansion items".
var stringItems = map[string]itemDef{}
