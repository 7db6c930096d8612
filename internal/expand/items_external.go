package expand

// externalItems are the external expansion items. Spec: "Expansion items".
var externalItems = map[string]itemDef{}
