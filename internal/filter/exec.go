package filter

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/exigo-mta/exigo/internal/pcre"
)

// errFinish stops the filter at finish, fail, freeze and defer.
var errFinish = errors.New("finish")

// runner is the state of one run.
type runner struct {
	f       *Filter
	env     *Env
	res     *Result
	n       [10]int
	sn      [10]int
	numeric []string
	this    string // $thisaddress
}

// Run obeys the filter against the message that env describes.
func (f *Filter) Run(env *Env) (*Result, error) {
	r := &runner{f: f, env: env, res: &Result{}, sn: env.SN}
	err := r.list(f.cmds)
	r.res.N = r.n
	if err != nil && err != errFinish {
		return r.res, err
	}
	return r.res, nil
}

func (r *runner) printf(format string, a ...any) {
	if r.env.Test != nil {
		r.env.Test.WriteString(fmt.Sprintf(format, a...))
	}
}

// expand expands s with the filter variables; where names the command
// (for the error text), or is empty in conditions.
func (r *runner) expand(s, where string) (string, error) {
	extra := map[string]string{"thisaddress": r.this}
	for i := 0; i < 10; i++ {
		extra["n"+strconv.Itoa(i)] = strconv.Itoa(r.n[i])
		extra["sn"+strconv.Itoa(i)] = strconv.Itoa(r.sn[i])
	}
	v, err := r.env.Expand(s, Vars{Extra: extra, Numeric: r.numeric})
	if err != nil {
		in := "filter file"
		if where != "" {
			in = where + " command"
		}
		return "", &Error{Msg: fmt.Sprintf("failed to expand \"%s\" in %s: %v", s, in, err)}
	}
	return v, nil
}

func (r *runner) list(cmds []*command) error {
	for _, c := range cmds {
		if err := r.command(c); err != nil {
			return err
		}
	}
	return nil
}

// command obeys one command. Filter document, chapter "Exim filter
// files", sections on each command; the test output is Exim's -bf.
func (r *runner) command(c *command) error {
	switch c.kind {
	case cmdIf:
		for i, cd := range c.conds {
			ok, err := r.cond(cd)
			if err != nil {
				return err
			}
			if ok {
				return r.list(c.branches[i])
			}
		}
		return r.list(c.elseCmds)
	case cmdDeliver, cmdSave, cmdPipe:
		return r.delivery(c)
	case cmdTestprint:
		s, err := r.expand(c.args[0], c.word)
		if err != nil {
			return err
		}
		r.printf("Testprint: %s\n", printable(s))
	case cmdLogwrite:
		s, err := r.expand(c.args[0], c.word)
		if err != nil {
			return err
		}
		if r.env.NeedLogfile && r.res.Logfile == "" {
			return &Error{Msg: `attempt to obey "logwrite" command without a previous "logfile"`}
		}
		s += "\n"
		r.res.Logwrites = append(r.res.Logwrites, s)
		r.printf("Logwrite \"%s\"\n", printable(s))
	case cmdLogfile:
		s, err := r.expand(c.args[0], c.word)
		if err != nil {
			return err
		}
		r.res.Logfile = s
		r.printf("Logfile %s\n", s)
	case cmdAdd:
		s, err := r.expand(c.args[0], c.word)
		if err != nil {
			return err
		}
		v, ok := parseNumber(s)
		if !ok {
			return &Error{Msg: fmt.Sprintf("malformed number \"%s\" in \"add\" command", s)}
		}
		if !validVar(c.sub) {
			return &Error{Msg: fmt.Sprintf("unknown variable \"%s\" in \"add\" command", c.sub)}
		}
		r.printf("Add %d to %s\n", v, c.sub)
		// The variables are C ints: 32 bits, wrapping.
		r.n[c.sub[1]-'0'] = int(int32(r.n[c.sub[1]-'0'] + v))
	case cmdFinish:
		if c.seen == 1 {
			r.res.Significant = true
			r.printf("Seen finish\n")
		} else {
			r.printf("Finish\n")
		}
		return errFinish
	case cmdFail, cmdFreeze, cmdDefer:
		s, err := r.expand(c.args[0], c.word)
		if err != nil {
			return err
		}
		name := map[cmdKind]string{cmdFail: "Fail", cmdFreeze: "Freeze", cmdDefer: "Defer"}[c.kind]
		r.res.Outcome = map[cmdKind]Outcome{cmdFail: Fail, cmdFreeze: Freeze, cmdDefer: Defer}[c.kind]
		r.res.Message = s
		r.printf("%s text \"%s\"\n", name, s)
		return errFinish
	case cmdHeaders:
		s, err := r.expand(c.args[0], c.word)
		if err != nil {
			return err
		}
		switch c.sub {
		case "add":
			r.res.HeadersAdd = append(r.res.HeadersAdd, s)
		case "remove":
			r.res.HeadersRemove = append(r.res.HeadersRemove, s)
		default:
			r.res.Charset = s
		}
		r.printf("Headers %s \"%s\"\n", c.sub, s)
	case cmdMail, cmdVacation:
		return r.mail(c)
	}
	return nil
}

