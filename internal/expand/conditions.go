package expand

// condition is a parsed expansion condition. Spec: "Expansion conditions".
type condition interface {
	test(st *state) (bool, error)
}

// condDef parses one condition after its name has been read.
type condDef func(p *parser, name string) (condition, error)

// conditionTables are the groups of conditions, one table per file.
var conditionTables = []map[string]condDef{
	compareConditions,
	matchConditions,
	logicConditions,
	miscConditions,
}

func findCondition(name string) (condDef, bool) {
	for _, t := range conditionTables {
		if d, ok := t[name]; ok {
			return d, true
		}
	}
	return nil, false
}

// notCond is "!condition".
type notCond struct{ c condition }

func (n notCond) test(st *state) (bool, error) {
	ok, err := n.c.test(st)
	return !ok, err
}

// parseCondition reads one condition, with any leading "!" and white
// space, up to the end of its last argument.
func (p *parser) parseCondition() (condition, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, errorf("expansion nested too deeply")
	}
	p.skipSpace()
	neg := false
	for !p.eof() && p.peek() == '!' {
		neg = !neg
		p.pos++
		p.skipSpace()
	}
	start := p.pos
	if !p.eof() && (p.peek() == '<' || p.peek() == '>' || p.peek() == '=') {
		// A symbolic comparison is one of < > = and an optional "=".
		p.pos++
		if !p.eof() && p.peek() == '=' {
			p.pos++
		}
	} else {
		for !p.eof() && (isAlnum(p.peek()) || p.peek() == '_') {
			p.pos++
		}
	}
	name := p.src[start:p.pos]
	if name == "" {
		return nil, errorf("condition name expected, but found \"%s\"", p.rest())
	}
	def, ok := findCondition(name)
	if !ok {
		return nil, errorf("unknown condition \"%s\"", name)
	}
	c, err := def(p, name)
	if err != nil {
		return nil, err
	}
	if neg {
		return notCond{c}, nil
	}
	return c, nil
}

// argCond is a condition with a fixed number of string arguments, all
// evaluated before the test.
type argCond struct {
	args []node
	fn   func(st *state, args []string) (bool, error)
}

func (c *argCond) test(st *state) (bool, error) {
	args, err := st.strArgs(c.args)
	if err != nil {
		return false, err
	}
	return c.fn(st, args)
}

var ordinals = []string{"1st", "2nd", "3rd", "4th"}

// stringArgs returns a condDef for a condition taking n {} arguments, with
// Exim's "missing {" and "missing Nth string" error texts.
func stringArgs(n int, fn func(st *state, args []string) (bool, error)) condDef {
	return func(p *parser, name string) (condition, error) {
		args := make([]node, 0, n)
		for i := 0; i < n; i++ {
			a, ok, err := p.parseArg()
			if err != nil {
				return nil, err
			}
			if !ok {
				if i == 0 {
					return nil, errorf("missing { after \"%s\"", name)
				}
				return nil, errorf("missing %s string in {} after \"%s\"", ordinals[i], name)
			}
			args = append(args, a)
		}
		return &argCond{args: args, fn: fn}, nil
	}
}
