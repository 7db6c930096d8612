// The hints database utilities, reached by their own names (exinext,
// exim_dumpdb, exim_tidydb, exim_fixdb) or as "exigo --tool NAME ...".
//
// Exim specification: chapter "Exim utilities".
package cli

import (
	"fmt"
	"strings"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/tools/dbtools"
)

// runTool runs a utility when argv names one; ok is false otherwise.
func runTool(argv []string, env *Env) (code int, ok bool) {
	name, args := baseName(argv[0]), argv[1:]
	if (name == "exigo" || name == "exim" || name == "exim4") && len(args) >= 2 && args[0] == "--tool" {
		name, args = args[1], args[2:]
	}
	te := &dbtools.Env{Stdin: env.Stdin, Stdout: env.Stdout, Stderr: env.Stderr, Now: env.Now}
	switch name {
	case "exim_dumpdb":
		return dbtools.DumpDB(args, te), true
	case "exim_tidydb":
		return dbtools.TidyDB(args, te), true
	case "exim_fixdb":
		return dbtools.FixDB(args, te), true
	case "exinext":
		return runExinext(args, env, te), true
	}
	return 0, false
}

// runExinext takes exinext's -C and -D options, reads the configuration
// for the spool directory and the qualify domain, and runs exinext. No
// router is consulted yet: hosts are not found by routing.
func runExinext(args []string, env *Env, te *dbtools.Env) int {
	inv := &Invocation{}
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch {
		case args[0] == "-C" && len(args) > 1:
			inv.ConfigFile, args = args[1], args[2:]
		case strings.HasPrefix(args[0], "-D"):
			n, v, _ := strings.Cut(args[0][2:], "=")
			inv.Macros = append(inv.Macros, config.Macro{Name: n, Value: v})
			args = args[1:]
		default:
			fmt.Fprintf(env.Stderr, "exinext: unknown option %s\n", args[0])
			return 1
		}
	}
	cfg, code, ok := loadConfig(inv, env)
	if !ok {
		return code
	}
	spool := cfg.Main.String("spool_directory")
	qualify := cfg.Main.String("qualify_domain")
	if qualify == "" {
		qualify = cfg.Main.String("primary_hostname")
	}
	return dbtools.Exinext(args, spool, qualify, nil, te)
}
