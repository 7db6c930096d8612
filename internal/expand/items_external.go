package expand

import (
	"os"
	"strings"

	"github.com/exigo-mta/exigo/internal/strerror"
)

// externalItems are the expansion items that reach outside the expansion
// engine: files, sockets, commands, the environment, ACLs and loadable
// code. Spec: chapter "String expansions", section "Expansion items".
var externalItems = map[string]itemDef{
	"readfile":    argsAfter(1, 2, evalReadfile),
	"readsocket":  {parse: parseReadsocket},
	"run":         {parse: parseRun},
	"env":         {parse: parseEnv},
	"acl":         argsAfter(1, 10, evalACL),
	"authresults": argsAfter(1, 1, evalAuthResults),
	"dlfunc":      notIncluded(2, 10),
	"perl":        notIncluded(1, 9),
	"imapfolder":  argsAfter(1, 3, evalImapfolder),
}

// argsAfter makes an item taking between min and max {} arguments that
// receives them unevaluated (read by itemArgs, with Exim's texts).
func argsAfter(min, max int, fn func(st *state, args []node) (string, error)) itemDef {
	return itemDef{parse: func(p *parser, name string) (node, error) {
		args, err := p.itemArgs(name, min, max)
		if err != nil {
			return nil, err
		}
		return &genericItem{name: name, args: args, fn: fn}, nil
	}}
}

// notIncluded is an item exigo does not provide (it has no embedded Perl
// and cannot load C code): its arguments are checked as Exim checks them,
// and evaluating it fails with the text of an Exim built without it.
// Spec: "Expansion items", ${dlfunc...} and ${perl...}.
func notIncluded(min, max int) itemDef {
	return itemDef{parse: func(p *parser, name string) (node, error) {
		args, err := p.itemArgs(name, min, max)
		if err != nil {
			return nil, err
		}
		return &genericItem{name: name, args: args, fn: func(*state, []node) (string, error) {
			return "", errorf("\"${%s\" encountered, but this facility is not included in this binary", name)
		}}, nil
	}}
}

// evalReadfile is ${readfile{file}{eol}}: the file's contents, with each
// newline replaced by eol when it is given.
func evalReadfile(st *state, args []node) (string, error) {
	a, err := st.strArgs(args)
	if err != nil {
		return "", err
	}
	if st.ctx.Forbid.ReadFile {
		return "", errorf("file insertions are not permitted")
	}
	f, err := os.Open(a[0])
	if err != nil {
		return "", errorf("failed to open %s: %s", a[0], strerror.Text(err))
	}
	defer f.Close()
	var b strings.Builder
	buf := make([]byte, 8192)
	for {
		n, err := f.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			// End of file, or a read error (a directory): Exim keeps
			// what it read.
			break
		}
	}
	s := b.String()
	if len(a) > 1 {
		s = strings.ReplaceAll(s, "\n", a[1])
	}
	return s, nil
}

// envNode is ${env{name}{yes}{no}}.
type envNode struct {
	key node
	yn  yesNo
}

func parseEnv(p *parser, name string) (node, error) {
	key, ok, err := p.parseArg()
	if err != nil {
		return nil, err
	}
	if !ok {
		// Exim fails here with an empty message.
		return nil, errorf("")
	}
	yn, err := p.parseYesNo(name)
	if err != nil {
		return nil, err
	}
	return &envNode{key: key, yn: yn}, nil
}

func (n *envNode) eval(st *state, b *[]byte) error {
	key, err := st.str(n.key)
	if err != nil {
		return err
	}
	if st.ctx.Forbid.Env {
		return errorf("environment variable lookups are not permitted")
	}
	// The spec says white space is trimmed from the key; Exim 4.96 does
	// not trim it (so "  HOME  " is not found), and neither does exigo.
	val, found := "", false
	if key != "" {
		val, found = st.getenv(key)
	}
	saved := st.value
	st.value = val
	defer func() { st.value = saved }()
	return n.yn.choose(st, "env", found, val, b)
}

// evalACL is ${acl{name}{arg}...}: the named ACL, run through the Context's
// ACL hook. Spec: "Expansion items", ${acl...}.
func evalACL(st *state, args []node) (string, error) {
	a, err := st.strArgs(args)
	if err != nil {
		return "", err
	}
	if st.ctx.ACL == nil {
		return "", errorf("ACLs are not available for ${acl} here")
	}
	verdict, msg, err := st.ctx.ACL(a[0], a[1:])
	if err != nil {
		return "", err
	}
	switch verdict {
	case ACLAccept, ACLDeny:
		return msg, nil
	case ACLDefer:
		return "", &Error{Msg: "DEFER from acl \"" + a[0] + "\"", Forced: true}
	}
	name, ok := aclVerdictNames[verdict]
	if !ok {
		name = "ERROR"
	}
	return "", errorf("%s from acl \"%s\"", name, a[0])
}

// evalAuthResults is ${authresults{authserv-id}}.
// Spec: "Expansion items", ${authresults...}.
func evalAuthResults(st *state, args []node) (string, error) {
	id, err := st.str(args[0])
	if err != nil {
		return "", err
	}
	s := "Authentication-Results: " + id
	if st.ctx.AuthResults != nil {
		s += st.ctx.AuthResults(id)
	}
	return s, nil
}
