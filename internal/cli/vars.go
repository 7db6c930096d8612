package cli

import (
	"os"
	"path/filepath"
	"strconv"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/expand"
)

// Version is the Exim version exigo reproduces.
const Version = "4.96"

// processVars returns the variables that have values in a process with no
// message in flight (-be, -bt ...).
func processVars(cfg *config.Config) expand.VarMap {
	host, _ := os.Hostname()
	exe, _ := os.Executable()
	cwd, _ := os.Getwd()
	m := expand.VarMap{
		"primary_hostname":     host,
		"smtp_active_hostname": host,
		"qualify_domain":       host,
		"qualify_recipient":    host,
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
	}
	return m
}
