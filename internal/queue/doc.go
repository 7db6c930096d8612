// Package queue is where an accepted message enters exigo's queue: it
// gives the message an Exim id, stores it in the spool through the group
// commit (durable before the caller answers 250), writes the "<=" line of
// the main log and hands the id to a Scheduler for immediate delivery,
// unless queue_only or -odq keep it queued.
//
// The SMTP daemon, -bs, and the sendmail interface (-bm, -t) all store
// messages through Queue.Store; the SMTP paths reach it through
// SpoolReceiver, which implements smtpserver.Receiver.
//
// Delivery is not part of this package: the future deliver/queue-runner
// code implements Scheduler. Until then messages stay queued.
//
// Exim specification: chapter "How Exim receives and delivers mail"
// (message ids, immediate delivery), chapter "Log files" (the "<=" line),
// chapter "Format of spool files", and queue_only in chapter "Main
// configuration".
package queue
