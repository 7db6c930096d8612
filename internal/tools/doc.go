// Package tools implements Exim's companion utilities that work on the
// queue listing without delivering: exiqgrep (selective queue listing)
// and exiqsumm (queue summary by domain).
//
// Exim specification: chapter "Exim utilities", sections "Selective
// queue listing (exiqgrep)" and "Summarizing the queue (exiqsumm)".
package tools
