package tools

import (
	_ "embed"
	"fmt"
	"io"
	"os"
	"strings"
)

// exipick selects messages from the spool by criteria on the variables
// of each message and lists them. Spec: chapter "Exim utilities",
// section "Selecting messages by various criteria (exipick)"; the
// details (option names, criterion syntax, output layouts) follow
// Debian's exipick for Exim 4.96 as observed by running it.

// ExipickHelp is exipick's --help text.
//
//go:embed exipick_help.txt
var ExipickHelp string

// ExipickManual is exipick's --man text.
//
//go:embed exipick_man.txt
var ExipickManual string

// ExipickUsage is printed to standard error after an option error.
const ExipickUsage = `Usage:
      exipick [<options>] [<criterion> [<criterion> ...]]
      exipick --help|--man

`

// Exipick holds exipick's parsed command line.
type Exipick struct {
	// Spool is --spool ("" : from the configuration); Config is -C.
	Spool, Config string
	// InputDir is --input-dir (default "input"); Queue is --queue.
	InputDir, Queue string
	// Criteria are the criterion arguments, in order.
	Criteria []string
	// Sender, Recipient, Size, Younger, Older are -f, -r, -s, -y, -o
	// ("" : unset); Frozen and NotFrozen are -z and -x.
	Sender, Recipient, Size, Younger, Older *string
	Frozen, NotFrozen                       bool
	// Output selection.
	Count, BPC, IDs, Brief, Flat   bool
	Undelivered, Generated, Random bool
	Unsorted, Reverse, Sum         bool
	Or, Not, Caseful               bool
	ShowRules, ShowTests           bool
	ShowVars, Sort                 []string
	Charset                        string
	// Freeze names a file to save the selected messages in; Thaw one
	// to read messages from instead of the spool (see exipick_cache.go).
	Freeze, Thaw string
	// Help, Man and Version ask for those texts instead of a listing.
	Help, Man, Version bool
}

// exipickOpt describes one option: its names and whether it takes a
// value.
type exipickOpt struct {
	names []string
	arg   bool
	set   func(x *Exipick, v string)
}

// exipickOptions is the option table, in the order of the manual.
var exipickOptions = []exipickOpt{
	// --and is the default; it does not undo --or.
	{[]string{"and"}, false, func(x *Exipick, _ string) {}},
	{[]string{"b"}, false, func(x *Exipick, _ string) { x.Brief = true }},
	{[]string{"bp", "l"}, false, func(x *Exipick, _ string) {}},
	{[]string{"bpa"}, false, func(x *Exipick, _ string) { x.Generated = true }},
	{[]string{"bpc"}, false, func(x *Exipick, _ string) { x.BPC = true }},
	{[]string{"bpr"}, false, func(x *Exipick, _ string) { x.Unsorted = true }},
	{[]string{"bpra"}, false, func(x *Exipick, _ string) { x.Unsorted, x.Generated = true, true }},
	{[]string{"bpru"}, false, func(x *Exipick, _ string) { x.Unsorted, x.Undelivered = true, true }},
	{[]string{"bpu"}, false, func(x *Exipick, _ string) { x.Undelivered = true }},
	{[]string{"C", "config"}, true, func(x *Exipick, v string) { x.Config = v }},
	{[]string{"c"}, false, func(x *Exipick, _ string) { x.Count = true }},
	{[]string{"caseful"}, false, func(x *Exipick, _ string) { x.Caseful = true }},
	{[]string{"charset"}, true, func(x *Exipick, v string) { x.Charset = v }},
	{[]string{"f"}, true, func(x *Exipick, v string) { x.Sender = &v }},
	{[]string{"finput"}, false, func(x *Exipick, _ string) { x.InputDir = "Finput" }},
	{[]string{"flatq"}, false, func(x *Exipick, _ string) { x.Flat = true }},
	{[]string{"freeze"}, true, func(x *Exipick, v string) { x.Freeze = v }},
	{[]string{"help"}, false, func(x *Exipick, _ string) { x.Help = true }},
	{[]string{"i"}, false, func(x *Exipick, _ string) { x.IDs = true }},
	{[]string{"input-dir"}, true, func(x *Exipick, v string) { x.InputDir = v }},
	{[]string{"man"}, false, func(x *Exipick, _ string) { x.Man = true }},
	{[]string{"not"}, false, func(x *Exipick, _ string) { x.Not = true }},
	{[]string{"o"}, true, func(x *Exipick, v string) { x.Older = &v }},
	{[]string{"or"}, false, func(x *Exipick, _ string) { x.Or = true }},
	{[]string{"queue"}, true, func(x *Exipick, v string) { x.Queue = v }},
	{[]string{"r"}, true, func(x *Exipick, v string) { x.Recipient = &v }},
	{[]string{"random"}, false, func(x *Exipick, _ string) { x.Random = true }},
	{[]string{"reverse", "R"}, false, func(x *Exipick, _ string) { x.Reverse = true }},
	{[]string{"s"}, true, func(x *Exipick, v string) { x.Size = &v }},
	{[]string{"spool"}, true, func(x *Exipick, v string) { x.Spool = v }},
	{[]string{"show-rules"}, false, func(x *Exipick, _ string) { x.ShowRules = true }},
	{[]string{"show-tests"}, false, func(x *Exipick, _ string) { x.ShowTests = true }},
	{[]string{"show-vars"}, true, func(x *Exipick, v string) { x.ShowVars = strings.Split(v, ",") }},
	{[]string{"size"}, false, func(x *Exipick, _ string) { x.Sum = true }},
	{[]string{"thaw"}, true, func(x *Exipick, v string) { x.Thaw = v }},
	{[]string{"sort"}, true, func(x *Exipick, v string) { x.Sort = strings.Split(v, ",") }},
	{[]string{"unsorted"}, false, func(x *Exipick, _ string) { x.Unsorted = true }},
	{[]string{"version"}, false, func(x *Exipick, _ string) { x.Version = true }},
	{[]string{"x"}, false, func(x *Exipick, _ string) { x.NotFrozen = true }},
	{[]string{"y"}, true, func(x *Exipick, v string) { x.Younger = &v }},
	{[]string{"z"}, false, func(x *Exipick, _ string) { x.Frozen = true }},
}

