// Queue listing and the -M message commands: thin entries into package
// queuecmd. Spec: chapter "The Exim command line", options -bp... and
// -M....
package cli

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/instance"
	"github.com/exigo-mta/exigo/internal/mainlog"
	"github.com/exigo-mta/exigo/internal/queuecmd"
	"github.com/exigo-mta/exigo/internal/spool"
)

// queueSetup is what the queue modes take from the configuration.
type queueSetup struct {
	cfg      *config.Config
	spoolDir string
	split    bool
	logPath  string
	admin    bool
	uid      int
}

// login is the caller's login name (its uid in decimal when the user is
// unknown), for the "removed by" and "cancelled by" log lines. It is
// looked up only by the commands that log it: a user database lookup is
// a noticeable part of a quick command such as -bpc.
func (q *queueSetup) login() string {
	id := strconv.Itoa(q.uid)
	if u, err := user.LookupId(id); err == nil {
		return u.Username
	}
	return id
}

// loadQueueSetup reads the configuration and works out the spool
// directory, the log path and whether the caller is an admin user: root,
// the Exim user, or a member of the Exim group or of admin_groups (spec
// chapter "The Exim command line", section "Trusted and admin users").
func loadQueueSetup(inv *Invocation, env *Env) (*queueSetup, int, bool) {
	cfg, code, ok := loadConfig(inv, env)
	if !ok {
		return nil, code, false
	}
	// The expansion context (DNS resolver, interface addresses, load
	// average, disk space) is built only for a setting that needs
	// expanding: a queue count is mostly process start-up.
	var ctx *expand.Context
	exp := func(name string) (string, error) {
		raw := cfg.Main.String(name)
		if !strings.ContainsAny(raw, "$\\") {
			return raw, nil
		}
		if ctx == nil {
			in := instance.New(cfg, instance.Options{Debug: env.Debug, Now: env.Now})
			ctx = in.Context(processVars(cfg), nil)
		}
		v, err := expand.String(raw, ctx)
		if err != nil {
			return "", fmt.Errorf("failed to expand %s: %w", name, err)
		}
		return v, nil
	}
	q := &queueSetup{cfg: cfg, split: cfg.Main.Bool("split_spool_directory"), uid: os.Getuid()}
	var err error
	if q.spoolDir, err = exp("spool_directory"); err != nil {
		fmt.Fprintf(env.Stderr, "exim: %v\n", err)
		return nil, 1, false
	}
	if q.logPath, err = exp("log_file_path"); err != nil {
		fmt.Fprintf(env.Stderr, "exim: %v\n", err)
		return nil, 1, false
	}
	q.admin = isAdmin(cfg, q.uid)
	return q, 0, true
}

// isAdmin reports whether uid is an admin user.
func isAdmin(cfg *config.Config, uid int) bool {
	if uid == 0 {
		return true
	}
	if eu, ok := cfg.Main.Int("exim_user"); ok && int(eu) == uid {
		return true
	}
	groups := map[int]bool{os.Getgid(): true}
	if gs, err := os.Getgroups(); err == nil {
		for _, g := range gs {
			groups[g] = true
		}
	}
	if eg, ok := cfg.Main.Int("exim_group"); ok && groups[int(eg)] {
		return true
	}
	for _, name := range strings.Split(cfg.Main.String("admin_groups"), ":") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		gid, err := strconv.Atoi(name)
		if err != nil {
			g, lerr := user.LookupGroup(name)
			if lerr != nil {
				continue
			}
			gid, _ = strconv.Atoi(g.Gid)
		}
		if groups[gid] {
			return true
		}
	}
	return false
}

// runListQueue implements -bp, -bpa, -bpr, -bpra, -bpru, -bpu and mailq.
func runListQueue(inv *Invocation, env *Env) int {
	q, code, ok := loadQueueSetup(inv, env)
	if !ok {
		return code
	}
	if !q.admin && q.cfg.Main.Bool("queue_list_requires_admin") {
		fmt.Fprintln(env.Stderr, "exim: permission denied")
		return 1
	}
	o := queuecmd.ModeOptions(inv.Mode)
	o.IDs = inv.Args
	if err := queuecmd.List(env.Stdout, q.spoolDir, env.Now(), o); err != nil {
		fmt.Fprintf(env.Stderr, "exim: %v\n", err)
		return 1
	}
	return 0
}

// runCountQueue implements -bpc.
func runCountQueue(inv *Invocation, env *Env) int {
	q, code, ok := loadQueueSetup(inv, env)
	if !ok {
		return code
	}
	if !q.admin && q.cfg.Main.Bool("queue_list_requires_admin") {
		fmt.Fprintln(env.Stderr, "exim: permission denied")
		return 1
	}
	n, err := queuecmd.Count(q.spoolDir)
	if err != nil {
		fmt.Fprintf(env.Stderr, "exim: %v\n", err)
		return 1
	}
	fmt.Fprintln(env.Stdout, n)
	return 0
}

// logger opens the main log for the -M commands.
func (q *queueSetup) logger(env *Env) (*mainlog.Logger, error) {
	sel, err := mainlog.ParseSelector(q.cfg.Main.String("log_selector"))
	if err != nil {
		sel = mainlog.DefaultSelector
	}
	return mainlog.New(mainlog.Options{FilePath: q.logPath, SpoolDir: q.spoolDir, Selector: sel, Now: env.Now})
}

// runMessageCommand implements the -M family (see queuecmd.Commander).
func runMessageCommand(inv *Invocation, env *Env) int {
	q, code, ok := loadQueueSetup(inv, env)
	if !ok {
		return code
	}
	sp, err := spool.Open(spool.Options{Dir: q.spoolDir, Split: q.split})
	if err != nil {
		fmt.Fprintf(env.Stderr, "exim: %v\n", err)
		return 1
	}
	lg, err := q.logger(env)
	if err != nil {
		fmt.Fprintf(env.Stderr, "exim: %v\n", err)
		return 1
	}
	defer lg.Close()
	c := &queuecmd.Commander{Spool: sp, Log: lg, Stdout: env.Stdout, Stderr: env.Stderr,
		Admin: q.admin, UID: q.uid, Login: q.login(), Now: env.Now}
	return c.Run(inv.Mode, inv.Args)
}
