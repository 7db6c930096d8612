// What exigo implements: the lists that -bV shows. A driver that Exim
// does not know is a configuration error, as in Exim ("cannot find
// router driver"); exigo prints no warnings of its own for options it
// parses, since Exim prints none (it warns only about its environment
// and TLS certificate, which the daemon logs).
package config

// ImplementedLookups are the lookup types exigo implements, in -bV order.
var ImplementedLookups = []string{"lsearch", "wildlsearch", "nwildlsearch", "iplsearch", "cdb", "dbm", "dsearch", "ldap", "ldapdn", "ldapm", "sqlite", "passwd", "dnsdb"}

// ImplementedRouters, ImplementedTransports and ImplementedAuthenticators
// are the drivers exigo implements, in -bV order.
var (
	ImplementedRouters        = []string{"accept", "dnslookup", "ipliteral", "manualroute", "queryprogram", "redirect"}
	ImplementedTransports     = []string{"appendfile/maildir/mailstore", "autoreply", "lmtp", "pipe", "smtp"}
	ImplementedAuthenticators = []string{"cram_md5", "external", "plaintext"}
)

// ImplementedSupport are the "Support for:" features exigo has.
var ImplementedSupport = []string{"crypteq", "IPv6", "TLS", "DKIM", "PIPECONNECT", "SRS"}
