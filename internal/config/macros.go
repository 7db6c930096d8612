// Macros: Exim's builtin "_" macros, definitions (NAME = v, NAME == v,
// -D), and substitution on physical lines.
//
// Exim specification: chapter "The Exim runtime configuration file",
// sections "Macros in the configuration file" to "Builtin macros".
package config

import (
	_ "embed"
	"fmt"
	"strings"
	"sync"
)

// builtinText is the list of builtin macros exactly as Exim 4.96 prints it
// for "-bP macros", one NAME=value a line, in Exim's order.
//
//go:embed builtin_macros.txt
var builtinText string

// builtinMacros returns the builtin macros, parsed on first use, and
// their index by name. Every configuration starts with them, sharing
// the slice until it changes one (copyMacros).
var builtinMacros = sync.OnceValues(func() ([]Macro, map[string]int) {
	ms := parseBuiltin(builtinText)
	index := make(map[string]int, len(ms))
	for i, m := range ms {
		index[m.Name] = i
	}
	return ms[:len(ms):len(ms)], index
})

func parseBuiltin(s string) []Macro {
	ms := make([]Macro, 0, strings.Count(s, "\n")+1)
	for len(s) > 0 {
		l, rest, _ := strings.Cut(s, "\n")
		if n, v, ok := strings.Cut(l, "="); ok {
			ms = append(ms, Macro{Name: n, Value: v})
		}
		s = rest
	}
	return ms
}

// macroAt returns the place of the named macro in c.Macros.
func (c *Config) macroAt(name string) (int, bool) {
	if i, ok := c.macroIndex[name]; ok {
		return i, true
	}
	_, index := builtinMacros()
	i, ok := index[name]
	return i, ok
}

// setMacro sets the value of the macro at place i, first copying a
// slice still shared with other configurations.
func (c *Config) setMacro(i int, value string) {
	if !c.ownMacros {
		c.Macros = append(make([]Macro, 0, len(c.Macros)+8), c.Macros...)
		c.ownMacros = true
	}
	c.Macros[i].Value = value
}

func isNameChar(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_'
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

// SubstituteMacros applies every defined macro to s, in definition order,
// as Exim does to each physical configuration line and to -be input
// (spec "Macro substitution"): each macro's name is replaced wherever it
// occurs, and its replacement is not rescanned for the same macro.
func (c *Config) SubstituteMacros(s string) string {
	out, _ := c.substitute(s)
	return out
}

// substitute returns s with macros replaced and whether any replacement
// happened (the .ifdef test).
func (c *Config) substitute(s string) (string, bool) {
	if !hasUpper(s) {
		return s, false
	}
	hasUnderscore := strings.IndexByte(s, '_') >= 0
	done := false
	for i := range c.Macros {
		m := &c.Macros[i]
		if m.Name == "" || (m.Name[0] == '_' && !hasUnderscore) {
			continue
		}
		if strings.Contains(s, m.Name) {
			s = strings.ReplaceAll(s, m.Name, m.Value)
			done = true
			hasUnderscore = strings.IndexByte(s, '_') >= 0
		}
	}
	return s, done
}

// macroDefName reports whether line (without leading white space) has the
// shape of a macro definition start: an upper-case letter.
func isMacroLine(line string) bool {
	return line != "" && line[0] >= 'A' && line[0] <= 'Z'
}

// DefineMacroLine handles a line that starts with an upper-case letter as
// a macro definition ("NAME = value" or "NAME == value"), as Exim does in
// the configuration and for -be input lines. It returns the macro name,
// or an *Error with Exim's text ("malformed macro definition", ...).
func (c *Config) DefineMacroLine(line string) (string, error) {
	name, err := c.defineMacro(strings.TrimLeft(line, " \t"))
	if err != nil {
		return "", &Error{Msg: err.Error(), NoDie: true}
	}
	return name, nil
}

type macroErr struct {
	msg    string
	noLine bool
}

func (e *macroErr) Error() string { return e.msg }

func (c *Config) defineMacro(line string) (string, error) {
	i := 0
	for i < len(line) && isNameChar(line[i]) {
		i++
	}
	name := line[:i]
	rest := strings.TrimLeft(line[i:], " \t")
	redef := false
	switch {
	case strings.HasPrefix(rest, "=="):
		redef, rest = true, rest[2:]
	case strings.HasPrefix(rest, "="):
		rest = rest[1:]
	default:
		return "", &macroErr{msg: "malformed macro definition"}
	}
	value := strings.Trim(rest, " \t\r\n")
	if c.cmdline[name] {
		return name, nil
	}
	idx, exists := c.macroAt(name)
	if redef {
		if !exists {
			return "", &macroErr{msg: fmt.Sprintf("can't redefine an undefined macro %q", name), noLine: true}
		}
		c.setMacro(idx, value)
		return name, nil
	}
	if exists {
		return "", &macroErr{msg: fmt.Sprintf("macro %q is already defined (use \"==\" if you want to redefine it)", name), noLine: true}
	}
	for _, m := range c.Macros {
		if strings.Contains(name, m.Name) {
			return "", &macroErr{msg: fmt.Sprintf("%q cannot be defined as a macro because previously defined macro %q is a substring", name, m.Name), noLine: true}
		}
	}
	c.macroIndex[name] = len(c.Macros)
	c.Macros = append(c.Macros, Macro{Name: name, Value: value})
	return name, nil
}
