package cli

import (
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"time"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/tools"
)

// builtTools are the companion utilities exigo answers to, by argv[0]
// or as "exigo --tool NAME args...". Spec: chapter "Exim utilities".
var builtTools = map[string]func(args []string, env *Env) int{
	"exiqgrep":  runExiqgrep,
	"exiqsumm":  runExiqsumm,
	"exicyclog": runExicyclog,
	"exiwhat":   runExiwhat,
	"eximstats": func(args []string, env *Env) int {
		return tools.RunEximstats(args, env.Stdin, env.Stdout, env.Stderr)
	},
	"exigrep": func(args []string, env *Env) int {
		return tools.RunExigrep(args, env.Stdin, env.Stdout, env.Stderr)
	},
	"exipick": runExipick,
}

// toolCall returns the tool a command line names, with its arguments.
func toolCall(argv []string) (func([]string, *Env) int, []string, bool) {
	name := baseName(argv[0])
	if f, ok := builtTools[name]; ok {
		return f, argv[1:], true
	}
	if len(argv) >= 3 && argv[1] == "--tool" {
		if f, ok := builtTools[argv[2]]; ok {
			return f, argv[3:], true
		}
	}
	return nil, nil, false
}

// runExiqgrep implements exiqgrep: it lists the queue itself (with -E,
// by running that binary's -bpu or -bp) and filters the listing.
func runExiqgrep(args []string, env *Env) int {
	x, code, ok := tools.ParseExiqgrep(args)
	if !ok {
		io.WriteString(env.Stdout, tools.ExiqgrepHelp)
		return code
	}
	var listing bytes.Buffer
	if x.Exim != "" {
		argv := []string{}
		if x.Config != "" {
			argv = append(argv, "-C", x.Config)
		}
		cmd := exec.Command(x.Exim, append(argv, x.ListingMode())...)
		cmd.Stdout, cmd.Stderr = &listing, env.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(env.Stderr, "exiqgrep: %v\n", err)
			return 1
		}
	} else {
		inv := &Invocation{Name: "exim", ConfigFile: x.Config, Mode: x.ListingMode()}
		sub := *env
		sub.Stdout = &listing
		if rc := runListQueue(inv, &sub); rc != 0 {
			return rc
		}
	}
	if err := x.Run(env.Stdout, &listing, env.Now()); err != nil {
		fmt.Fprintf(env.Stderr, "exiqgrep: %v\n", err)
		return 1
	}
	return 0
}

// runExiqsumm implements exiqsumm: a summary of a -bp listing read from
// standard input.
func runExiqsumm(args []string, env *Env) int {
	o, ok := tools.ParseExiqsumm(args)
	if !ok {
		fmt.Fprintln(env.Stderr, "exiqsumm: unknown option")
		return 1
	}
	if err := tools.Exiqsumm(env.Stdout, env.Stdin, o, time.Now()); err != nil {
		fmt.Fprintf(env.Stderr, "exiqsumm: %v\n", err)
		return 1
	}
	return 0
}

// runExicyclog implements exicyclog: log_file_path and spool_directory
// come from the configuration (as "exim -bP" would print them) unless
// -l names the path.
func runExicyclog(args []string, env *Env) int {
	o, haveL, msg, code, ok := tools.ParseExicyclog(args)
	if !ok {
		io.WriteString(env.Stdout, msg)
		return code
	}
	cfg, code, ok := loadConfig(&Invocation{Name: "exim"}, env)
	if !ok {
		return code
	}
	if !haveL {
		o.LogFilePath = cfg.Main.String("log_file_path")
	}
	o.DefaultLogFilePath = defaultLogFilePath
	o.SpoolDirectory = cfg.Main.String("spool_directory")
	return tools.Exicyclog(o, env.Stdout, env.Stderr)
}

// defaultLogFilePath is the compiled-in log_file_path ("exim -C /dev/null
// -bP log_file_path").
const defaultLogFilePath = "/var/log/exim4/%slog"

// runExiwhat implements exiwhat from the activity files exigo's
// processes keep (see tools.ProcessInfo): spool_directory and
// process_log_path come from the configuration.
func runExiwhat(args []string, env *Env) int {
	if len(args) > 0 && args[0] == "--version" {
		fmt.Fprintf(env.Stdout, "exiwhat: exiwhat\nbuild: %s\n", Version)
		return 0
	}
	cfg, code, ok := loadConfig(&Invocation{Name: "exim"}, env)
	if !ok {
		return code
	}
	spool := cfg.Main.String("spool_directory")
	plog := cfg.Main.String("process_log_path")
	if plog == "" {
		plog = spool + "/exim-process.info"
	}
	if err := tools.Exiwhat(spool, plog, env.Stdout); err != nil {
		fmt.Fprintf(env.Stderr, "exiwhat: %v\n", err)
		return 1
	}
	return 0
}

// runExipick implements exipick. Without --spool the spool directory is
// spool_directory from the configuration (-C or the default file), as
// exipick asks "exim -n -bP spool_directory"; when the configuration
// cannot be read, the error is shown and the compiled-in spool used.
func runExipick(args []string, env *Env) int {
	return tools.ExipickMain(args, tools.ExipickEnv{
		FindSpool: func(conf string) string {
			inv := &Invocation{Name: "exim", ConfigFile: conf}
			cfg, err := config.Load(configFile(inv), config.Options{})
			if err != nil {
				// What "exim -n -bP spool_directory" prints.
				io.WriteString(env.Stderr, config.PanicText(err))
				return defaultSpoolDirectory
			}
			return cfg.Main.String("spool_directory")
		},
		Now: env.Now().Unix(), Stdout: env.Stdout, Stderr: env.Stderr, Version: Version,
	})
}

// defaultSpoolDirectory is the compiled-in spool_directory ("exim -C
// /dev/null -bP spool_directory").
const defaultSpoolDirectory = "/var/spool/exim4"