// delivery obeys deliver, save and pipe.
func (r *runner) delivery(c *command) error {
	d := Delivery{Unseen: c.seen == -1, NoError: c.noerror}
	s := c.args[0]
	var err error
	if c.kind != cmdPipe {
		// A pipe command is split and expanded by the pipe transport.
		if s, err = r.expand(s, c.word); err != nil {
			return err
		}
	}
	if c.kind == cmdDeliver && r.env.Mailbox != nil {
		a, err := r.env.Mailbox(s)
		if err != nil {
			return &Error{Msg: fmt.Sprintf("malformed address \"%s\" in filter file: %v", s, err)}
		}
		s = a
	}
	if c.kind == cmdDeliver && r.env.Qualify != "" && !strings.Contains(s, "@") {
		s += "@" + r.env.Qualify
	}
	d.Text = s
	verb := "Deliver"
	switch c.kind {
	case cmdSave:
		d.Kind, verb = File, "Save"
		if len(c.args) > 1 {
			d.Mode = fmt.Sprintf("%04o", octalPrefix(c.args[1]))
		}
	case cmdPipe:
		d.Kind, verb = Pipe, "Pipe"
	default:
		if c.errorsToSet {
			e, err := r.expand(c.errorsTo, c.word)
			if err != nil {
				return err
			}
			if e == "" {
				return &Error{Msg: "malformed address \"\" in filter file: empty address"}
			}
			lp, _ := r.expand("$local_part@$domain", "")
			if !strings.EqualFold(e, lp) {
				return &Error{Msg: "errors_to must point to the caller's address"}
			}
			d.ErrorsTo = e
		}
	}
	if !d.Unseen {
		r.res.Significant = true
	}
	d.Seq = len(r.res.Deliveries) + len(r.res.Mails)
	r.res.Deliveries = append(r.res.Deliveries, d)
	if r.env.Test == nil {
		return nil
	}
	var b strings.Builder
	if d.Unseen {
		b.WriteString("Unseen " + strings.ToLower(verb))
	} else {
		b.WriteString(verb)
	}
	b.WriteString(" message to: " + d.Text)
	if d.Mode != "" {
		b.WriteString(" " + d.Mode)
	}
	if d.ErrorsTo != "" {
		b.WriteString(" errors_to " + d.ErrorsTo)
	}
	if d.NoError {
		b.WriteString(" (noerror)")
	}
	r.printf("%s\n", b.String())
	return nil
}

