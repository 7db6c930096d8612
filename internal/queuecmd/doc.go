// Package queuecmd lists and manages the queue without delivering: the
// -bp family (-bp, -bpa, -bpc, -bpr, -bpra, -bpru, -bpu, mailq) and the
// -M message commands that work on the spool alone (-Mrm, -Mf, -Mt,
// -Mvh, -Mvb, -Mvc, -Mvl, -Mar, -Mmd, -Mmad, -Mes, and -Mg for bounce
// messages), with Exim 4.96's output texts, log lines and exit codes.
//
// Listing is built for large queues: -bpc counts directory entries
// without opening a file, and -bp reads the -H files in parallel with a
// scanner that extracts only what the listing shows (sender, arrival
// time, frozen flag, recipients, delivered addresses and the header
// size), using openat/fstatat relative to the input directory.
//
// Exim specification: chapter "The Exim command line" (options -bp...,
// -M...), chapter "Format of spool files", chapter "Log files".
package queuecmd
