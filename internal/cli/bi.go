package cli

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"github.com/exigo-mta/exigo/internal/strerror"
)

// runNewAliases implements -bi (and the newaliases name). Exim has no
// single alias file to rebuild: it runs bi_command, when set, with the
// file name of -oA as its only argument, after giving up privilege (the
// caller's real uid and gid), and exits with the command's status;
// without bi_command it does nothing (spec chapter "The Exim command
// line", -bi; chapter "Main configuration", bi_command). The option is
// a command name, not a command line: it is not split at spaces.
func runNewAliases(inv *Invocation, env *Env) int {
	cfg, code, ok := loadConfig(inv, env)
	if !ok {
		return code
	}
	name := cfg.Main.String("bi_command")
	if name == "" {
		return 0
	}
	cmd := &exec.Cmd{Path: name, Args: []string{name}, Env: os.Environ(),
		Stdin: env.Stdin, Stdout: env.Stdout, Stderr: env.Stderr}
	if inv.AliasFile != "" {
		cmd.Args = append(cmd.Args, inv.AliasFile)
	}
	if os.Geteuid() == 0 && os.Getuid() != 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{
			Uid: uint32(os.Getuid()), Gid: uint32(os.Getgid()), NoSetGroups: true}}
	}
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		if c := ee.ExitCode(); c >= 0 {
			return c
		}
		return 1
	}
	fmt.Fprintf(env.Stderr, "exim: exec '%s' failed: %s\n", name, strerror.Text(err))
	return 1
}
