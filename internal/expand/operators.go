package expand

import (
	"strconv"
	"strings"
)

// opFunc implements an operator ${name:arg}. params holds the numbers of
// the _N forms (${substr_1_2:...}), nil when there are none.
type opFunc func(st *state, arg string, params []int) (string, error)

// operatorTables are the groups of operators, one table per file. A name
// must appear in one table only.
var operatorTables = []map[string]opFunc{
	textOperators,
	codecOperators,
	hashOperators,
	netOperators,
	listOperators,
	numberOperators,
	addressOperators,
	miscOperators,
}

// paramOperators are the operators that take _N parameters in their name
// (spec: "${length_<n>:...}", "${substr_<m>_<n>:...}", "${hash_<n>_<m>:...}"
// and their abbreviations), mapped to their full names.
var paramOperators = map[string]string{
	"length": "length", "l": "length",
	"substr": "substr", "s": "substr",
	"hash": "hash", "h": "hash",
	"nhash": "nhash", "nh": "nhash",
}

// findOperator resolves an operator name as written, including quote_TYPE
// and the _N parameter forms.
func findOperator(name string) (opFunc, []int, error) {
	for _, t := range operatorTables {
		if f, ok := t[name]; ok {
			return f, nil, nil
		}
	}
	if typ, ok := strings.CutPrefix(name, "quote_"); ok {
		return quoteLookupOperator(typ)
	}
	base, rest, found := strings.Cut(name, "_")
	if full, ok := paramOperators[base]; found && ok {
		var params []int
		for rest != "" {
			var num string
			num, rest, _ = strings.Cut(rest, "_")
			neg := strings.HasPrefix(num, "-")
			digits := strings.TrimPrefix(num, "-")
			if digits == "" || strings.Trim(digits, "0123456789") != "" {
				return nil, nil, errorf("non-digit after underscore in \"%s\"", name)
			}
			n, err := strconv.Atoi(digits)
			if err != nil {
				return nil, nil, errorf("non-digit after underscore in \"%s\"", name)
			}
			if neg {
				n = -n
			}
			params = append(params, n)
		}
		for _, t := range operatorTables {
			if f, ok := t[full]; ok {
				return f, params, nil
			}
		}
	}
	return nil, nil, errorf("unknown expansion operator \"%s\"", name)
}

// quoteLookupOperator returns the quote_TYPE operator of a lookup type.
func quoteLookupOperator(typ string) (opFunc, []int, error) {
	return func(st *state, arg string, _ []int) (string, error) {
		return quoteForLookup(typ, arg)
	}, nil, nil
}

// quoteForLookup quotes s for the lookup type typ. It is replaced by the
// lookup package's quoting when available.
func quoteForLookup(typ, s string) (string, error) {
	return s, nil
}
