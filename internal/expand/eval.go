package expand

import (
	"os"
	"strconv"
	"time"

	"github.com/exigo-mta/exigo/internal/loadavg"
)

// node is one element of a parsed expansion string. eval appends the
// node's expansion to *b.
type node interface {
	eval(st *state, b *[]byte) error
}

// state is the evaluation state of one Eval call: the Context plus the
// values that Exim scopes to parts of a string ($value, $item, $0..$9).
type state struct {
	ctx *Context
	// numeric holds $0..$9 from the last successful regular expression
	// match; nil when none.
	numeric []string
	value   string // $value
	item    string // $item
	// srsRecipient is $srs_recipient, set by the inbound_srs condition.
	srsRecipient string
	depth        int
	// tainted is set once a value that came from the message (taint.go)
	// has been copied towards the result; numericTainted marks $0..$9
	// captured from such a value.
	tainted        bool
	numericTainted bool
}

// str evaluates n to a string.
func (st *state) str(n node) (string, error) {
	if t, ok := n.(text); ok {
		return string(t), nil
	}
	var b []byte
	if err := n.eval(st, &b); err != nil {
		return "", err
	}
	return string(b), nil
}

func (st *state) now() time.Time {
	if st.ctx.Now != nil {
		return st.ctx.Now()
	}
	return time.Now()
}

func (st *state) getenv(name string) (string, bool) {
	if st.ctx.Env != nil {
		return st.ctx.Env(name)
	}
	return os.LookupEnv(name)
}

// text is literal text.
type text string

func (t text) eval(_ *state, b *[]byte) error {
	*b = append(*b, t...)
	return nil
}

// seq is a sequence of nodes whose expansions are concatenated.
type seq []node

func (s seq) eval(st *state, b *[]byte) error {
	for _, n := range s {
		if err := n.eval(st, b); err != nil {
			return err
		}
	}
	return nil
}

// simplify turns a one-element sequence into its element.
func (s seq) simplify() node {
	switch len(s) {
	case 0:
		return text("")
	case 1:
		return s[0]
	}
	return s
}

// numVar is $0 .. $9 (and higher numbers, always empty).
type numVar int

func (n numVar) eval(st *state, b *[]byte) error {
	if int(n) < len(st.numeric) {
		*b = append(*b, st.numeric[n]...)
		if st.numericTainted && st.numeric[n] != "" {
			st.tainted = true
		}
	}
	return nil
}

// variable is a named variable, checked against Exim's set when parsed.
type variable struct {
	name string
	get  func(st *state) (string, bool)
}

func newVar(name string) (node, error) {
	if get, ok := builtinVars[name]; ok {
		return variable{name: name, get: get}, nil
	}
	if get, ok := itemVars[name]; ok {
		return variable{name: name, get: get}, nil
	}
	if isFilterVar(name) {
		return filterVar(name), nil
	}
	if hint, ok := lookupVariable(name); !ok {
		return nil, errorf("unknown variable name \"%s\"%s", name, hint)
	}
	return variable{name: name}, nil
}

func (v variable) eval(st *state, b *[]byte) error {
	s, _ := v.value(st)
	if s != "" && taintedVars[v.name] && !v.cleanReturnPath(st, s) {
		st.tainted = true
	}
	*b = append(*b, s...)
	return nil
}

// cleanReturnPath reports a $return_path that is not the message's
// sender: a router's errors_to put it there from the configuration, and
// Exim 4.96 does not count it tainted (observed with a pipe command).
func (v variable) cleanReturnPath(st *state, s string) bool {
	if v.name != "return_path" || st.ctx.Vars == nil {
		return false
	}
	sender, _ := st.ctx.Vars.Var("sender_address")
	return s != sender
}

func (v variable) value(st *state) (string, bool) {
	if v.get != nil {
		if s, ok := v.get(st); ok {
			return s, true
		}
	}
	if st.ctx.Vars != nil {
		return st.ctx.Vars.Var(v.name)
	}
	return "", false
}

