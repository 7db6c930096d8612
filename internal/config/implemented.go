// What exigo implements: lists shown by -bV, and the options whose
// setting exigo honours. Setting any other option parses, but Load
// reports it in Config.Warnings. Other packages extend these lists as they
// implement more.
package config

import (
	"fmt"
	"strings"
)

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

// ImplementedMainOptions are the main options exigo honours (the ones its
// code reads).
var ImplementedMainOptions = []string{
	"accept_8bitmime", "acl_not_smtp", "acl_not_smtp_mime",
	"acl_not_smtp_start", "acl_smtp_auth", "acl_smtp_connect",
	"acl_smtp_data", "acl_smtp_data_prdr", "acl_smtp_dkim", "acl_smtp_etrn",
	"acl_smtp_expn", "acl_smtp_helo", "acl_smtp_mail", "acl_smtp_mime",
	"acl_smtp_notquit", "acl_smtp_predata", "acl_smtp_quit", "acl_smtp_rcpt",
	"acl_smtp_starttls", "acl_smtp_vrfy", "admin_groups", "auto_thaw",
	"daemon_smtp_ports", "dns_retrans", "dns_retry", "exim_group",
	"exim_user", "headers_charset", "helo_accept_junk_hosts",
	"helo_allow_chars", "hosts_treat_as_local", "ignore_bounce_errors_after",
	"keep_environment", "ldap_ca_cert_dir", "ldap_ca_cert_file",
	"ldap_cert_file", "ldap_cert_key", "ldap_default_servers",
	"ldap_require_cert", "ldap_start_tls", "local_interfaces",
	"localhost_number", "log_file_path", "log_selector", "lookup_open_max",
	"message_size_limit", "never_users", "pid_file_path", "prdr_enable",
	"primary_hostname", "qualify_domain", "qualify_recipient",
	"queue_list_requires_admin", "queue_only", "received_header_text",
	"remote_max_parallel", "smtp_accept_max", "smtp_accept_max_nonmail",
	"smtp_accept_max_per_host", "smtp_banner", "smtp_etrn_command",
	"smtp_max_synprot_errors", "smtp_max_unknown_commands",
	"split_spool_directory", "spool_directory", "sqlite_dbfile",
	"sqlite_lock_timeout", "timezone", "tls_advertise_hosts",
	"tls_on_connect_ports",
}

func contains(list []string, s string) bool {
	for _, x := range list {
		// "appendfile/maildir/mailstore" stands for the appendfile driver.
		if i := strings.IndexByte(x, '/'); i >= 0 {
			x = x[:i]
		}
		if x == s {
			return true
		}
	}
	return false
}

func (c *Config) collectWarnings() {
	for i, st := range c.Main.set {
		if st != nil && !contains(ImplementedMainOptions, c.Main.defs[i].name) {
			c.Warnings = append(c.Warnings, fmt.Sprintf("%s:%d: option %q is not implemented by exigo; ignored", st.File, st.Line, c.Main.defs[i].name))
		}
	}
	for _, group := range [][]*Driver{c.Routers, c.Transports, c.Authenticators} {
		for _, d := range group {
			var impl []string
			switch d.Kind {
			case "router":
				impl = ImplementedRouters
			case "transport":
				impl = ImplementedTransports
			default:
				impl = ImplementedAuthenticators
			}
			if !contains(impl, d.Driver) {
				c.Warnings = append(c.Warnings, fmt.Sprintf("%s:%d: %s driver %q is not implemented by exigo; %s %q ignored", d.File, d.Line, d.Kind, d.Driver, d.Kind, d.Name))
			}
		}
	}
}
