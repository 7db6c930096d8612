package cli

import "fmt"

// runExpand implements -be and -bem: string expansion testing.
func runExpand(inv *Invocation, env *Env) int {
	fmt.Fprintln(env.Stderr, "exim: -be is not yet supported by exigo")
	return 1
}
