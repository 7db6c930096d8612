package acl

import (
	"strconv"

	"github.com/exigo-mta/exigo/internal/expand"
)

// ExpansionHook returns the function that the ${acl{name}{args}} item and
// the acl expansion condition call: it runs the named ACL with
// $acl_arg1..9 and $acl_narg set from args (restored afterwards) over the
// given variables, at the stage of the caller. Spec: chapter "String
// expansions", ${acl...}; chapter "Access control lists", section
// "Calling ACLs from expansions".
func (e *Engine) ExpansionHook(stage Stage, vars expand.VarMap, trace func() *Session) func(name string, args []string) (expand.ACLVerdict, string, error) {
	return func(name string, args []string) (expand.ACLVerdict, string, error) {
		s := &Session{Vars: vars}
		if trace != nil {
			if t := trace(); t != nil {
				s = t
			}
		}
		saved := map[string]*string{}
		keep := func(k string) {
			if v, ok := s.Vars[k]; ok {
				saved[k] = &v
			} else {
				saved[k] = nil
			}
		}
		for i := 1; i <= 9; i++ {
			k := "acl_arg" + strconv.Itoa(i)
			keep(k)
			if i <= len(args) {
				s.Vars[k] = args[i-1]
			} else {
				s.Vars[k] = ""
			}
		}
		keep("acl_narg")
		s.Vars["acl_narg"] = strconv.Itoa(len(args))
		defer func() {
			for k, v := range saved {
				if v == nil {
					delete(s.Vars, k)
				} else {
					s.Vars[k] = *v
				}
			}
		}()
		res := e.RunACL(stage, s, name)
		switch res.Verdict {
		case Accept:
			return expand.ACLAccept, res.UserMessage, nil
		case Deny:
			return expand.ACLDeny, res.UserMessage, nil
		case Defer:
			return expand.ACLDefer, res.UserMessage, nil
		case Discard:
			return expand.ACLDiscard, res.UserMessage, nil
		case Drop:
			return expand.ACLDrop, res.UserMessage, nil
		}
		return expand.ACLError, res.UserMessage, nil
	}
}