// filterVar is $n0..$n9 or $sn0..$sn9: known only while a filter runs,
// when the Context's Vars supply them; elsewhere Exim reports them as
// unknown. Filter document, section "Filter variables".
type filterVar string

func isFilterVar(name string) bool {
	if len(name) == 3 && name[0] == 's' {
		name = name[1:]
	}
	return len(name) == 2 && name[0] == 'n' && isDigit(name[1])
}

func (v filterVar) eval(st *state, b *[]byte) error {
	if st.ctx.Vars != nil {
		if s, ok := st.ctx.Vars.Var(string(v)); ok {
			*b = append(*b, s...)
			return nil
		}
	}
	return errorf("unknown variable name \"%s\"", string(v))
}

// builtinVars are the variables whose value the expansion engine itself
// knows: loop and lookup values, and the time of day. A getter returning
// ok=false defers to the Context's Vars.
var builtinVars = map[string]func(st *state) (string, bool){
	"value": func(st *state) (string, bool) { return st.value, true },
	"item":  func(st *state) (string, bool) { return st.item, true },
	"srs_recipient": func(st *state) (string, bool) {
		return st.srsRecipient, st.srsRecipient != ""
	},
	"message_headers": func(st *state) (string, bool) {
		if st.ctx.Message == nil {
			return "", false
		}
		return st.ctx.Message.Headers(false), true
	},
	"message_headers_raw": func(st *state) (string, bool) {
		if st.ctx.Message == nil {
			return "", false
		}
		return st.ctx.Message.Headers(true), true
	},
	// $load_average is "recomputed every time the variable is
	// referenced" (spec chapter "String expansions"); where the load
	// cannot be read, the Context's Vars say.
	"load_average": func(*state) (string, bool) {
		n, err := loadavg.Read()
		return strconv.Itoa(n), err == nil
	},
	"tod_bsdinbox": func(st *state) (string, bool) {
		return st.now().Format("Mon Jan _2 15:04:05 2006"), true
	},
	"tod_epoch": func(st *state) (string, bool) {
		return strconv.FormatInt(st.now().Unix(), 10), true
	},
	"tod_epoch_l": func(st *state) (string, bool) {
		return strconv.FormatInt(st.now().UnixMicro(), 10), true
	},
	"tod_full": func(st *state) (string, bool) {
		return st.now().Format("Mon, 2 Jan 2006 15:04:05 -0700"), true
	},
	"tod_log": func(st *state) (string, bool) {
		return st.now().Format("2006-01-02 15:04:05"), true
	},
	"tod_logfile": func(st *state) (string, bool) {
		return st.now().Format("20060102"), true
	},
	"tod_zone": func(st *state) (string, bool) {
		return st.now().Format("-0700"), true
	},
	"tod_zulu": func(st *state) (string, bool) {
		return st.now().UTC().Format("20060102150405Z"), true
	},
}

// headerVar is $h_name:, $rh_name:, $bh_name: or $lh_name:.
type headerVar struct {
	name string
	mode HeaderMode
}

func (h headerVar) eval(st *state, b *[]byte) error {
	s, _ := h.value(st)
	if s != "" {
		st.tainted = true
	}
	*b = append(*b, s...)
	return nil
}

func (h headerVar) value(st *state) (string, bool) {
	if st.ctx.Message == nil {
		return "", false
	}
	return st.ctx.Message.Header(h.name, h.mode)
}

// opNode is ${operator:arg}.
type opNode struct {
	name   string
	op     opFunc
	params []int
	arg    node
}

func (o *opNode) eval(st *state, b *[]byte) error {
	arg, err := st.str(o.arg)
	if err != nil {
		return err
	}
	r, err := o.op(st, arg, o.params)
	if err != nil {
		return err
	}
	*b = append(*b, r...)
	return nil
}
