package cli

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/debug"
)

// UsageError is a command line Exim refuses. Msg is the complete text
// Exim prints on stderr (without the newline); Code the exit code.
type UsageError struct {
	Msg  string
	Code int
}

func (e *UsageError) Error() string { return e.Msg }

// ExitCode is the exit code for an error returned by Parse (1 for errors
// of other types).
func ExitCode(err error) int {
	var u *UsageError
	if errors.As(err, &u) && u.Code != 0 {
		return u.Code
	}
	return 1
}

func usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...), Code: 1}
}

// badOption is Exim's answer to an unknown or incomplete option.
func badOption(opt string) error {
	return usagef("exim abandoned: unknown, malformed, or incomplete option %s", opt)
}

// maxMacros is how many -D options Exim takes; maxMacroName is the
// longest macro name it keeps (longer names are cut short).
const (
	maxMacros    = 10
	maxMacroName = 23
	maxSyslogTag = 32
)

// parser holds the state of one Parse call.
type parser struct {
	inv  *Invocation
	args []string
	i    int // index of the option being parsed
	// flags seen, for resolveMode and the incompatibility check
	seen map[string]bool
}

// next returns the argument after the current option, if any.
func (p *parser) next() (string, bool) {
	if p.i+1 >= len(p.args) {
		return "", false
	}
	p.i++
	return p.args[p.i], true
}

// value returns rest if it is not empty, or else the next argument: the
// "-Xvalue" or "-X value" form. err is returned when there is neither.
func (p *parser) value(rest string, err error) (string, error) {
	if rest != "" {
		return rest, nil
	}
	if v, ok := p.next(); ok {
		return v, nil
	}
	return "", err
}

// Parse parses Exim's command line. argv[0] selects the program's
// behaviour (exim, sendmail, mailq, rsmtp, rmail, runq, newaliases); the
// options follow Exim's grammar: chapter "The Exim command line". Errors
// are *UsageError with Exim's text and exit code.
func Parse(argv []string) (*Invocation, error) {
	if len(argv) == 0 {
		argv = []string{"exim"}
	}
	inv := &Invocation{Name: baseName(argv[0]), Argv: append([]string(nil), argv...)}
	if companionTools[inv.Name] {
		return nil, usagef("%s: this utility is not yet supported by exigo", inv.Name)
	}
	prefix, _ := programMode(inv.Name)
	p := &parser{inv: inv, seen: map[string]bool{}}
	p.args = append(append([]string{}, prefix...), argv[1:]...)
	done := false
	for ; p.i < len(p.args) && !done; p.i++ {
		a := p.args[p.i]
		if a == "--" {
			p.i++
			break
		}
		if a == "--help" {
			inv.Mode = "--help"
			return inv, nil
		}
		if len(a) < 1 || a[0] != '-' {
			break
		}
		var err error
		done, err = p.option(a)
		if err != nil {
			return nil, err
		}
	}
	if p.i < len(p.args) {
		inv.Args = append(inv.Args, p.args[p.i:]...)
	}
	if err := p.finish(); err != nil {
		return nil, err
	}
	return inv, nil
}

