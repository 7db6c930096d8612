// -bP: print configuration option values, drivers, named lists, macros
// and the configuration itself, in Exim's output shapes.
//
// Exim specification: chapter "The Exim command line", option -bP.
package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/exigo-mta/exigo/internal/config"
)

// configFile returns the file -C names, or the first existing default.
func configFile(inv *Invocation) string {
	if inv.ConfigFile != "" {
		return inv.ConfigFile
	}
	for _, f := range DefaultConfigFiles {
		if _, err := os.Stat(f); err == nil {
			return f
		}
	}
	return strings.Join(DefaultConfigFiles, ":")
}

// runPrintConfig implements -bP: print option values.
func runPrintConfig(inv *Invocation, env *Env) int {
	path := configFile(inv)
	args := inv.Args
	noName := inv.Terse
	if len(args) > 0 && args[0] == "-n" {
		noName, args = true, args[1:]
	}
	c, err := config.Load(path, config.Options{Macros: inv.Macros})
	if err != nil {
		if len(args) == 1 && args[0] == "config" {
			// -bP config reports like -bV, with the date.
			fmt.Fprint(env.Stderr, config.StderrText(env.Now(), err))
			return 1
		}
		fmt.Fprint(env.Stderr, config.PanicText(err))
		return 1
	}
	out := env.Stdout
	if len(args) == 0 {
		for _, l := range c.MainLines() {
			fmt.Fprintln(out, l)
		}
		return 0
	}
	rc := 0
	for i := 0; i < len(args); i++ {
		a := args[i]
		rc = 0
		switch a {
		case "config_file":
			fmt.Fprintln(out, c.Path)
		case "config":
			for _, l := range c.Lines {
				fmt.Fprintln(out, l)
			}
		case "router_list", "transport_list", "authenticator_list":
			for _, d := range c.DriversOfKind(strings.TrimSuffix(a, "_list")) {
				fmt.Fprintln(out, d.Name)
			}
		case "routers", "transports", "authenticators":
			kind := strings.TrimSuffix(a, "s")
			for _, d := range c.DriversOfKind(kind) {
				fmt.Fprintf(out, "\n%s %s:\n", d.Name, kind)
				for _, l := range d.Lines() {
					fmt.Fprintln(out, l)
				}
			}
		case "router", "transport", "authenticator":
			if i+1 >= len(args) {
				fmt.Fprintf(out, "%s is not a known option\n", a)
				rc = 1
				continue
			}
			i++
			var d *config.Driver
			for _, x := range c.DriversOfKind(a) {
				if x.Name == args[i] {
					d = x
				}
			}
			if d == nil {
				fmt.Fprintf(out, "%s %s not found\n", a, args[i])
				rc = 1
				continue
			}
			for _, l := range d.Lines() {
				fmt.Fprintln(out, l)
			}
		case "macros":
			for _, m := range c.Macros {
				fmt.Fprintf(out, "%s=%s\n", m.Name, m.Value)
			}
		case "macro":
			if i+1 >= len(args) {
				fmt.Fprintf(out, "%s is not a known option\n", a)
				rc = 1
				continue
			}
			i++
			if v, ok := c.Macro(args[i]); ok {
				fmt.Fprintf(out, "%s=%s\n", args[i], v)
			} else {
				fmt.Fprintf(out, "macro %s not found\n", args[i])
				rc = 1
			}
		default:
			if strings.HasPrefix(a, "+") {
				l, ok := c.ListLine(a[1:])
				fmt.Fprintln(out, l)
				if !ok {
					rc = 1
				}
				continue
			}
			l, ok := c.OptionLine(a, noName)
			if !ok {
				fmt.Fprintf(out, "%s is not a known option\n", a)
				rc = 1
				continue
			}
			fmt.Fprintln(out, l)
		}
	}
	return rc
}
