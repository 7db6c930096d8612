package cli

import "fmt"

// runPrintConfig implements -bP: print option values.
func runPrintConfig(inv *Invocation, env *Env) int {
	fmt.Fprintln(env.Stderr, "exim: -bP is not yet supported by exigo")
	return 1
}
