// Package tools implements Exim's companion utilities: exiqgrep
// (selective queue listing), exiqsumm (queue summary by domain), exigrep
// (log search by message), eximstats (log statistics: the whole plain
// text report, byte for byte as Debian's eximstats 1.61 writes it;
// not -merge, -html, -xls or -charts), exicyclog (log
// rotation) and exiwhat (what exigo's processes are doing, read from
// activity files instead of Exim's SIGUSR1 round; see exiwhat.go).
//
// Exim specification: chapter "Exim utilities".
package tools
