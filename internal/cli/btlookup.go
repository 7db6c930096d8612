package cli

// modeLookups adapts the lookup package's Registry to the Lookuper
// interface that list matching and routing use.

import (
	"fmt"

	"github.com/exigo-mta/exigo/internal/lookup"
)

type modeLookups struct{ r *lookup.Registry }

// QueryStyle implements lists.Lookuper.
func (m modeLookups) QueryStyle(typ string) (bool, error) {
	k, ok := lookup.Kind(typ)
	if !ok {
		return false, fmt.Errorf("unknown lookup type \"%s\"", typ)
	}
	return k == lookup.QueryStyle, nil
}

// Find implements lists.Lookuper and expand.Lookuper.
func (m modeLookups) Find(typ, file, key string, x func(string) (string, error)) (string, bool, error) {
	return m.r.Find(typ, file, key, x)
}

// Query implements lists.Lookuper and expand.Lookuper.
func (m modeLookups) Query(typ, query string, x func(string) (string, error)) (string, bool, error) {
	return m.r.Query(typ, query, x)
}
