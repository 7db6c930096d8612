package cli

import (
	"context"
	_ "embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/exigo-mta/exigo/internal/config"
)

// defaultConfigure is the embedded default configuration (see the file
// for what it does).
//
//go:embed defaultconf/configure
var defaultConfigure []byte

// RunLocalOption is exigo's own long option (DESIGN.md, "Names outside
// Exim's grammar"): --run-local DIR [PORT] starts the daemon in the
// foreground with the embedded default configuration, spool and logs
// under DIR, listening on 127.0.0.1 port PORT (default 2525). No root
// needed.
const RunLocalOption = "--run-local"

// runLocal implements --run-local.
func runLocal(args []string, env *Env) int {
	if len(args) < 1 || len(args) > 2 {
		fmt.Fprintln(env.Stderr, "usage: exigo --run-local DIR [PORT]")
		return 1
	}
	dir, err := filepath.Abs(args[0])
	if err != nil {
		return failf(env, "%v", err)
	}
	port := "2525"
	if len(args) == 2 {
		if n, err := strconv.Atoi(args[1]); err != nil || n <= 0 || n > 65535 {
			return failf(env, "invalid port %q", args[1])
		}
		port = args[1]
	}
	for _, sub := range []string{"spool", "log", "mail"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o750); err != nil {
			return failf(env, "%v", err)
		}
	}
	// The daemon and its deliveries run as the invoking user; root, which
	// Exim never delivers as, is replaced by "nobody", who gets the
	// directory.
	uid := os.Getuid()
	if uid == 0 {
		uid = nobodyUID
		if err := chownTree(dir, uid); err != nil {
			return failf(env, "%v", err)
		}
	}
	macros := []config.Macro{
		{Name: "RUN_DIR", Value: dir},
		{Name: "RUN_PORT", Value: port},
		{Name: "RUN_USER", Value: strconv.Itoa(uid)},
	}
	path := filepath.Join(dir, "exigo-default.conf")
	if err := os.WriteFile(path, defaultConfigure, 0o644); err != nil {
		return failf(env, "%v", err)
	}
	cfg, err := config.LoadBytes(path, defaultConfigure, config.Options{Macros: macros})
	if err != nil {
		fmt.Fprint(env.Stderr, config.StderrText(env.Now(), err))
		return 1
	}
	inv := &Invocation{Name: "exigo", Mode: "-bdf", ConfigFile: path, Macros: macros}
	return serveDaemon(context.Background(), inv, env, cfg, func(addrs []string) {
		fmt.Fprintf(env.Stderr, "exigo: listening on %v; spool %s/spool, logs %s/log; mail to local recipients goes to %s/mail/Maildir\n", addrs, dir, dir, dir)
	})
}

// nobodyUID is the traditional unprivileged user.
const nobodyUID = 65534

// chownTree gives dir and everything under it to uid (and its group).
func chownTree(dir string, uid int) error {
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, uid)
	})
}
