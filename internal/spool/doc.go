// Package spool keeps messages on disk in Exim 4.96's spool layout and
// format, so exigo and Exim can read each other's queues: message ids,
// the -H (envelope, status, headers) and -D (body) files, -J journals,
// msglog files, fcntl locks on -D files, split_spool_directory, and
// durable writes with group commit (see commit.go for the ordering).
//
// # Layout
//
//	SPOOL/input/[X/]ID-H   envelope and headers; the message exists once it does
//	SPOOL/input/[X/]ID-D   "ID-D" line, then the body
//	SPOOL/input/[X/]ID-J   journal of deliveries done during an attempt
//	SPOOL/input/[X/]hdr.ID exigo's temporary -H, renamed at commit
//	SPOOL/msglog/[X/]ID    per-message log
//
// X is the sixth character of the id when split_spool_directory is set.
// Exim specification: chapter 3 ("How Exim receives and delivers mail"),
// chapter 57 ("Format of spool files"), and split_spool_directory in
// chapter 14.
package spool
