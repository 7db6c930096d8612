// Package integration holds the integration scenarios that compare exigo
// with real Exim 4.96 through live daemons: each scenario writes one
// configuration, starts `exim -bdf` and `exigo -bdf` on it (each with its
// own spool and log directories, on a free port), drives both with swaks
// and compares the SMTP transcripts, the main and reject log lines and
// what was stored or delivered, after masking what legitimately differs
// (times, message ids, pids, ports).
//
// The scenarios cover the integrations an administrator relies on (spec
// chapters "Content scanning at ACL time", "DKIM, SPF, SRS and DMARC",
// "File and database lookups" (LDAP) and "The plaintext authenticator")
// with the real servers started by the tests: clamd, a DNS server
// (internal/dns/dnstest) and slapd.
//
// Set EXIGO_INTEGRATION_DUMP=1 to have the tests log Exim's masked
// transcripts, logs and stored messages (go test -v).
//
// The package has no code of its own: only tests.
package integration