// option parses one option a (starting with "-"). done is true when the
// option takes all remaining arguments (the -M family).
func (p *parser) option(a string) (done bool, err error) {
	inv := p.inv
	if a == "--version" {
		a = "-bV"
	}
	if len(a) < 2 {
		return false, badOption(a)
	}
	rest := a[2:]
	switch a[1] {
	case 'A': // -Ac, -Am: Sendmail's, ignored.
		if rest != "c" && rest != "m" {
			return false, badOption(a)
		}
	case 'B': // -B<type>: ignored.
	case 'b':
		return false, p.bOption(a, rest)
	case 'C':
		v, err := p.value(rest, badOption(a))
		if err != nil {
			return false, err
		}
		inv.ConfigFile = v
	case 'D':
		return false, p.macro(a, rest)
	case 'd':
		return false, p.debugOption(a, rest)
	case 'E':
		inv.ErrorMessage, inv.ErrorMessageRef = true, rest
	case 'e': // -ex is -oex
		if !isErrorMode(rest) {
			return false, badOption(a)
		}
		inv.ErrorMode = rest
	case 'F':
		v, err := p.value(rest, badOption(a))
		if err != nil {
			return false, err
		}
		inv.FullName, inv.FullNameSet = v, true
	case 'f', 'r':
		v, err := p.value(rest, badOption(a))
		if err != nil {
			return false, err
		}
		inv.Sender, inv.SenderSet = v, true
	case 'G':
		inv.SuppressFixups = true
	case 'h':
		v, err := p.value(rest, badOption(a))
		if err != nil {
			return false, err
		}
		if !allDigits(v) {
			return false, badOption(a)
		}
		inv.SendmailHops = v
	case 'i':
		if rest != "" {
			return false, badOption(a)
		}
		inv.IgnoreDot = true
	case 'L':
		v, err := p.value(rest, badOption(a))
		if err != nil {
			return false, err
		}
		if len(v) > maxSyslogTag {
			return false, usagef("exim: the -L syslog name is too long: %q", v)
		}
		inv.SyslogTag = v
	case 'M':
		return p.mOption(a, rest)
	case 'm':
		if rest != "" {
			return false, badOption(a)
		}
	case 'N':
		if rest != "" {
			return false, badOption(a)
		}
		inv.DontDeliver, inv.Verbose = true, true
	case 'n':
		inv.Terse = true
	case 'O':
		v, err := p.value(rest, usagef("exim: string expected after %s", a))
		if err != nil {
			return false, err
		}
		inv.SendmailOptions = append(inv.SendmailOptions, v)
	case 'o':
		return false, p.oOption(a, rest)
	case 'p':
		return false, p.pOption(a, rest)
	case 'q':
		return false, p.queueOption(a, rest)
	case 'R', 'S':
		return false, p.selectOption(a, a[1], rest)
	case 'T':
		// -Tqt is for Exim's test suite only and is not recognized.
		return false, badOption(a)
	case 't':
		switch rest {
		case "":
			inv.ExtractRecipients = true
		case "i":
			inv.ExtractRecipients, inv.IgnoreDot = true, true
		case "ls-on-connect":
			inv.TLSOnConnect = true
		default:
			return false, badOption(a)
		}
	case 'U': // initial submission: ignored
	case 'v':
		if rest != "" {
			return false, badOption(a)
		}
		inv.Verbose = true
	case 'x': // AIX: ignored
		if rest != "" {
			return false, badOption(a)
		}
	case 'X': // Sendmail's debug file: ignored
		if _, err := p.value(rest, usagef("exim: string expected after %s", a)); err != nil {
			return false, err
		}
	case 'z':
		if rest != "" {
			return false, badOption(a)
		}
		v, ok := p.next()
		if !ok {
			return false, usagef("exim: file name expected after %s", a)
		}
		inv.LogLine = v
		p.seen["-z"] = true
	default:
		return false, badOption(a)
	}
	return false, nil
}

// bOption parses the -b options.
func (p *parser) bOption(a, rest string) error {
	inv := p.inv
	switch rest {
	case "d", "df", "e", "i", "m", "P", "S", "s", "t", "V", "v", "vs",
		"p", "pa", "pc", "pr", "pra", "pru", "pu", "rt", "rw":
		p.seen[a] = true
		if rest == "V" {
			inv.Version = true
		}
		return nil
	case "nq":
		inv.NoQualify = true
		return nil
	case "em", "malware":
		v, ok := p.next()
		if !ok {
			return badOption(a)
		}
		p.seen[a], inv.ModeArg = true, v
		return nil
	case "h", "hc":
		v, ok := p.next()
		if !ok {
			return badOption(a)
		}
		if !isHostAddress(v) {
			return usagef("exim abandoned: %q is not an IP address", v)
		}
		p.seen["-bh"], inv.ModeArg = true, v
		inv.HostCheckCallouts = rest == "hc"
		return nil
	}
	switch {
	case strings.HasPrefix(rest, "I:"):
		p.seen["-bI"], inv.ModeArg = true, rest[2:]
		return nil
	case strings.HasPrefix(rest, "w"):
		if rest != "w" {
			d, ok := parseTime(rest[1:])
			if !ok {
				return usagef("exim: bad time value %s: abandoned", a)
			}
			inv.InetdWaitTimeout = d
		}
		p.seen["-bw"] = true
		return nil
	case strings.HasPrefix(rest, "F") || strings.HasPrefix(rest, "f"):
		return p.filterOption(a, rest)
	}
	return badOption(a)
}

