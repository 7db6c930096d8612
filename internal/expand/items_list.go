package expand

// listItems are the list expansion items. Spec: "Expansion items".
var listItems = map[string]itemDef{}
