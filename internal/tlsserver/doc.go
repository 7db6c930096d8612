// Package tlsserver is the server side of TLS for the SMTP server: STARTTLS
// and tls_on_connect_ports, configured by Exim's main options
// (tls_certificate, tls_privatekey, tls_require_ciphers, tls_verify_hosts,
// tls_try_verify_hosts, tls_verify_certificates, tls_crl, tls_ocsp_file,
// tls_alpn, tls_advertise_hosts) and reporting what was negotiated in the
// words of Exim 4.96 built with GnuTLS (Debian's build): the X=, CV=, DN=
// and SNI= log fields and the $tls_in_* variables.
//
// Use: New once per configuration; per connection Advertise (for the EHLO
// reply), then on STARTTLS Prepare (a *SetupError means reply
// "454 TLS currently unavailable"), reply "220 TLS go ahead", then
// Pending.Handshake (a *HandshakeError is logged and the connection
// closed). For tls_on_connect, Server does both steps.
//
// Exim specification: chapter "Encrypted SMTP connections using TLS/SSL";
// main options tls_*; chapter "Log files" (X=, CV=, DN=, SNI=); chapter
// "String expansions" ($tls_in_*).
//
// What Go's crypto/tls cannot reproduce is listed on ParsePriority and in
// the package's README section of the report: the choice of TLS 1.3
// cipher suite (Go prefers AES-128-GCM when the client lists an AES-GCM
// suite first; GnuTLS takes the client's first), DHE key exchange, X448
// and FFDHE groups, and GnuTLS's security profiles.
package tlsserver
