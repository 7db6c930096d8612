package cli

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/lists"
)

// runExpand implements -be and -bem: string expansion testing. With
// arguments each is expanded and printed; otherwise lines are read from
// standard input with a "> " prompt before each, and lines that start with
// an upper-case letter define macros. Failures print "Failed: " and the
// error; the exit code is 0 either way.
// Spec: chapter "The Exim command line", options -be and -bem.
func runExpand(inv *Invocation, env *Env) int {
	cfg, code, ok := loadConfig(inv, env)
	if !ok {
		return code
	}
	ctx, err := newExpandContext(inv, env, cfg)
	if err != nil {
		fmt.Fprintf(env.Stderr, "exim: %v\n", err)
		return 1
	}
	if inv.Mode == "-bem" {
		msg, err := loadTestMessage(inv.ModeArg, ctx.Vars.(expand.VarMap), env.Now())
		if err != nil {
			fmt.Fprintf(env.Stderr, "exim: %v\n", err)
			return 1
		}
		ctx.Message = msg
	}
	out := bufio.NewWriter(env.Stdout)
	defer out.Flush()
	expandLine := func(s string) {
		s = cfg.SubstituteMacros(s)
		r, err := expand.String(s, ctx)
		if err != nil {
			fmt.Fprintf(out, "Failed: %s\n", err)
			return
		}
		fmt.Fprintf(out, "%s\n", r)
	}
	if len(inv.Args) > 0 {
		for _, a := range inv.Args {
			expandLine(a)
		}
		return 0
	}
	in := bufio.NewReader(env.Stdin)
	for {
		fmt.Fprint(out, "> ")
		line, err := readContinued(in)
		if err != nil {
			fmt.Fprint(out, "\n")
			return 0
		}
		if line != "" && line[0] >= 'A' && line[0] <= 'Z' {
			name, derr := cfg.DefineMacroLine(line)
			if derr != nil {
				out.Flush()
				fmt.Fprintf(env.Stderr, "%s %s\n", env.Now().Format("2006-01-02 15:04:05"), derr)
				continue
			}
			if name != "" {
				fmt.Fprintf(out, "Defined macro '%s'\n", name)
				continue
			}
		}
		expandLine(line)
		out.Flush()
	}
}

// readContinued reads one logical line: trailing white space removed, and
// a line ending in a backslash joined to the next with that line's leading
// white space removed, as in the configuration file.
func readContinued(r *bufio.Reader) (string, error) {
	var b strings.Builder
	first := true
	for {
		line, err := r.ReadString('\n')
		if err != nil && line == "" {
			if first {
				return "", err
			}
			return b.String(), nil
		}
		line = strings.TrimRight(line, " \t\r\n")
		if !first {
			line = strings.TrimLeft(line, " \t")
		}
		first = false
		if strings.HasSuffix(line, "\\") {
			b.WriteString(line[:len(line)-1])
			if err != nil {
				return b.String(), nil
			}
			continue
		}
		b.WriteString(line)
		return b.String(), nil
	}
}

// loadConfig reads the configuration for a mode. On failure it prints
// Exim's error and returns the exit code with ok=false.
func loadConfig(inv *Invocation, env *Env) (cfg *config.Config, code int, ok bool) {
	path := inv.ConfigFile
	if path == "" {
		for _, p := range DefaultConfigFiles {
			if _, err := os.Stat(p); err == nil {
				path = p
				break
			}
		}
	}
	if path == "" {
		fmt.Fprintf(env.Stderr, "exim: could not open configuration file %s: No such file or directory\n", strings.Join(DefaultConfigFiles, ":"))
		return nil, 1, false
	}
	cfg, err := config.Load(path, config.Options{Macros: inv.Macros})
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s %v", env.Now().Format("2006-01-02 15:04:05"), err)
		return nil, 1, false
	}
	return cfg, 0, true
}

// newExpandContext builds the expansion context of a command-line mode:
// the process's variables (no message in flight).
func newExpandContext(inv *Invocation, env *Env, cfg *config.Config) (*expand.Context, error) {
	vars := processVars(cfg)
	ctx := &expand.Context{
		Vars:  vars,
		Lists: listMatcher{env: &lists.Env{PrimaryHostname: vars["primary_hostname"]}},
		Now:   env.Now,
	}
	return ctx, nil
}