// filterOption parses -bf, -bF, -bfd, -bfl, -bfp and -bfs. Exim takes the
// next argument before it looks at the letters after -bf.
func (p *parser) filterOption(a, rest string) error {
	f := &p.inv.Filter
	if len(rest) == 1 {
		v, ok := p.next()
		if !ok {
			return usagef("exim: file name expected after %s", a)
		}
		if rest == "F" {
			f.System = v
		} else {
			f.User = v
		}
		p.seen["-bf"] = true
		return nil
	}
	v, ok := p.next()
	if !ok {
		return usagef("exim: string expected after %s", a)
	}
	switch rest {
	case "fd":
		f.Domain = v
	case "fl":
		f.LocalPart = v
	case "fp":
		f.Prefix = v
	case "fs":
		f.Suffix = v
	default:
		return badOption(a)
	}
	return nil
}

// macro parses -D<name>[=<value>]. Blanks are allowed around the name and
// the equals sign; a name is cut to maxMacroName characters.
// Spec: chapter "The Exim command line", option -D.
func (p *parser) macro(a, rest string) error {
	s := strings.TrimLeft(rest, " \t")
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return usagef("exim: macro name set by -D must start with an upper case letter")
	}
	n := 0
	for n < len(s) && isNameChar(s[n]) {
		n++
	}
	name := s[:n]
	if len(name) > maxMacroName {
		name = name[:maxMacroName]
	}
	s = strings.TrimLeft(s[n:], " \t")
	value := ""
	if s != "" {
		if s[0] != '=' {
			return badOption(a)
		}
		value = strings.TrimLeft(s[1:], " \t")
	}
	if len(p.inv.Macros) >= maxMacros {
		return usagef("exim: too many -D options on command line")
	}
	p.inv.Macros = append(p.inv.Macros, config.Macro{Name: name, Value: value})
	return nil
}

// debugOption parses -d<selector>, -dd<selector> and the no-op -dropcr.
func (p *parser) debugOption(a, rest string) error {
	if a == "-dropcr" {
		return nil
	}
	inv := p.inv
	if strings.HasPrefix(rest, "d") {
		inv.DebugDaemonOnly = true
		rest = rest[1:]
	}
	sel, err := debug.ParseSelector(rest)
	if err != nil {
		return usagef("exim: %v", err)
	}
	inv.Debug, inv.DebugSet, inv.Verbose = sel, true, true
	return nil
}

// mOption parses the -M family. Every argument after it belongs to it.
func (p *parser) mOption(a, rest string) (bool, error) {
	switch rest {
	case "", "ar", "c", "es", "f", "g", "G", "mad", "md", "rm", "t", "vb", "vc", "vh", "vl":
		p.seen["-M"] = true
		p.inv.Mode = a
		return true, nil
	case "set":
		v, ok := p.next()
		if !ok {
			return false, usagef("exim: no message ids given after -Mset option")
		}
		p.seen["-Mset"] = true
		p.inv.ModeArg = v
		return false, nil
	case "C":
		p.seen["-MC"] = true
		return true, nil
	case "CA", "CD", "CK", "CP", "CS", "CT":
		return false, nil
	}
	internal := map[string]int{"Cd": 1, "CG": 1, "Cr": 1, "Cs": 1, "CQ": 2, "Cq": 2, "CL": 3, "Ct": 3, "Cp": 4}
	if n, ok := internal[rest]; ok && p.i+n < len(p.args) {
		p.inv.Internal = append(p.inv.Internal, p.args[p.i:p.i+n+1]...)
		p.i += n
		return false, nil
	}
	return false, badOption(a)
}

