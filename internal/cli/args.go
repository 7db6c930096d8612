package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/daemon"
	"github.com/exigo-mta/exigo/internal/mainlog"
)

// argumentsModes are the modes for which log_selector +arguments writes
// the command line to the main log (observed with Exim 4.96: the daemon,
// message submission, -bs, queue runs, the -M family and queue listings
// log it; the testing modes -bh, -bt, -bv, -be, -bP, -brw, -brt and -bf
// do not, and -bV prints it on standard error).
var argumentsModes = map[string]bool{
	"-bd": true, "-bdf": true, "-bs": true, "-bS": true, "-bm": true,
	"-q": true, "-M": true, "-Mg": true, "-bp": true, "-bpa": true,
	"-bpr": true, "-bpra": true, "-bpru": true, "-bpu": true, "-bpc": true,
}

// logsArguments reports whether the mode of inv writes the arguments line.
func logsArguments(inv *Invocation) bool {
	if argumentsModes[inv.Mode] {
		return true
	}
	return strings.HasPrefix(inv.Mode, "-M") && inv.Mode != "-MC"
}

// argumentsLine is the text of Exim's +arguments log line: "cwd=DIR N
// args: ARG ...", where arguments that are empty or contain white space
// are quoted, and bytes that are not printing ASCII are escaped in octal
// (a tab stays as it is). Exim specification
// chapter "Log files", section "Reducing or increasing what is logged",
// arguments.
func argumentsLine(argv []string) string {
	cwd, err := os.Getwd()
	if err != nil {
		cwd = "?"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "cwd=%s %d args:", cwd, len(argv))
	for _, a := range argv {
		b.WriteByte(' ')
		b.WriteString(quoteArg(a))
	}
	return b.String()
}

// quoteArg shows one argument as the arguments line does.
func quoteArg(a string) string {
	var b strings.Builder
	quote := a == ""
	if strings.ContainsAny(a, " \t") {
		// Only spaces and tabs (not line ends) make Exim quote.
		quote = true
	}
	if quote {
		b.WriteByte('"')
	}
	for i := 0; i < len(a); i++ {
		c := a[i]
		switch {
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteByte(c)
		case c == '\r':
			b.WriteString(`\r`)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, `\%03o`, c)
		default:
			b.WriteByte(c)
		}
	}
	if quote {
		b.WriteByte('"')
	}
	return b.String()
}

// logArguments writes the arguments line when log_selector has
// +arguments and the mode logs it.
func logArguments(inv *Invocation, env *Env, cfg *config.Config) {
	if len(inv.Argv) == 0 || !logsArguments(inv) {
		return
	}
	if strings.HasPrefix(inv.Mode, "-bd") && os.Geteuid() == 0 && os.Getenv(daemon.ChildEnv) == "" {
		// The daemon started as root runs again as exim_user, which
		// writes the line (see superviseDaemon).
		return
	}
	sel, err := mainlog.ParseSelector(cfg.Main.String("log_selector"))
	if err != nil || !sel.Has(mainlog.SelArguments) {
		return
	}
	lg, err := mainlog.New(mainlog.Options{FilePath: cfg.Main.String("log_file_path"),
		SpoolDir: cfg.Main.String("spool_directory"), Selector: sel, Now: env.Now,
		// Run as root, a log created here must stay writable by
		// exim_user.
		Chown: os.Geteuid() == 0, OwnerUID: eximID(cfg, "exim_user", true), OwnerGID: eximID(cfg, "exim_group", false)})
	if err != nil {
		return
	}
	defer lg.Close()
	line := argumentsLine(inv.Argv)
	lg.Write(line, mainlog.Main)
	if inv.Verbose {
		// -v shows it as it shows the other main log lines (spec
		// chapter "The Exim command line", option -v).
		fmt.Fprintf(env.Stderr, "LOG: MAIN\n  %s\n", line)
	}
}

// printArguments is -bV's version of the arguments line: on standard
// error, with the time stamp.
func printArguments(inv *Invocation, env *Env, cfg *config.Config) {
	sel, err := mainlog.ParseSelector(cfg.Main.String("log_selector"))
	if err != nil || !sel.Has(mainlog.SelArguments) || len(inv.Argv) == 0 {
		return
	}
	fmt.Fprintf(env.Stderr, "%s%s\n", config.TimePrefix(env.Now()), argumentsLine(inv.Argv))
}
