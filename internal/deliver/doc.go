// Package deliver delivers one message: it routes every undelivered
// recipient (router.Set.Route, following redirections and unseen
// routers), groups the routed addresses per transport, runs the
// transports, records every outcome durably in the -H file before it
// logs it, writes Exim's "=>", "->", "**", "==" and "Completed" lines,
// sends bounces (RFC 3464 delivery status notifications from <>),
// consults the retry rules and hints for deferrals, and freezes
// undeliverable bounces. It also holds the queue runner (-q and its
// variants) and the Scheduler that starts delivery after reception.
//
// # Order of an attempt (crash safety)
//
//  1. Lock the message (the -D file's fcntl lock) and read its -H file.
//  2. Merge a -J journal left by an earlier attempt that crashed: the
//     addresses in it were delivered and are added to the
//     non-recipients tree, so they are never delivered twice.
//  3. Route every address not in the tree; routing failures are recorded.
//  4. Before each transport run, nothing is written; after each
//     successful run, its addresses are appended to the -J journal and
//     the journal is fsync'd (the record that the delivery happened).
//  5. When all transports are done: retry processing; the -H file is
//     rewritten through the spool's group commit with the tree updated;
//     only then are the log lines written.
//  6. Bounces are stored as new messages; when nothing is left to do
//     the message is removed and "Completed" logged.
//
// # Also here
//
//   - QT= and DT= on delivery lines and QT= on "Completed" (times.go);
//     -N logs "*>" without running transports.
//   - Delay warnings (warn.go), bounce_message_file, bounce_message_text,
//     bounce_return_size_limit and one bounce per errors_to address
//     (bounce.go); -Mg and timeout_frozen_after (giveup.go).
//   - batch_max for local transports (batch.go).
//   - A local transport that wants a uid or gid the process does not
//     have, in a process that is not root (the daemon as exim_user), runs
//     through Deliverer.Local, a LocalRunner (local.go); LocalWorker is
//     the other end, in the worker the root supervisor starts as that
//     user.
//   - Queue runs in random order unless queue_run_in_order.
//   - wait-<transport> hints (wait.go): a message deferred because its
//     hosts could not be used waits in its host's record; a delivery to
//     a host takes the messages waiting for it down the same SMTP
//     connection ("H=host [ip]*"), up to connection_max_messages.
//   - A redirect router with check_local_user reads its file and writes
//     a filter's log file as the local user (userfiles.go): through
//     Deliverer.Local in the daemon, with fchown in a root process.
//
// Exim specification: chapters "How Exim receives and delivers mail",
// "Customizing bounce and warning messages", "Retry configuration" and
// "Log files".
package deliver
