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
// What Go's crypto/tls cannot reproduce (listed on ParsePriority too): the
// choice of TLS 1.3 cipher suite (Go prefers AES-128-GCM when the client
// lists an AES-GCM suite first, so an OpenSSL client that lists
// AES-256-GCM first gets AES_128_GCM where GnuTLS gives AES_256_GCM), DHE
// key exchange ("DHE_CUSTOM2048", tls_dhparam is ignored: ECDHE only),
// X448 and FFDHE groups, session resumption (tls_resumption_hosts), and
// GnuTLS's security profiles. TLS 1.2 suite and group choice follow the
// client's order as GnuTLS does (Go alone would use its own order).
package tlsserver
