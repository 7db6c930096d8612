// Package config reads Exim 4 runtime configuration files: macros,
// conditional and include directives, the main section, and the acl,
// routers, transports, authenticators, retry and rewrite sections.
//
// One typed option table per section (tables.go, generated from Exim
// 4.96's own -bP output) drives both parsing and -bP printing. Load stops
// at the first error, with Exim's wording; every option setting keeps its
// file and line for a lint mode.
//
// Exim specification: chapter "The Exim runtime configuration file".
package config

import (
	"fmt"
	"os"
	"time"
)

// Macro is one macro definition, from the file, from -D, or builtin.
type Macro struct {
	Name  string
	Value string
}

// Options controls Load.
type Options struct {
	// Macros are the -D definitions from the command line, in order. They
	// override any definition of the same name in the file (spec 6.7).
	Macros []Macro
}

// Config is a parsed configuration.
type Config struct {
	// Path is the file the configuration was read from.
	Path string
	// Macros holds every macro known after reading, in definition order:
	// Exim's builtin "_" macros, then -D macros, then the file's.
	Macros []Macro
	// Main holds the main section options.
	Main *OptionSet
	// Routers, Transports and Authenticators are the driver instances in
	// configuration order.
	Routers, Transports, Authenticators []*Driver
	// ACLs are the named ACLs in configuration order.
	ACLs []*ACL
	// Retry and Rewrite are the rules of those sections, in order.
	Retry   []RetryRule
	Rewrite []RewriteRule
	// Lists are the named lists (domainlist, hostlist, ...) in order.
	Lists []*NamedList
	// Lines is the configuration as Exim's -bP config prints it.
	Lines []string

	// macroIndex is the place in Macros of each macro the
	// configuration or command line defined (builtinMacros has the
	// builtins'); ownMacros says Macros is no longer shared.
	macroIndex map[string]int
	ownMacros  bool
	cmdline    map[string]bool
	sections   map[string]bool
}

// Error is a configuration error with Exim's wording. Error() returns the
// text Exim prints after its date prefix; see StderrText.
type Error struct {
	// File and Line locate the error; Line is 0 for errors Exim reports
	// without a position.
	File string
	Line int
	// Driver is set ("r1 router") for errors Exim reports while setting
	// up a driver instance.
	Driver string
	// Split puts the driver name on its own line, as Exim does for some
	// driver errors ("Exim configuration error:\n  r1 router:\n  ...").
	Split bool
	// Msg is Exim's message text.
	Msg string
	// Plain errors are not configuration errors as such (missing file).
	Plain bool
	// NoDie marks errors Exim logs as "PANIC" rather than "PANIC DIE".
	NoDie bool
}

func (e *Error) Error() string {
	switch {
	case e.Plain:
		return e.Msg
	case e.Line > 0:
		return fmt.Sprintf("Exim configuration error in line %d of %s:\n  %s", e.Line, e.File, e.Msg)
	case e.Driver != "" && e.Split:
		return fmt.Sprintf("Exim configuration error:\n  %s:\n  %s", e.Driver, e.Msg)
	case e.Driver != "":
		return fmt.Sprintf("Exim configuration error for %s:\n  %s", e.Driver, e.Msg)
	}
	return fmt.Sprintf("Exim configuration error:\n  %s", e.Msg)
}

// PanicText is the form Exim writes to stderr when it dies on err in a
// mode that logs to stderr (-bP): "LOG: PANIC DIE\n  <text>\n".
func PanicText(err error) string {
	sel := "PANIC DIE"
	text := err.Error()
	if e, ok := err.(*Error); ok {
		if e.Plain {
			sel = "MAIN PANIC DIE"
		} else if e.NoDie {
			sel = "PANIC"
		}
	}
	return "LOG: " + sel + "\n  " + text + "\n"
}

// TimePrefix formats t as Exim's log and stderr date prefix
// ("2006-01-02 15:04:05 ").
func TimePrefix(t time.Time) string {
	return t.Format("2006-01-02 15:04:05 ")
}

// StderrText is what Exim prints on stderr for a configuration error
// found at time t (-bV, -be and most modes): the date, the error and a
// newline.
func StderrText(t time.Time, err error) string {
	return TimePrefix(t) + err.Error() + "\n"
}

// maxIncludeDepth caps .include nesting.
const maxIncludeDepth = 32

// Load reads the configuration at path. It stops at the first error and
// returns an *Error with Exim's wording. When the error lies after the
// main section (which Exim acts on before reading further, e.g. for the
// keep_environment warning of -bV), Load also returns the partly filled
// Config, whose Main is complete; otherwise the Config is nil.
func Load(path string, opts Options) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{Plain: true, Msg: "non-existent configuration file(s): " + path}
	}
	return parse(path, data, opts)
}

// LoadBytes parses configuration text as if read from path.
func LoadBytes(path string, data []byte, opts Options) (*Config, error) {
	return parse(path, data, opts)
}

func newConfig(path string, opts Options) *Config {
	c := &Config{Path: path, macroIndex: map[string]int{}, cmdline: map[string]bool{}, sections: map[string]bool{}}
	c.Main = newOptionSet(tableFor("main", func() []optDef { return mainOptions }), nil)
	c.Macros, _ = builtinMacros()
	for _, m := range opts.Macros {
		if i, ok := c.macroAt(m.Name); ok {
			c.setMacro(i, m.Value)
		} else {
			c.macroIndex[m.Name] = len(c.Macros)
			c.Macros = append(c.Macros, m)
		}
		c.cmdline[m.Name] = true
	}
	return c
}

// Macro returns the value of the named macro.
func (c *Config) Macro(name string) (string, bool) {
	if i, ok := c.macroAt(name); ok {
		return c.Macros[i].Value, true
	}
	return "", false
}
