package cli

import (
	"os"
	"path/filepath"
	"strconv"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/expand"
)

// processVars returns the variables that have values in a process with no
// message in flight (-be, -bt ...).
func processVars(cfg *config.Config) expand.VarMap {
	exe, _ := os.Executable()
	cwd, _ := os.Getwd()
	host := cfg.Main.String("primary_hostname")
	m := expand.VarMap{
		"primary_hostname":     host,
		"smtp_active_hostname": host,
		"qualify_domain":       cfg.Main.String("qualify_domain"),
		"qualify_recipient":    cfg.Main.String("qualify_recipient"),
		"spool_directory":      cfg.Main.String("spool_directory"),
		"exim_version":         Version,
		"version_number":       Version,
		"exim_path":            exe,
		"config_file":          cfg.Path,
		"config_dir":           filepath.Dir(cfg.Path),
		"pid":                  strconv.Itoa(os.Getpid()),
		"caller_uid":           strconv.Itoa(os.Getuid()),
		"caller_gid":           strconv.Itoa(os.Getgid()),
		"originator_uid":       strconv.Itoa(os.Getuid()),
		"originator_gid":       strconv.Itoa(os.Getgid()),
		"initial_cwd":          cwd,
		"acl_narg":             "0",
	}
	return m
}