// mail obeys mail and vacation. Filter document, section "Mail commands".
func (r *runner) mail(c *command) error {
	m := Mail{Vacation: c.kind == cmdVacation, Fields: map[string]string{}, ExpandFile: c.mail.expandFile, Return: c.mail.ret, Unseen: c.seen == -1}
	if m.Vacation {
		defaults := map[string]string{"subject": "On vacation", "file": ".vacation.msg", "log": ".vacation.log", "once": ".vacation", "once_repeat": "7d"}
		for k, v := range defaults {
			if _, ok := c.mail.fields[k]; !ok {
				m.Fields[k] = v
			}
		}
		if _, ok := c.mail.fields["file"]; !ok {
			m.ExpandFile = true
		}
	}
	for k, v := range c.mail.fields {
		e, err := r.expand(v, c.word)
		if err != nil {
			return err
		}
		if headerField(k) && badContinuation(e) {
			return &Error{Msg: fmt.Sprintf("\\n not followed by space in \"%s\" in %s command", printable(e), c.word)}
		}
		m.Fields[k] = e
	}
	if c.seen == 1 {
		r.res.Significant = true
	}
	m.Seq = len(r.res.Deliveries) + len(r.res.Mails)
	r.res.Mails = append(r.res.Mails, m)
	if r.env.Test == nil {
		return nil
	}
	if c.seen == 1 {
		r.printf("Seen mail to: ")
	} else {
		r.printf("Mail to: ")
	}
	to, ok := m.Fields["to"]
	if !ok {
		to = "<default>"
	}
	if m.Vacation {
		to += " (vacation)"
	}
	r.printf("%s\n", printable(to))
	for _, f := range mailFields[1:] {
		v, ok := m.Fields[f]
		if !ok {
			continue
		}
		if f == "file" && m.ExpandFile {
			v += " (expanded)"
		}
		r.printf("%7s: %s\n", f, printable(v))
	}
	if m.Return {
		r.printf("Return original message\n")
	}
	return nil
}

// headerField reports whether a mail option becomes a header line.
func headerField(k string) bool {
	switch k {
	case "to", "cc", "bcc", "from", "reply_to", "subject":
		return true
	}
	return false
}

// badContinuation reports a newline not followed by white space, which
// would end the header line.
func badContinuation(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' && (i+1 >= len(s) || s[i+1] != ' ' && s[i+1] != '\t') {
			return true
		}
	}
	return false
}

// octalPrefix is the value of the leading octal digits of s.
func octalPrefix(s string) int {
	v := 0
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '7'; i++ {
		v = v*8 + int(s[i]-'0')
	}
	return v
}

// parseNumber reads a signed decimal number with an optional K or M.
func parseNumber(s string) (int, bool) {
	t := strings.TrimSpace(s)
	mult := 1
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'k', 'K':
			mult, t = 1024, t[:n-1]
		case 'm', 'M':
			mult, t = 1024*1024, t[:n-1]
		}
	}
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil {
		ne, ok := err.(*strconv.NumError)
		if !ok || ne.Err != strconv.ErrRange {
			return 0, false
		}
		// Out of range saturates, as strtol does.
	}
	// Exim keeps the result in a C int.
	return int(int32(v * int64(mult))), true
}

// printable shows a string as Exim's testprint does: tabs and printing
// characters as they are, newline as \n, others as octal escapes.
func printable(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\n':
			b.WriteString("\\n")
		case c == '\r':
			b.WriteString("\\r")
		case c == '\t' || c >= 32 && c < 127:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "\\%03o", c)
		}
	}
	return b.String()
}

// cond tests a condition.
func (r *runner) cond(c *cond) (bool, error) {
	switch c.kind {
	case condAnd:
		ok, err := r.cond(c.l)
		if err != nil || !ok {
			return false, err
		}
		return r.cond(c.r)
	case condOr:
		ok, err := r.cond(c.l)
		if err != nil || ok {
			return ok, err
		}
		return r.cond(c.r)
	case condNot:
		ok, err := r.cond(c.l)
		return !ok, err
	case condErrorMessage:
		return r.env.ErrorMessage, nil
	case condFirstDelivery:
		return r.env.FirstDelivery, nil
	case condManuallyThawed:
		return r.env.ManuallyThawed, nil
	case condDelivered:
		return r.res.Significant, nil
	case condPersonal:
		return r.personal(c.alias)
	case condForAny:
		list, err := r.expand(c.a, "")
		if err != nil {
			return false, err
		}
		save := r.this
		for _, a := range splitAddresses(list) {
			r.this = a
			ok, err := r.cond(c.l)
			if err != nil || ok {
				// $thisaddress keeps the address that matched.
				return ok, err
			}
		}
		r.this = save
		return false, nil
	}
	a, err := r.expand(c.a, "")
	if err != nil {
		return false, err
	}
	b, err := r.expand(c.b, "")
	if err != nil {
		return false, err
	}
	ok, err := r.compare(c, a, b)
	return ok != c.negate, err
}

