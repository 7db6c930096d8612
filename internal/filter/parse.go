package filter

import (
	"fmt"
	"strings"
)

// maxDepth caps the nesting of if commands and of conditions, which the
// filter file controls.
const maxDepth = 200

// cmdKind names a filter command.
type cmdKind int

const (
	cmdAdd cmdKind = iota
	cmdDefer
	cmdDeliver
	cmdFail
	cmdFinish
	cmdFreeze
	cmdHeaders
	cmdIf
	cmdLogfile
	cmdLogwrite
	cmdMail
	cmdPipe
	cmdSave
	cmdTestprint
	cmdVacation
)

// command is one parsed filter command.
type command struct {
	kind cmdKind
	word string // the command word, for error texts
	line int
	// seen is 1 for a "seen" prefix, -1 for "unseen", 0 for neither.
	seen    int
	noerror bool
	args    []string // the unexpanded arguments
	// headers: "add", "remove" or "charset"; add: the variable name.
	sub string
	// errorsTo is deliver's errors_to.
	errorsTo    string
	errorsToSet bool
	mail        *mailArgs
	// if: the conditions and their command lists; elseCmds for else.
	conds    []*cond
	branches [][]*command
	elseCmds []*command
}

// mailArgs are the options of mail and vacation (unexpanded).
type mailArgs struct {
	fields     map[string]string
	expandFile bool
	ret        bool
}

// mailFields are the string options of mail and vacation, in the order in
// which the test output shows them.
var mailFields = []string{"to", "cc", "bcc", "from", "reply_to", "subject", "extra_headers", "text", "file", "log", "once", "once_repeat"}

// condKind names a condition.
type condKind int

const (
	condAnd condKind = iota
	condOr
	condNot
	condCompare
	condErrorMessage
	condFirstDelivery
	condManuallyThawed
	condDelivered
	condPersonal
	condForAny
)

// cond is a parsed condition.
type cond struct {
	kind    condKind
	l, r    *cond
	verb    string // is, contains, matches, begins, ends, above, below
	caseful bool
	negate  bool
	a, b    string
	alias   []string // personal alias addresses
}

// Error is a filter syntax or runtime error. Line is 0 when Exim names no
// line.
type Error struct {
	Msg  string
	Line int
	// After follows the line number ("but found ...").
	After string
	// NoNear uses Exim's "in line N" form (unterminated strings).
	NoNear bool
}

// Error implements error with Exim's wording.
func (e *Error) Error() string {
	if e.NoNear {
		return fmt.Sprintf("%s in line %d", e.Msg, e.Line)
	}
	if e.Line > 0 {
		return fmt.Sprintf("%s near line %d of filter file%s", e.Msg, e.Line, e.After)
	}
	return e.Msg
}

// parser builds the command tree.
type parser struct {
	lex    lexer
	system bool
	opts   Options
	depth  int
	// afterText is set when the last condition read ended with a string
	// (not at the end of the file).
	afterText bool
}

func (p *parser) errf(format string, a ...any) error {
	return &Error{Msg: fmt.Sprintf(format, a...), Line: p.lex.line}
}

func (p *parser) next() (item, error) {
	it, err := p.lex.next()
	if err != nil {
		return it, err
	}
	return it, nil
}

// arg reads the argument of a command.
func (p *parser) arg(cmd string) (string, error) {
	it, err := p.next()
	if err != nil {
		return "", err
	}
	if it.eof || it.text == "" {
		return "", p.errf("\"%s\" requires an argument", cmd)
	}
	return it.text, nil
}

// commands parses commands up to one of the words in stop (or the end of
// the file when stop is empty) and returns the word that ended the list.
func (p *parser) commands(stop ...string) ([]*command, string, error) {
	var out []*command
	for {
		it, err := p.next()
		if err != nil {
			return nil, "", err
		}
		if it.eof {
			if len(stop) > 0 {
				return nil, "", &Error{Msg: "\"endif\" missing at end of filter file"}
			}
			return out, "", nil
		}
		if !it.quoted {
			for _, s := range stop {
				if it.text == s {
					return out, s, nil
				}
			}
		}
		c, err := p.command(it)
		if err != nil {
			return nil, "", err
		}
		out = append(out, c)
	}
}

