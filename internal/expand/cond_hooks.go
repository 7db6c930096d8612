package expand

import "errors"

// CondHooks are the parts of expansion conditions that depend on the rest
// of the MTA (authentication back ends, the delivery in progress). The acl
// condition uses the Context's ACL hook (ItemHooks), shared with ${acl}:
// an accept makes it true with the message in $value, a deny false, a
// defer a forced failure; with no hook a non-empty name gives
// ERROR from acl "NAME" and the empty name a deny.
// The zero value gives what "exim -be" gives with nothing configured.
type CondHooks struct {
	// PAM checks the colon-separated list of the pam condition (user name
	// then the answers to PAM's questions). Nil means every check fails,
	// as PAM does for unknown users.
	PAM func(data string) (bool, error)
	// LDAPAuth performs the ldapauth condition's bind with the expanded
	// query. Nil means LDAP authentication fails (false).
	LDAPAuth func(query string) (bool, error)
	// SaslauthdSocket is the path of the saslauthd daemon's socket;
	// empty means Exim's default, /var/run/saslauthd/mux.
	SaslauthdSocket string
	// FirstDelivery is true during a message's first delivery attempt
	// (the first_delivery condition).
	FirstDelivery bool
	// QueueRunning is true during a delivery started by a queue runner
	// (the queue_running condition).
	QueueRunning bool
}

// yesNoError is the error for a malformed yes/no part; when a header name
// took in a brace and the string has run out, Exim blames the header name.
func (p *parser) yesNoError(format string, args ...any) error {
	if p.headerBrace && p.eof() {
		return errorf("missing or misplaced { or } - could be header name not terminated by colon")
	}
	return errorf(format, args...)
}

// insideCond adds Exim's " inside ..." context to an error from a
// subcondition, keeping the forced and defer flags.
func insideCond(err error, where string) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		n := *e
		n.Msg += " inside " + where
		return &n
	}
	return errorf("%v inside %s", err, where)
}

// parseSubArgs reads between min and max "{...}" arguments for the
// conditions whose arguments Exim reads as one group (acl, saslauthd,
// inbound_srs), with its error texts. With outer, the group is itself in
// braces, as in acl{{name}{arg}}.
func (p *parser) parseSubArgs(name string, min, max int, outer bool) ([]node, error) {
	bad := errorf("too few arguments or bracketing error for %s", name)
	if outer {
		p.skipSpace()
		if p.eof() || p.peek() != '{' {
			return nil, errorf("missing { after \"%s\"", name)
		}
		p.pos++
	}
	var args []node
	for outer || len(args) < max {
		n, ok, err := p.parseArg()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if len(args) == max {
			return nil, errorf("Too many arguments for '%s' (max is %d)", name, max)
		}
		args = append(args, n)
	}
	if len(args) < min {
		return nil, bad
	}
	if outer {
		p.skipSpace()
		if p.eof() || p.peek() != '}' {
			return nil, bad
		}
		p.pos++
	}
	return args, nil
}

// conditionParser lets condition parsers parse subconditions.
type conditionParser interface {
	parseCondition() (condition, error)
}

// subCondition parses a subcondition (for and, or, forall...). The call
// goes through an interface so that the condition tables, which refer to
// the parsers that call this, and parseCondition, which refers to the
// tables, do not form an initialisation cycle.
func subCondition(p *parser) (condition, error) {
	var cp conditionParser = p
	return cp.parseCondition()
}