// oOption parses the -o options.
func (p *parser) oOption(a, rest string) error {
	inv := p.inv
	switch {
	case rest == "":
		return badOption(a)
	case rest[0] == 'A':
		v, err := p.value(rest[1:], usagef("exim: string expected after -oA"))
		inv.AliasFile = v
		return err
	case rest[0] == 'B':
		return p.connLimit(rest[1:])
	case rest[0] == 'd':
		switch rest[1:] {
		case "b", "f", "q", "qs":
			inv.DeliveryMode = rest[1:]
		case "i":
			inv.DeliveryMode = "f"
		default:
			return badOption(a)
		}
	case rest[0] == 'e':
		if !isErrorMode(rest[1:]) {
			return badOption(a)
		}
		inv.ErrorMode = rest[1:]
	case rest == "i" || rest == "itrue":
		inv.IgnoreDot = true
	case rest[0] == 'M':
		return p.hostOption(a, rest[1:])
	case rest == "m" || rest == "o":
	case rest == "P":
		if v, ok := p.next(); ok {
			inv.PIDFile = v
		}
	case rest == "PX":
		p.seen["-oPX"] = true
	case rest[0] == 'r' || rest[0] == 's':
		v := rest[1:]
		shown := a
		if v == "" {
			if n, ok := p.next(); ok {
				v, shown = n, n
			}
		}
		d, ok := parseTime(v)
		if !ok {
			return usagef("exim: bad time value %s: abandoned", shown)
		}
		if rest[0] == 'r' {
			inv.ReceiveTimeout = d
		} else {
			inv.SMTPTimeout = d
		}
	case rest == "v":
		inv.Verbose = true
	case rest == "X":
		v, ok := p.next()
		if !ok {
			// Exim 4.96 crashes here; exigo says what is missing.
			return usagef("exim: string expected after -oX")
		}
		inv.ListenPorts = v
	case rest == "Y":
		inv.NoDaemonSocket = true
	default:
		return badOption(a)
	}
	return nil
}

// connLimit parses -oB[<n>] (the number may also be the next argument).
// As with Exim 4.96, a number is read from the leading digits ("-oB3x"
// is 3) and a next argument is taken when it starts with a digit.
func (p *parser) connLimit(rest string) error {
	if rest == "" {
		p.inv.SMTPMessageLimit = 1
		if p.i+1 < len(p.args) && startsWithDigit(p.args[p.i+1]) {
			p.i++
			rest = p.args[p.i]
		} else {
			return nil
		}
	}
	if !startsWithDigit(rest) {
		return usagef("exim: number expected after -oB")
	}
	n := 0
	for i := 0; i < len(rest) && rest[i] >= '0' && rest[i] <= '9'; i++ {
		n = min(n*10+int(rest[i]-'0'), math.MaxInt32)
	}
	p.inv.SMTPMessageLimit = n
	return nil
}

func startsWithDigit(s string) bool { return s != "" && s[0] >= '0' && s[0] <= '9' }

// hostOption parses -oM<x> <data>. Exim takes the data before it looks at
// the letters after -oM.
func (p *parser) hostOption(a, rest string) error {
	v, ok := p.next()
	if !ok {
		return usagef("exim: data expected after %s", a)
	}
	h := &p.inv.Host
	switch rest {
	case "a", "i":
		if !isHostAddress(v) {
			return usagef("exim abandoned: %q is not an IP address", v)
		}
		if rest == "a" {
			h.Address = v
		} else {
			h.Interface = v
		}
	case "aa":
		h.Authenticator = v
	case "ai":
		h.AuthID = v
	case "as":
		h.AuthSender = v
	case "m":
		if !IsMessageID(v) {
			return usagef("-oMm must be a valid message ID")
		}
		h.MessageRef = v
	case "r":
		h.Protocol = v
	case "s":
		h.Name = v
	case "t":
		h.Ident = v
	default:
		return badOption(a)
	}
	return nil
}

// pOption parses -pd, -ps and -p<rval>[:<sval>].
func (p *parser) pOption(a, rest string) error {
	switch rest {
	case "":
		return badOption(a)
	case "d", "s":
		p.inv.PerlAtStart = rest
		return nil
	}
	proto, name, _ := strings.Cut(rest, ":")
	p.inv.Host.Protocol, p.inv.Host.Name = proto, name
	return nil
}

func isErrorMode(s string) bool {
	switch s {
	case "e", "m", "p", "q", "w":
		return true
	}
	return false
}

func isNameChar(b byte) bool {
	return b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
