// -bV: the version block, what this build supports, and a check of the
// configuration.
//
// Exim specification: chapter "The Exim command line", option -bV.
package cli

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/exigo-mta/exigo/internal/config"
)

// Version is the Exim version exigo answers as.
const Version = "4.96"

// buildInfo returns exigo's own version and build time, from the Go build
// information (module version and VCS time) where present.
func buildInfo() (version string, built time.Time) {
	version = "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.time" {
				built, _ = time.Parse(time.RFC3339, s.Value)
			}
		}
	}
	if built.IsZero() {
		if exe, err := os.Executable(); err == nil {
			if st, err := os.Stat(exe); err == nil {
				built = st.ModTime()
			}
		}
	}
	return version, built
}

func writeVersionBlock(env *Env) {
	v, built := buildInfo()
	out := env.Stdout
	fmt.Fprintf(out, "Exim version %s #1 built %s\n", Version, built.Format("02-Jan-2006 15:04:05"))
	fmt.Fprintln(out, "Copyright (c) University of Cambridge, 1995 - 2018")
	fmt.Fprintln(out, "(c) The Exim Maintainers and contributors in ACKNOWLEDGMENTS file, 2007 - 2022")
	fmt.Fprintf(out, "exigo: %s, %s\n", v, runtime.Version())
	line := func(title string, items []string) {
		fmt.Fprint(out, title)
		for _, it := range items {
			fmt.Fprint(out, " "+it)
		}
		fmt.Fprintln(out)
	}
	line("Support for:", config.ImplementedSupport)
	line("Lookups (built-in):", config.ImplementedLookups)
	line("Authenticators:", config.ImplementedAuthenticators)
	line("Routers:", config.ImplementedRouters)
	line("Transports:", config.ImplementedTransports)
	fmt.Fprintln(out, "Fixed never_users: 0")
	fmt.Fprintln(out, "Configure owner: 0:0")
	fmt.Fprintln(out, "Size of off_t: 8")
}

// environmentWarning is what Exim prints when it drops the environment
// because keep_environment is unset.
func environmentWarning(c *config.Config, env *Env) {
	if c == nil || c.Main.IsSet("keep_environment") || len(os.Environ()) == 0 {
		return
	}
	fmt.Fprint(env.Stderr, config.TimePrefix(env.Now())+"Warning: purging the environment.\n Suggested action: use keep_environment.\n")
}

// runVersion implements -bV: version information and a configuration check.
func runVersion(inv *Invocation, env *Env) int {
	writeVersionBlock(env)
	path := configFile(inv)
	c, err := config.Load(path, config.Options{Macros: inv.Macros})
	environmentWarning(c, env)
	if err != nil {
		fmt.Fprint(env.Stderr, config.StderrText(env.Now(), err))
		return 1
	}
	printArguments(inv, env, c)
	fmt.Fprintf(env.Stdout, "Configuration file is %s\n", strings.TrimSpace(c.Path))
	return 0
}