// command parses one command whose first word is it.
func (p *parser) command(it item) (*command, error) {
	c := &command{line: p.lex.line}
	word := it.text
	if it.quoted {
		return nil, p.errf("unknown filtering command \"\"%s\"\"", word)
	}
	for word == "seen" || word == "unseen" || word == "noerror" {
		if word != "noerror" && c.seen != 0 {
			return nil, &Error{Msg: fmt.Sprintf("\"seen\" or \"unseen\" repeated near line %d", p.lex.line)}
		}
		switch word {
		case "seen":
			c.seen = 1
		case "unseen":
			c.seen = -1
		default:
			c.noerror = true
		}
		n, err := p.next()
		if err != nil {
			return nil, err
		}
		if n.eof || n.quoted {
			return nil, p.errf("unknown filtering command \"%s\"", n.text)
		}
		word = n.text
	}
	var err error
	c.word = word
	switch word {
	case "deliver", "save", "pipe", "testprint", "logwrite", "logfile":
		c.kind = map[string]cmdKind{"deliver": cmdDeliver, "save": cmdSave, "pipe": cmdPipe,
			"testprint": cmdTestprint, "logwrite": cmdLogwrite, "logfile": cmdLogfile}[word]
		a, err := p.arg(word)
		if err != nil {
			return nil, err
		}
		c.args = []string{a}
		err = p.commandTail(c, word)
		if err != nil {
			return nil, err
		}
	case "finish":
		c.kind = cmdFinish
	case "add":
		c.kind = cmdAdd
		a, err := p.arg(word)
		if err != nil {
			return nil, err
		}
		to, err := p.next()
		if err != nil {
			return nil, err
		}
		if to.text != "to" || to.quoted {
			return nil, p.errf("\"to\" expected in \"add\" command")
		}
		v, err := p.arg("add")
		if err != nil {
			return nil, err
		}
		c.args, c.sub = []string{a}, v
	case "fail", "freeze", "defer":
		c.kind = map[string]cmdKind{"fail": cmdFail, "freeze": cmdFreeze, "defer": cmdDefer}[word]
		allowed := map[string]bool{"fail": p.opts.AllowFail, "freeze": p.opts.AllowFreeze, "defer": p.opts.AllowDefer}[word]
		if !p.system && !allowed {
			return nil, p.errf("filtering command \"%s\" is disabled:", word)
		}
		c.args = []string{""}
		// The text is optional, and so is the word "text" before it.
		n, err := p.lex.peek()
		if err != nil {
			return nil, err
		}
		if n.text == "text" && !n.quoted {
			p.next()
			a, err := p.next()
			if err != nil {
				return nil, err
			}
			c.args[0] = a.text
		} else if n.quoted {
			p.next()
			c.args[0] = n.text
		}
	case "headers":
		c.kind = cmdHeaders
		if !p.system {
			return nil, p.errf("header addition and removal is available only in system filters:")
		}
		s, err := p.next()
		if err != nil {
			return nil, err
		}
		if s.quoted || (s.text != "add" && s.text != "remove" && s.text != "charset") {
			return nil, p.errf("\"add\", \"remove\", or \"charset\" expected after \"headers\"")
		}
		a, err := p.arg("headers " + s.text)
		if err != nil {
			return nil, err
		}
		c.sub, c.args = s.text, []string{a}
	case "mail", "vacation":
		c.kind = cmdMail
		if word == "vacation" {
			c.kind = cmdVacation
		}
		c.mail, err = p.mailOptions(word == "vacation")
		if err != nil {
			return nil, err
		}
	case "if":
		if err := p.ifCommand(c); err != nil {
			return nil, err
		}
	case "elif", "else", "endif":
		return nil, p.errf("unexpected \"%s\" command", word)
	default:
		return nil, p.errf("unknown filtering command \"%s\"", word)
	}
	return c, nil
}

// commandTail reads the optional trailing parts of deliver, save and
// logfile.
func (p *parser) commandTail(c *command, word string) error {
	n, err := p.lex.peek()
	if err != nil || n.eof || n.quoted {
		return nil
	}
	switch {
	case word == "deliver" && n.text == "errors_to":
		p.next()
		a, err := p.next()
		if err != nil {
			return err
		}
		c.errorsTo, c.errorsToSet = a.text, true
	case (word == "save" || word == "logfile") && isDigits(n.text):
		p.next()
		c.args = append(c.args, n.text)
	}
	return nil
}

