package expand

import (
	"strings"

	"github.com/exigo-mta/exigo/internal/lookup"
)

// opFunc implements an operator ${name:arg}. params holds the numbers of
// the _N forms when the parser resolved them; the operators here take
// their suffix through suffixOp instead and receive nil.
type opFunc func(st *state, arg string, params []int) (string, error)

// suffixOp makes an operator from the text after the first "_" of its
// name (${substr_1_2:...}, ${sha2_512:...}, ${listnamed_d:...}); has is
// false when the name has no "_". Exim checks the suffix only when the
// operator is evaluated, so errors in it are evaluation errors.
type suffixOp func(name, suffix string, has bool) opFunc

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

// suffixOperatorTables are the operators that read a suffix of their name.
var suffixOperatorTables = []map[string]suffixOp{
	textSuffixOperators,
	hashSuffixOperators,
	netSuffixOperators,
	listSuffixOperators,
}

func plainOperator(name string) opFunc {
	if name == "expand" {
		// Not in a table: it parses, and the parser reads the tables.
		return opExpand
	}
	for _, t := range operatorTables {
		if f, ok := t[name]; ok {
			return f
		}
	}
	return nil
}

func suffixOperator(name string) suffixOp {
	for _, t := range suffixOperatorTables {
		if f, ok := t[name]; ok {
			return f
		}
	}
	return nil
}

// findOperator resolves an operator name as written. Exim first looks for
// the whole name (some names contain "_": from_utf8, local_part ...),
// then for quote_TYPE, then for the part before the first "_", whose
// operator gets (or, for most, ignores) the rest: ${lc_x:A} is ${lc:A}.
// Spec: "Expansion operators".
func findOperator(name string) (opFunc, []int, error) {
	if f := plainOperator(name); f != nil {
		return f, nil, nil
	}
	if s := suffixOperator(name); s != nil {
		return s(name, "", false), nil, nil
	}
	if typ, ok := strings.CutPrefix(name, "quote_"); ok {
		return quoteLookupOperator(typ)
	}
	if base, suffix, ok := strings.Cut(name, "_"); ok {
		if s := suffixOperator(base); s != nil {
			return s(name, suffix, true), nil, nil
		}
		if f := plainOperator(base); f != nil {
			return f, nil, nil
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

// quoteForLookup quotes s for the lookup type typ (quote_sqlite ...);
// types without quoting rules give s unchanged.
func quoteForLookup(typ, s string) (string, error) {
	q, ok := lookup.Quote(typ, s)
	if !ok {
		return "", errorf("unknown lookup type \"%s\"", typ)
	}
	return q, nil
}
