package cli

import (
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/loadavg"
)

// processVars returns the variables that have values in a process with no
// message in flight (-be, -bt ...).
func processVars(cfg *config.Config) expand.VarMap {
	exe, _ := os.Executable()
	cwd, _ := os.Getwd()
	host := cfg.Main.String("primary_hostname")
	m := expand.VarMap{
		"primary_hostname":         host,
		"smtp_active_hostname":     host,
		"qualify_domain":           cfg.Main.String("qualify_domain"),
		"qualify_recipient":        cfg.Main.String("qualify_recipient"),
		"spool_directory":          cfg.Main.String("spool_directory"),
		"exim_version":             Version,
		"version_number":           Version,
		"exim_path":                exe,
		"config_file":              cfg.Path,
		"config_dir":               filepath.Dir(cfg.Path),
		"pid":                      strconv.Itoa(os.Getpid()),
		"caller_uid":               strconv.Itoa(os.Getuid()),
		"caller_gid":               strconv.Itoa(os.Getgid()),
		"originator_uid":           strconv.Itoa(os.Getuid()),
		"originator_gid":           strconv.Itoa(os.Getgid()),
		"initial_cwd":              cwd,
		"acl_narg":                 "0",
		"exim_uid":                 strconv.Itoa(eximID(cfg, "exim_user", true)),
		"exim_gid":                 strconv.Itoa(eximID(cfg, "exim_group", false)),
		"bounce_return_size_limit": sizeOption(cfg, "bounce_return_size_limit", "100K"),
		"return_size_limit":        sizeOption(cfg, "bounce_return_size_limit", "100K"),
	}
	if n, ok := cfg.Main.Int("localhost_number"); ok {
		m["localhost_number"] = strconv.FormatInt(n, 10)
	} else {
		m["localhost_number"] = "0"
	}
	for k, v := range staticDefaults {
		m[k] = v
	}
	_, built := buildInfo()
	m["compile_date"] = built.Format("02-Jan-2006 15:04:05")
	m["compile_number"] = "1"
	m["load_average"] = loadAverage()
	spool := cfg.Main.String("spool_directory")
	m["spool_space"], m["spool_inodes"] = diskFree(spool)
	logDir := filepath.Join(spool, "log")
	if lp := cfg.Main.String("log_file_path"); lp != "" && lp != "syslog" {
		logDir = filepath.Dir(strings.Split(lp, ":")[0])
	}
	m["log_space"], m["log_inodes"] = diskFree(logDir)
	return m
}

// loadAverage is the one-minute load average times 1000, as
// $load_average shows it; -1 when it cannot be read.
func loadAverage() string {
	n, err := loadavg.Read()
	if err != nil {
		return "-1"
	}
	return strconv.Itoa(n)
}

// diskFree gives the free space (in KiB) and free inodes of the file
// system holding dir, for $spool_space/$spool_inodes and the log ones;
// -1 when they cannot be found.
func diskFree(dir string) (space, inodes string) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return "-1", "-1"
	}
	return strconv.FormatUint(st.Bavail*uint64(st.Bsize)/1024, 10), strconv.FormatUint(st.Ffree, 10)
}

// staticDefaults are the values variables have before anything sets them,
// as Exim shows them with no message in flight (numbers start at 0 or -1,
// flags at "no", DKIM key fields at their "not given" values).
var staticDefaults = map[string]string{
	"authentication_failed": "0", "av_failed": "0", "body_linecount": "0",
	"body_zerocount": "0", "dkim_bodylength": "9999999999999", "dkim_created": "0",
	"dkim_expires": "9999999999999", "dkim_key_granularity": "*", "dkim_key_length": "0",
	"dkim_key_nosubdomains": "0", "dkim_key_srvtype": "*", "dkim_key_testing": "0",
	"event_defer_errno": "0", "host_lookup_deferred": "0", "host_lookup_failed": "0",
	"host_port": "0", "inode": "0", "interface_port": "-1",
	"local_user_gid": "4294967295", "local_user_uid": "4294967295",
	"max_received_linelength": "0", "message_age": "0", "message_body_size": "0",
	"message_linecount": "0", "message_size": "0", "message_smtputf8": "no",
	"mime_anomaly_level": "0", "mime_content_size": "0", "mime_is_coverletter": "0",
	"mime_is_multipart": "0", "mime_is_rfc822": "0", "mime_part_count": "-1",
	"prdr_requested": "no", "proxy_external_port": "0", "proxy_local_port": "0",
	"proxy_session": "no", "rcpt_count": "0", "rcpt_defer_count": "0",
	"rcpt_fail_count": "0", "received_count": "0", "received_port": "-1",
	"received_time": "0", "recipients_count": "0", "runrc": "0",
	"sender_helo_dnssec": "no", "sender_host_dnssec": "no", "sender_host_port": "0",
	"sending_port": "-1", "smtp_count_at_connection_start": "0",
	"spf_result_guessed": "no", "tls_bits": "0", "tls_certificate_verified": "0",
	"tls_in_bits": "0", "tls_in_certificate_verified": "0", "tls_in_ocsp": "0",
	"tls_in_resumption": "0", "tls_out_bits": "0", "tls_out_certificate_verified": "0",
	"tls_out_dane": "no", "tls_out_ocsp": "0", "tls_out_resumption": "0",
	"tls_out_tlsa_usage": "0",
}

// callerVars are the variables of a command-line mode that describe its
// caller as the sender of a message it would submit (-be): the login
// qualified with qualify_domain, as Exim sets them.
func callerVars(cfg *config.Config, m expand.VarMap) {
	login := callerUser().Login
	qd := cfg.Main.String("qualify_domain")
	m["sender_address"] = login + "@" + qd
	m["sender_address_local_part"] = login
	m["sender_address_domain"] = qd
	m["sender_ident"] = login
	m["authenticated_id"] = login
	m["authenticated_sender"] = login + "@" + qd
}

// eximID is the uid of exim_user (or gid of exim_group), Debian's
// Debian-exim when the option is not set.
func eximID(cfg *config.Config, option string, isUser bool) int {
	if n, ok := cfg.Main.Int(option); ok && cfg.Main.IsSet(option) {
		return int(n)
	}
	if isUser {
		if u, err := user.Lookup("Debian-exim"); err == nil {
			n, _ := strconv.Atoi(u.Uid)
			return n
		}
	} else if g, err := user.LookupGroup("Debian-exim"); err == nil {
		n, _ := strconv.Atoi(g.Gid)
		return n
	}
	return 0
}

// sizeOption is an integer option printed in bytes.
func sizeOption(cfg *config.Config, option, def string) string {
	if n, ok := cfg.Main.Int(option); ok {
		return strconv.FormatInt(n, 10)
	}
	return def
}
