// Package tools implements Exim's companion utilities: exiqgrep
// (selective queue listing), exipick (queue selection by criteria on
// message variables, as Debian's exipick for Exim 4.96), exiqsumm
// (queue summary by domain), exigrep
// (log search by message), eximstats (log statistics: the whole plain
// text report, byte for byte as Debian's eximstats 1.61 writes it;
// not -merge, -html, -xls or -charts), exicyclog (log
// rotation) and exiwhat (what exigo's processes are doing, read from
// activity files instead of Exim's SIGUSR1 round; see exiwhat.go).
//
// Exim specification: chapter "Exim utilities".
package tools

import (
	"regexp"
	"sync"
)

// lazyRegexp returns a function that compiles expr on its first call and
// returns the same compiled expression afterwards. The tools' many
// patterns are compiled only by the tool that uses them, not at the start
// of every exigo command (which shares this package's initialisation).
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}