func isDigits(s string) bool {
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

// validVar reports whether add may name v: n0..n9 only (the system
// filter's sn0..sn9 are its n0..n9 as user filters see them).
func validVar(v string) bool {
	return len(v) == 2 && v[0] == 'n' && v[1] >= '0' && v[1] <= '9'
}

// mailOptions parses the options of mail and vacation. Exim filter
// document, section "Mail commands".
func (p *parser) mailOptions(vacation bool) (*mailArgs, error) {
	m := &mailArgs{fields: map[string]string{}}
	for {
		n, err := p.lex.peek()
		if err != nil {
			return nil, err
		}
		if n.eof || n.quoted {
			break
		}
		w := n.text
		switch {
		case w == "expand":
			p.next()
			f, err := p.next()
			if err != nil {
				return nil, err
			}
			if f.text != "file" || f.quoted {
				return nil, p.errf("\"expand\" not followed by \"file\" ")
			}
			m.expandFile = true
			w = "file"
		case w == "return":
			p.next()
			f, err := p.next()
			if err != nil {
				return nil, err
			}
			if f.text != "message" || f.quoted {
				return nil, p.errf("\"return\" not followed by \"message\" ")
			}
			m.ret = true
			continue
		case isMailField(w):
			p.next()
		default:
			return m, nil
		}
		a, err := p.next()
		if err != nil {
			return nil, err
		}
		m.fields[w] = a.text
	}
	return m, nil
}

func isMailField(w string) bool {
	for _, f := range mailFields {
		if f == w {
			return true
		}
	}
	return false
}

// ifCommand parses if ... then ... [elif ... then ...] [else ...] endif.
func (p *parser) ifCommand(c *command) error {
	c.kind = cmdIf
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return p.errf("if commands nested too deeply")
	}
	for {
		cd, err := p.condition()
		if err != nil {
			return err
		}
		cmds, end, err := p.commands("elif", "else", "endif")
		if err != nil {
			return err
		}
		c.conds = append(c.conds, cd)
		c.branches = append(c.branches, cmds)
		switch end {
		case "endif":
			return nil
		case "else":
			cmds, end, err := p.commands("elif", "else", "endif")
			if err != nil {
				return err
			}
			if end != "endif" {
				return p.errf("\"endif\" missing")
			}
			c.elseCmds = cmds
			return nil
		}
	}
}

// condition parses a condition and the "then" after it.
func (p *parser) condition() (*cond, error) {
	cd, it, err := p.orCond()
	if err != nil {
		return nil, err
	}
	if it.quoted || it.text != "then" {
		e := &Error{Msg: `"and" or "or" or "then" expected`, Line: p.lex.line, After: fmt.Sprintf(`, but found "%s"`, it.text)}
		if it.eof && p.afterText {
			// Exim counts one more line here after a string.
			e.Line++
		}
		return nil, e
	}
	return cd, nil
}

// orCond parses "or" lists; it returns the item after the condition.
func (p *parser) orCond() (*cond, item, error) {
	l, it, err := p.andCond()
	if err != nil {
		return nil, it, err
	}
	for !it.quoted && it.text == "or" {
		var r *cond
		r, it, err = p.andCond()
		if err != nil {
			return nil, it, err
		}
		l = &cond{kind: condOr, l: l, r: r}
	}
	return l, it, nil
}

func (p *parser) andCond() (*cond, item, error) {
	l, err := p.simpleCond()
	if err != nil {
		return nil, item{}, err
	}
	it, err := p.next()
	if err != nil {
		return nil, it, err
	}
	for !it.quoted && it.text == "and" {
		r, err := p.simpleCond()
		if err != nil {
			return nil, it, err
		}
		l = &cond{kind: condAnd, l: l, r: r}
		if it, err = p.next(); err != nil {
			return nil, it, err
		}
	}
	return l, it, nil
}

