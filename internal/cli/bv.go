package cli

import "fmt"

// runVersion implements -bV: version information and a configuration check.
func runVersion(inv *Invocation, env *Env) int {
	fmt.Fprintln(env.Stderr, "exim: -bV is not yet supported by exigo")
	return 1
}