// findLong returns the option a long name (or a unique prefix of one)
// names. Single-letter names match only exactly and by case; longer
// ones ignore case, as Perl's Getopt::Long does.
func findLong(name string) (*exipickOpt, string) {
	var cands []*exipickOpt
	var candNames []string
	lname := strings.ToLower(name)
	for i := range exipickOptions {
		o := &exipickOptions[i]
		for _, n := range o.names {
			if len(n) == 1 {
				if n == name {
					return o, ""
				}
				continue
			}
			if n == lname {
				return o, ""
			}
			if strings.HasPrefix(n, lname) && len(lname) > 0 {
				cands = append(cands, o)
				candNames = append(candNames, n)
				break
			}
		}
	}
	switch len(cands) {
	case 0:
		return nil, "Unknown option: " + lname
	case 1:
		return cands[0], ""
	}
	return nil, "Option " + name + " is ambiguous (" + strings.Join(candNames, ", ") + ")"
}

// findShort returns the option a single letter names, or nil.
func findShort(c string) *exipickOpt {
	for i := range exipickOptions {
		for _, n := range exipickOptions[i].names {
			if n == c {
				return &exipickOptions[i]
			}
		}
	}
	return nil
}

// ParseExipick parses exipick's command line as Getopt::Long does in
// exipick: options anywhere ("--" ends them), long names with one or
// two hyphens and unique prefixes, single letters bundled after one
// hyphen. --help, --man and --version end the parsing where they stand
// (the errors before them are still returned). On an error it returns
// the message that precedes the usage.
func ParseExipick(args []string) (*Exipick, error) {
	x := &Exipick{InputDir: "input"}
	var errs []string
	for i := 0; i < len(args) && !x.Help && !x.Man && !x.Version; i++ {
		a := args[i]
		if a == "--" {
			x.Criteria = append(x.Criteria, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			x.Criteria = append(x.Criteria, a)
			continue
		}
		next := func(o *exipickOpt, name string, inline *string) bool {
			if inline != nil {
				o.set(x, *inline)
				return true
			}
			if i+1 >= len(args) {
				errs = append(errs, "Option "+name+" requires an argument")
				return false
			}
			i++
			o.set(x, args[i])
			return true
		}
		body := strings.TrimPrefix(a, "-")
		double := strings.HasPrefix(body, "-")
		body = strings.TrimPrefix(body, "-")
		name, val, hasVal := strings.Cut(body, "=")
		var inline *string
		if hasVal {
			inline = &val
		}
		if double || len(name) > 1 {
			o, msg := findLong(name)
			if o == nil && !double {
				// Not a long option: single letters bundled.
				if !x.bundle(body, args, &i, &errs) {
					continue
				}
				continue
			}
			if o == nil {
				errs = append(errs, msg)
				continue
			}
			if o.arg {
				next(o, o.names[0], inline)
			} else if hasVal {
				errs = append(errs, "Option "+o.names[0]+" does not take an argument")
			} else {
				o.set(x, "")
			}
			continue
		}
		x.bundle(body, args, &i, &errs)
	}
	if len(errs) > 0 {
		return x, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return x, nil
}

// bundle handles "-zi" and "-o60": letters each an option, the first
// one that takes a value taking the rest of the word (or the next
// argument).
func (x *Exipick) bundle(word string, args []string, i *int, errs *[]string) bool {
	for j := 0; j < len(word); j++ {
		c := word[j : j+1]
		o := findShort(c)
		if o == nil {
			// Getopt::Long names the rest of the word.
			*errs = append(*errs, "Unknown option: "+word[j:])
			return false
		}
		if !o.arg {
			o.set(x, "")
			continue
		}
		if j+1 < len(word) {
			v := strings.TrimPrefix(word[j+1:], "=")
			o.set(x, v)
			return true
		}
		if *i+1 >= len(args) {
			*errs = append(*errs, "Option "+c+" requires an argument")
			return false
		}
		*i++
		o.set(x, args[*i])
		return true
	}
	return true
}

// ExipickEnv is what exipick needs from its caller.
type ExipickEnv struct {
	// SpoolDir is the spool directory to use when --spool is not given.
	SpoolDir string
	// FindSpool, when set and --spool is not given, returns the spool
	// directory for the configuration file named by -C ("" when none).
	FindSpool func(config string) string
	// Now is the time messages' ages are measured from (Unix seconds).
	Now int64
	// Stdout and Stderr receive the output.
	Stdout, Stderr io.Writer
	// Version is the build named by --version.
	Version string
}

// ExipickMain runs exipick with its command line: an option error is
// reported with the usage (exit code 2), except that --help, --man and
// --version still print their texts after the complaints.
func ExipickMain(args []string, env ExipickEnv) int {
	x, err := ParseExipick(args)
	if err != nil {
		if !x.Help && !x.Man && !x.Version {
			fmt.Fprintf(env.Stderr, "%v\n%s", err, ExipickUsage)
			return 2
		}
		fmt.Fprintf(env.Stderr, "%v\n", err)
	}
	if x.Spool == "" && !x.Help && !x.Man && !x.Version && env.FindSpool != nil {
		env.SpoolDir = env.FindSpool(x.Config)
	}
	return RunExipick(x, env)
}

// RunExipick runs exipick with parsed options and returns its exit
// code: 0, 1 for a criterion that does not parse, 2 when the spool
// cannot be read.
func RunExipick(x *Exipick, env ExipickEnv) int {
	switch {
	case x.Help:
		io.WriteString(env.Stdout, ExipickHelp)
		return 0
	case x.Man:
		io.WriteString(env.Stdout, ExipickManual)
		return 0
	case x.Version:
		fmt.Fprintf(env.Stdout, "exipick: /usr/sbin/exipick\nbuild: %s\nperl(runtime): 5.036000\n", env.Version)
		return 0
	}
	rules, err := x.rules()
	if err != nil {
		fmt.Fprintln(env.Stderr, err)
		return 1
	}
	if x.ShowRules {
		for _, r := range rules {
			fmt.Fprintf(env.Stdout, "%s\t%s\n", r.name, r.display(x.Not))
		}
	}
	p := &picker{x: x, rules: rules, now: env.Now, out: env.Stdout, errw: env.Stderr, evals: 24}
	if x.Freeze != "" {
		f, err := os.Create(x.Freeze)
		if err != nil {
			fmt.Fprintf(env.Stderr, "Can't open freeze file %s: %s\n", x.Freeze, errnoString(err))
			return 2
		}
		defer f.Close()
		p.freeze = f
	}
	if x.Thaw != "" {
		msgs, code := thawPick(x.Thaw, env)
		if code != 0 {
			return code
		}
		return p.run(nil, msgs)
	}
	spool := x.Spool
	if spool == "" {
		spool = env.SpoolDir
	}
	dir := x.InputDir
	if !strings.HasPrefix(dir, "/") {
		if x.Queue != "" {
			dir = x.Queue + "/" + dir
		}
		dir = spool + "/" + dir
	}
	ids, err := pickIDs(dir)
	if err != nil {
		fmt.Fprintln(env.Stderr, err)
		return 2
	}
	return p.run(ids, nil)
}
