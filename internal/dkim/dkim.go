// Package dkim signs and verifies DomainKeys Identified Mail (RFC 6376,
// RFC 8463 for Ed25519) exactly as Exim 4.96 does: the same
// DKIM-Signature fields byte for byte (tag order, h= selection, folding),
// and the same verification statuses, $dkim_* values and log lines.
//
// Exim specification: chapter "DKIM, SPF, SRS and DMARC" (sections 1-3),
// chapter "The smtp transport" (dkim_* options), chapter "Main
// configuration" (acl_smtp_dkim, dkim_verify_*), chapter "Log files"
// (DKIM= and dkim_verbose).
//
// # Contract for the smtp transport (signing)
//
// The transport does all expansion; this package expands nothing.
//
//  1. Expand dkim_domain. Empty: send unsigned. Otherwise, for each
//     element of the list, lowercased, set $dkim_domain and expand
//     dkim_selector; empty: no signature for that domain. For each
//     selector element set $dkim_selector and expand dkim_private_key;
//     KeyDisabled (empty, "0", "false"): no signature for that pair,
//     silently, even with dkim_strict. Otherwise LoadPrivateKey (a value
//     starting with "/" is a file).
//  2. With the same $dkim_domain and $dkim_selector, expand dkim_canon,
//     dkim_hash, dkim_identity, dkim_sign_headers and dkim_timestamps into
//     one SignOptions per pair, in domain-major order.
//  3. Call Sign with the headers exactly as they will be sent (after
//     headers_add, headers_remove and rewriting, with Exim's Received:)
//     and the body, and write the returned fields above all the other
//     headers, in the order returned (LF line ends: convert to CRLF on
//     the wire like the rest).
//  4. When loading a key or Sign fails, expand dkim_strict: Strict true
//     means defer the delivery; otherwise send the message unsigned.
//
// # Contract for the SMTP DATA stage (verification)
//
// Unless the dkim_disable_verify control is set:
//
//  1. Call Verify with the received headers and body, ResolverLookup of
//     the instance's resolver, and VerifyOptions from dkim_verify_hashes,
//     dkim_verify_keytypes, dkim_verify_min_keysizes, dkim_verify_minimal.
//     Log each Result's Notes (after the message id) as they come.
//  2. Set $dkim_signers to Signers(results), expand dkim_verify_signers
//     (default "$dkim_signers") and run acl_smtp_dkim for each ACLRun of
//     ACLRuns, with the $dkim_* variables of ACLRun.Vars; the dkim_status
//     and dkim_signers conditions are MatchStatus and MatchSigner. After
//     each run that has a Result, log Result.LogLine() when the
//     dkim_verbose log selector is set. A run that does not accept
//     rejects the message.
//  3. Add " DKIM=" + LogField(results) to the <= line when it is not
//     empty (dkim log selector, on by default).
package dkim
