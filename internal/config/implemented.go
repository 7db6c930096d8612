// What exigo implements: lists shown by -bV, and the options whose
// setting exigo honours. Setting any other option parses, but Load
// reports it in Config.Warnings. Other packages extend these lists as they
// implement more.
package config

import "fmt"

// ImplementedLookups are the lookup types exigo implements, in -bV order.
var ImplementedLookups = []string{"lsearch", "wildlsearch", "nwildlsearch", "iplsearch", "cdb", "dbm", "dsearch", "sqlite", "passwd", "dnsdb"}

// ImplementedRouters, ImplementedTransports and ImplementedAuthenticators
// are the drivers exigo implements, in -bV order.
var (
	ImplementedRouters        = []string{}
	ImplementedTransports     = []string{}
	ImplementedAuthenticators = []string{}
)

// ImplementedSupport are the "Support for:" features exigo has.
var ImplementedSupport = []string{"IPv6"}

// ImplementedMainOptions are the main options exigo honours.
var ImplementedMainOptions = []string{
	"primary_hostname", "qualify_domain", "qualify_recipient", "keep_environment", "add_environment",
	"exim_user", "exim_group", "spool_directory", "log_file_path",
}

func contains(list []string, s string) bool {
	for _, x := range list {
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
