// Package lists implements Exim's lists: splitting with changeable
// separators, and matching domains, hosts, addresses and local parts
// against domain lists, host lists, address lists and local part lists
// (named lists, negation, wildcards, regular expressions, lookups).
//
// Exim specification: chapter "Domain, host, address, and local part lists".
package lists
