// The line reader: physical lines, macro substitution, the .ifdef family,
// .include, comments and continuation lines, giving logical lines.
//
// Exim specification: chapter "The Exim runtime configuration file",
// sections "Including other files", "Macro substitution", "Conditional
// skips in the configuration file" and "Common option syntax".
package config

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

type srcFile struct {
	name string
	data []byte
	pos  int
	line int
}

// condState is one open .ifdef: whether its branch is being read, whether
// some branch was already taken, and whether .else was seen.
type condState struct {
	active, taken, sawElse, parentActive bool
}

type reader struct {
	c     *Config
	files []*srcFile
	conds []condState
	// last file and line read, for errors at end of input.
	lastFile string
	lastLine int
}

// logical is one logical configuration line.
type logical struct {
	text   string
	indent string // leading white space of the first physical line
	file   string
	line   int
	// last is the line number of its last physical line (the same as
	// line unless it was continued with "\\").
	last int
}

func (r *reader) top() *srcFile { return r.files[len(r.files)-1] }

// physical returns the next physical line of the current file, without
// the newline and trailing white space.
func (r *reader) physical() (string, bool) {
	for len(r.files) > 0 {
		f := r.top()
		if f.pos >= len(f.data) {
			if len(r.files) > 1 {
				r.files = r.files[:len(r.files)-1]
				p := r.top()
				r.c.Lines = append(r.c.Lines, "# "+strconv.Itoa(p.line)+" \""+p.name+"\"")
				continue
			}
			return "", false
		}
		end := f.pos
		for end < len(f.data) && f.data[end] != '\n' {
			end++
		}
		line := string(f.data[f.pos:end])
		f.pos = end + 1
		f.line++
		r.lastFile, r.lastLine = f.name, f.line
		return strings.TrimRight(line, " \t\r"), true
	}
	return "", false
}

func (r *reader) active() bool {
	return len(r.conds) == 0 || r.conds[len(r.conds)-1].active
}

func (r *reader) errf(msg string) *Error {
	return &Error{File: r.lastFile, Line: r.lastLine, Msg: msg}
}

// next returns the next logical line, or ok=false at the end of input.
func (r *reader) next() (logical, bool, error) {
	for {
		raw, ok := r.physical()
		if !ok {
			if len(r.conds) > 0 {
				return logical{}, false, r.errf("Unexpected end of configuration file: .endif missing")
			}
			return logical{}, false, nil
		}
		line, subst, err := r.subst(raw)
		if err != nil {
			return logical{}, false, err
		}
		t := strings.TrimLeft(line, " \t")
		if strings.HasPrefix(t, ".") {
			handled, err := r.directive(t, subst)
			if err != nil {
				return logical{}, false, err
			}
			if handled {
				continue
			}
		}
		if !r.active() || t == "" || t[0] == '#' {
			continue
		}
		f := r.top()
		lg := logical{text: t, indent: line[:len(line)-len(t)], file: f.name, line: f.line, last: f.line}
		for strings.HasSuffix(lg.text, "\\") {
			lg.text = lg.text[:len(lg.text)-1]
			more, ok := r.physical()
			if !ok {
				break
			}
			if r.lastFile == lg.file {
				lg.last = r.lastLine
			}
			more, _, err = r.subst(more)
			if err != nil {
				return logical{}, false, err
			}
			more = strings.TrimLeft(more, " \t")
			if more == "" {
				break
			}
			lg.text += more
		}
		return lg, true, nil
	}
}

// subst applies macros to a physical line. A line that defines a macro
// has only its value substituted.
func (r *reader) subst(raw string) (string, bool, error) {
	t := strings.TrimLeft(raw, " \t")
	if isMacroLine(t) {
		i := 0
		for i < len(t) && isNameChar(t[i]) {
			i++
		}
		rest := strings.TrimLeft(t[i:], " \t")
		if strings.HasPrefix(rest, "=") {
			v, done := r.c.substitute(t[i:])
			return raw[:len(raw)-len(t)] + t[:i] + strings.TrimRight(v, " \t"), done, nil
		}
	}
	v, done := r.c.substitute(raw)
	if done {
		v = strings.TrimRight(v, " \t")
	}
	return v, done, nil
}

// directive handles a line starting with "."; it reports false for an
// unknown directive, which is then an ordinary (bad) line.
func (r *reader) directive(t string, subst bool) (bool, error) {
	word := t[1:]
	arg := ""
	if i := strings.IndexAny(word, " \t"); i >= 0 {
		word, arg = word[:i], strings.TrimSpace(word[i:])
	}
	switch word {
	case "ifdef", "ifndef":
		on := subst == (word == "ifdef")
		parent := r.active()
		r.conds = append(r.conds, condState{active: parent && on, taken: on, parentActive: parent})
	case "elifdef", "elifndef":
		if len(r.conds) == 0 {
			return true, r.errf("." + word + " without matching .ifdef")
		}
		cs := &r.conds[len(r.conds)-1]
		on := subst == (word == "elifdef")
		cs.active = cs.parentActive && !cs.taken && on
		cs.taken = cs.taken || on
	case "else":
		if len(r.conds) == 0 {
			return true, r.errf(".else without matching .ifdef")
		}
		cs := &r.conds[len(r.conds)-1]
		cs.active = cs.parentActive && !cs.taken
		cs.taken = true
		cs.sawElse = true
	case "endif":
		if len(r.conds) == 0 {
			return true, r.errf(".endif without matching .ifdef")
		}
		r.conds = r.conds[:len(r.conds)-1]
	case "include", "include_if_exists":
		if !r.active() {
			return true, nil
		}
		return true, r.include(arg, word == "include_if_exists")
	default:
		return false, nil
	}
	return true, nil
}

func (r *reader) include(name string, ifExists bool) error {
	if len(name) >= 2 && name[0] == '"' && name[len(name)-1] == '"' {
		name = name[1 : len(name)-1]
	}
	if name == "" {
		return nil
	}
	if !filepath.IsAbs(name) {
		name = filepath.Join(filepath.Dir(r.files[0].name), name)
	}
	if len(r.files) >= maxIncludeDepth {
		// Exim gives up on a loop with the same text.
		return r.errf("failed to open included configuration file " + name)
	}
	data, err := os.ReadFile(name)
	if err != nil {
		if ifExists {
			return nil
		}
		return r.errf("failed to open included configuration file " + name)
	}
	p := r.top()
	r.c.Lines = append(r.c.Lines, "# "+strconv.Itoa(p.line)+" \""+p.name+"\"", "# 1 \""+name+"\"")
	r.files = append(r.files, &srcFile{name: name, data: data})
	return nil
}
