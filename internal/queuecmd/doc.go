// Package queuecmd lists and manages the queue without delivering: the
// -bp family (-bp, -bpa, -bpc, -bpr, -bpra, -bpru, -bpu, mailq) and the
// -M message commands that work on the spool alone (-Mrm, -Mf, -Mt,
// -Mvh, -Mvb, -Mvc, -Mvl, -Mar, -Mmd, -Mmad, -Mes, and -Mg for bounce
// messages), with Exim 4.96's output texts, log lines and exit codes.
//
// Listing is built for large queues. The directories (input/ and its
// split sub-directories, read in parallel with raw getdents64) give
// 16-byte entries; -bpc counts them without opening a file. -bp sorts
// them as Exim does (a stable radix sort on arrival second and
// fraction) and reads the -H files in parallel, each message costing
// four system calls (openat, read and close of the -H file relative to
// its directory, statx of the -D file) and no allocation: the scanner
// extracts only what the listing shows (sender, arrival time, frozen
// flag, recipients, delivered addresses, header size) and the output is
// written in blocks, in order, with a bounded number in flight. A -J
// journal left by an interrupted delivery is read too: its addresses
// count as delivered, as in Exim's listing.
//
// A listing cache, SPOOL/db/exigo-listing (cache.go, cachefile.go),
// keeps what each directory printed while the directory's mtime and
// ctime stay as they were (and were more than two seconds old when it
// was read): an unchanged directory then costs one fstat, and -bpc
// reads only the cache's index.
//
// Exim specification: chapter "The Exim command line" (options -bp...,
// -M...), chapter "Format of spool files", chapter "Log files".
package queuecmd
