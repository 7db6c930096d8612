// Printing for -bP: single options, drivers, named lists and macros, in
// Exim's output shapes.
//
// Exim specification: chapter "The Exim command line", option -bP.
package config

import (
	"fmt"
	"strings"
)

// OptionLine returns the main option name as -bP prints it ("name =
// value", "name", "no_name"; only the value when noName is set, except
// for booleans) and false when there is no such main option.
func (c *Config) OptionLine(name string, noName bool) (string, bool) {
	if !c.Main.Has(name) {
		return "", false
	}
	l := c.Main.Line(name)
	if noName {
		if _, v, ok := strings.Cut(l, " = "); ok {
			return v, true
		}
		if strings.HasSuffix(l, " =") {
			return "", true
		}
	}
	return l, true
}

// MainLines returns every (non-hidden) main option as -bP prints them.
func (c *Config) MainLines() []string {
	names := c.Main.Names()
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = c.Main.Line(n)
	}
	return out
}

// Lines returns a driver's options as -bP prints them.
func (d *Driver) Lines() []string {
	names := d.Options.Names()
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = d.Options.Line(n)
	}
	return out
}

// ListLine returns a named list as "-bP +name" prints it, or the error
// text when there is none.
func (c *Config) ListLine(name string) (string, bool) {
	for _, l := range c.Lists {
		if l.Name == name {
			return fmt.Sprintf("%slist %s = %s", l.Kind, l.Name, l.Value), true
		}
	}
	return fmt.Sprintf("no address, domain, host, or local part list called %q exists", name), false
}

// DriversOfKind returns the routers, transports or authenticators.
func (c *Config) DriversOfKind(kind string) []*Driver {
	switch kind {
	case "router":
		return c.Routers
	case "transport":
		return c.Transports
	case "authenticator":
		return c.Authenticators
	}
	return nil
}
