package expand

// cryptoItems are the crypto expansion items. Spec: "Expansion items".
var cryptoItems = map[string]itemDef{}