// simpleCond parses one condition: not, a bracketed condition, a keyword
// condition or a comparison. Exim filter document, sections "Testing
// conditions" to "Testing a list of addresses".
func (p *parser) simpleCond() (*cond, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, p.errf("conditions nested too deeply")
	}
	p.afterText = false
	it, err := p.next()
	if err != nil {
		return nil, err
	}
	if it.eof {
		return nil, &Error{Msg: "\"then\" missing at end of filter file"}
	}
	if !it.quoted {
		switch it.text {
		case "then", "and", "or", ")":
			return nil, p.errf("unexpected \"%s\"", it.text)
		case "not":
			c, err := p.simpleCond()
			if err != nil {
				return nil, err
			}
			return &cond{kind: condNot, l: c}, nil
		case "(":
			c, end, err := p.orCond()
			if err != nil {
				return nil, err
			}
			if end.quoted || end.text != ")" {
				return nil, p.errf("missing \")\" at end of condition")
			}
			return c, nil
		case "error_message":
			return &cond{kind: condErrorMessage}, nil
		case "first_delivery":
			return &cond{kind: condFirstDelivery}, nil
		case "manually_thawed":
			return &cond{kind: condManuallyThawed}, nil
		case "delivered":
			return &cond{kind: condDelivered}, nil
		case "personal":
			c := &cond{kind: condPersonal}
			for {
				n, _ := p.lex.peek()
				if n.quoted || n.text != "alias" {
					return c, nil
				}
				p.next()
				a, err := p.next()
				if err != nil {
					return nil, err
				}
				c.alias = append(c.alias, a.text)
			}
		case "foranyaddress":
			s, err := p.next()
			if err != nil {
				return nil, err
			}
			// Exim looks at the next character without taking a word.
			if p.lex.pos >= len(p.lex.src) || p.lex.src[p.lex.pos] != '(' {
				return nil, p.errf("\"(\" expected after \"foranyaddress\"")
			}
			p.next()
			c, end, err := p.orCond()
			if err != nil {
				return nil, err
			}
			if end.quoted || end.text != ")" {
				return nil, p.errf("missing \")\" at end of condition")
			}
			return &cond{kind: condForAny, a: s.text, l: c}, nil
		}
	}
	c := &cond{kind: condCompare, a: it.text}
	if err := p.verb(c); err != nil {
		return nil, err
	}
	b, err := p.next()
	if err != nil {
		return nil, err
	}
	c.b = b.text
	p.afterText = !b.eof
	return c, nil
}

// verb reads the comparison word(s) of a condition.
func (p *parser) verb(c *cond) error {
	it, err := p.next()
	if err != nil {
		return err
	}
	w := it.text
	if it.quoted || it.eof {
		return p.errf("unrecognized condition word \"%s\"", w)
	}
	switch w {
	case "does", "DOES":
		n, err := p.next()
		if err != nil {
			return err
		}
		if n.quoted || n.text != "not" && n.text != "NOT" {
			return p.errf("\"not\" expected after \"does\"")
		}
		c.negate = true
		v, err := p.next()
		if err != nil {
			return err
		}
		verbs := map[string]string{"contain": "contains", "match": "matches", "begin": "begins", "end": "ends",
			"contains": "contains", "matches": "matches", "begins": "begins", "ends": "ends"}
		low, ok := verbs[strings.ToLower(v.text)]
		if v.quoted || !ok || v.text != strings.ToLower(v.text) && v.text != strings.ToUpper(v.text) {
			return p.errf("unrecognized condition word \"%s\"", v.text)
		}
		c.verb, c.caseful = low, v.text == strings.ToUpper(v.text)
		return nil
	case "is", "IS":
		c.verb, c.caseful = "is", w == "IS"
		n, _ := p.lex.peek()
		if n.quoted {
			return nil
		}
		switch n.text {
		case "not", "NOT":
			p.next()
			c.negate = true
			n, _ = p.lex.peek()
		}
		if !n.quoted && (n.text == "above" || n.text == "below") {
			p.next()
			c.verb = n.text
		}
		return nil
	case "contains", "matches", "begins", "ends":
		c.verb = w
		return nil
	case "CONTAINS", "MATCHES", "BEGINS", "ENDS":
		c.verb, c.caseful = strings.ToLower(w), true
		return nil
	}
	return p.errf("unrecognized condition word \"%s\"", w)
}