// compare applies a comparison verb. Filter document, sections "String
// testing conditions" and "Numeric testing conditions".
func (r *runner) compare(c *cond, a, b string) (bool, error) {
	if !c.caseful && c.verb != "matches" {
		a, b = lower(a), lower(b)
	}
	switch c.verb {
	case "is":
		return a == b, nil
	case "contains":
		return strings.Contains(a, b), nil
	case "begins":
		return strings.HasPrefix(a, b), nil
	case "ends":
		return strings.HasSuffix(a, b), nil
	case "above", "below":
		x, ok1 := parseNumber(a)
		y, ok2 := parseNumber(b)
		if !ok1 || !ok2 {
			bad := a
			if ok1 {
				bad = b
			}
			return false, &Error{Msg: fmt.Sprintf("malformed numerical string \"%s\"", bad)}
		}
		if c.verb == "above" {
			return x > y, nil
		}
		return x < y, nil
	}
	var re *pcre.Regexp
	var err error
	if c.caseful {
		re, err = pcre.Compile(b)
	} else {
		re, err = pcre.CompileCaseless(b)
	}
	if err != nil {
		return false, &Error{Msg: fmt.Sprintf("error while compiling regular expression \"%s\": %v", b, err)}
	}
	groups, ok, err := re.Match(a)
	if err != nil {
		return false, &Error{Msg: fmt.Sprintf("regular expression error: %v", err)}
	}
	if ok {
		r.numeric = groups
	}
	return ok, nil
}

// personal is the personal condition. Filter document, section "Details
// of the personal condition".
func (r *runner) personal(alias []string) (bool, error) {
	if r.env.ErrorMessage {
		return false, nil
	}
	get := func(s string) string { v, _ := r.expand(s, ""); return v }
	hdrs := lower(get("$message_headers"))
	for _, h := range []string{"list-id:", "list-help:", "list-subscribe:", "list-unsubscribe:", "list-post:", "list-owner:", "list-archive:"} {
		if strings.Contains(hdrs, "\n"+h) || strings.HasPrefix(hdrs, h) {
			return false, nil
		}
	}
	if get("${if def:h_auto-submitted:{y}{n}}") == "y" && lower(get("$h_auto-submitted:")) != "no" {
		return false, nil
	}
	prec := lower(get("$h_precedence:"))
	for _, w := range []string{"bulk", "list", "junk"} {
		if strings.Contains(prec, w) {
			return false, nil
		}
	}
	self := []string{lower(get("$local_part@$domain"))}
	if full := lower(get("$local_part_prefix$local_part$local_part_suffix@$domain")); full != self[0] {
		// With affixes both forms count as the user's address.
		self = append(self, full)
	}
	for _, a := range alias {
		self = append(self, lower(get(a)))
	}
	found := false
	for _, a := range splitAddresses(get("$h_to:")) {
		for _, s := range self {
			if strings.Contains(lower(a), s) {
				found = true
			}
		}
	}
	if !found {
		return false, nil
	}
	for _, a := range splitAddresses(get("$h_from:")) {
		// Exim compares these daemon names with case (MAILER-DAEMON@
		// does not match "daemon@").
		for _, s := range self {
			if strings.Contains(lower(a), s) {
				return false, nil
			}
		}
		for _, s := range []string{"server@", "daemon@", "root@", "listserv@", "majordomo@", "-request@"} {
			if strings.Contains(a, s) {
				return false, nil
			}
		}
		if strings.HasPrefix(a, "owner-") && strings.Contains(a[6:], "@") && !strings.HasPrefix(a[6:], "@") {
			return false, nil
		}
	}
	return true, nil
}
