// Package tools implements Exim's companion utilities: exiqgrep
// (selective queue listing), exiqsumm (queue summary by domain), exigrep
// (log search by message), eximstats (log statistics; the text report's
// summary, transport, histogram and error sections), exicyclog (log
// rotation) and exiwhat (what exigo's processes are doing, read from
// activity files instead of Exim's SIGUSR1 round; see exiwhat.go).
//
// Exim specification: chapter "Exim utilities".
package tools
