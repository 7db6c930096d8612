// Typed options: kinds, value parsing with Exim's error texts, canonical
// printing for -bP, and the OptionSet that holds one section's settings.
//
// Exim specification: chapter "The Exim runtime configuration file",
// sections "Boolean options" to "User and group names".
package config

import (
	"fmt"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Kind is the type of an option value.
type Kind uint8

// Option kinds, as the Exim specification names them.
const (
	KindString   Kind = iota // string, expanded string or list, kept raw
	KindBool                 // boolean
	KindInt                  // integer (K/M/G suffixes, 0x and 0 prefixes)
	KindMkInt                // integer printed with a K/M suffix when exact
	KindKInt                 // integer counted in kilobytes (check_spool_space)
	KindOctal                // octal integer (modes)
	KindFixed                // fixed-point number, three decimals
	KindTime                 // time interval (1h30m)
	KindTimeList             // colon-separated time intervals
	KindUID                  // user name or number
	KindGID                  // group name or number
	KindUIDList              // colon-separated users
	KindGIDList              // colon-separated groups
)

// optDef describes one option: its name, kind, and the line Exim's -bP
// prints while it is unset.
type optDef struct {
	name     string
	kind     Kind
	expanded bool
	hidden   bool // accepted, printed by name, but not in the full listing
	defLine  string
}

// Setting is one option as set in the file.
type Setting struct {
	Raw  string // value text after macro substitution ("true"/"false" for booleans)
	File string
	Line int

	b   bool
	n   int64 // integers, fixed-point (x1000), time (seconds), ids
	ids []int64
}

// OptionSet is the options of one section or driver instance: their
// definitions and what the file set.
type OptionSet struct {
	defs     []optDef
	index    map[string]int
	set      []*Setting
	defaults map[string]string
	// computed holds defaults Exim derives from other settings at start
	// (qualify_domain from primary_hostname, ...), as full -bP lines.
	computed map[string]string
}

// optTable is a list of option definitions with its name index. Tables
// are built once per process and shared by every configuration loaded:
// the index is never written after it is built.
type optTable struct {
	defs  []optDef
	index map[string]int
}

var (
	tablesMu sync.Mutex
	tables   = map[string]*optTable{}
)

// tableFor returns the table named key, building it from defs() the
// first time.
func tableFor(key string, defs func() []optDef) *optTable {
	tablesMu.Lock()
	defer tablesMu.Unlock()
	if t := tables[key]; t != nil {
		return t
	}
	d := defs()
	t := &optTable{defs: d, index: make(map[string]int, len(d))}
	for i, o := range d {
		t.index[o.name] = i
	}
	tables[key] = t
	return t
}

func newOptionSet(t *optTable, defaults map[string]string) *OptionSet {
	return &OptionSet{defs: t.defs, index: t.index, set: make([]*Setting, len(t.defs)), defaults: defaults}
}

// Has reports whether name is an option of this set.
func (s *OptionSet) Has(name string) bool { _, ok := s.index[name]; return ok }

// IsSet reports whether the configuration set name.
func (s *OptionSet) IsSet(name string) bool {
	i, ok := s.index[name]
	return ok && s.set[i] != nil
}

// Setting returns where and how name was set, or nil.
func (s *OptionSet) Setting(name string) *Setting {
	if i, ok := s.index[name]; ok {
		return s.set[i]
	}
	return nil
}

// String returns the value of a string option as set (raw, unexpanded),
// or Exim's default.
func (s *OptionSet) String(name string) string {
	i, ok := s.index[name]
	if !ok {
		return ""
	}
	if st := s.set[i]; st != nil {
		return st.Raw
	}
	return s.defaultValue(i)
}

// Bool returns the value of a boolean option.
func (s *OptionSet) Bool(name string) bool {
	i, ok := s.index[name]
	if !ok {
		return false
	}
	if st := s.set[i]; st != nil {
		return st.b
	}
	return !strings.HasPrefix(s.defLine(i), "no_")
}

// Int returns the value of an integer option (bytes for K-counted ones,
// thousandths for fixed-point, the id for users and groups), and whether
// it has a value.
func (s *OptionSet) Int(name string) (int64, bool) {
	i, ok := s.index[name]
	if !ok {
		return 0, false
	}
	if st := s.set[i]; st != nil {
		if s.defs[i].kind == KindKInt {
			return st.n * 1024, true
		}
		return st.n, true
	}
	v := s.defaultValue(i)
	if v == "" {
		return 0, false
	}
	st, err := parseValue(s.defs[i], v)
	if err != nil {
		return 0, false
	}
	if s.defs[i].kind == KindKInt {
		return st.n * 1024, true
	}
	return st.n, true
}

// Duration returns the value of a time option.
func (s *OptionSet) Duration(name string) time.Duration {
	n, _ := s.Int(name)
	return time.Duration(n) * time.Second
}

func (s *OptionSet) defLine(i int) string {
	if d, ok := s.computed[s.defs[i].name]; ok {
		return d
	}
	if d, ok := s.defaults[s.defs[i].name]; ok {
		return d
	}
	return s.defs[i].defLine
}

func (s *OptionSet) defaultValue(i int) string {
	l := s.defLine(i)
	if _, v, ok := strings.Cut(l, " = "); ok {
		return v
	}
	return ""
}

// Line returns the option as Exim's -bP prints it.
func (s *OptionSet) Line(name string) string {
	i := s.index[name]
	d := s.defs[i]
	st := s.set[i]
	if st == nil {
		return s.defLine(i)
	}
	return formatSetting(d, st)
}

// Names returns the option names in -bP order, without hidden ones.
func (s *OptionSet) Names() []string {
	names := make([]string, 0, len(s.defs))
	for _, d := range s.defs {
		if !d.hidden {
			names = append(names, d.name)
		}
	}
	return names
}

func formatSetting(d optDef, st *Setting) string {
	switch d.kind {
	case KindBool:
		if st.b {
			return d.name
		}
		return "no_" + d.name
	case KindInt:
		return d.name + " = " + strconv.FormatInt(st.n, 10)
	case KindMkInt:
		return d.name + " = " + formatUnits(st.n, 0, 2)
	case KindKInt:
		return d.name + " = " + formatUnits(st.n, 1, 4)
	case KindOctal:
		return d.name + " = " + fmt.Sprintf("%#o", st.n)
	case KindFixed:
		return d.name + " = " + formatFixed(st.n)
	case KindTime:
		return d.name + " = " + FormatTime(st.n)
	case KindTimeList:
		parts := strings.Split(st.Raw, ":")
		for i, p := range parts {
			if n, ok := parseTime(strings.TrimSpace(p)); ok {
				parts[i] = FormatTime(n)
			}
		}
		return d.name + " = " + strings.Join(parts, ":")
	case KindUID, KindGID:
		return d.name + " = " + idName(d.kind == KindUID, st.n)
	case KindUIDList, KindGIDList:
		names := make([]string, len(st.ids))
		for i, id := range st.ids {
			names[i] = idName(d.kind == KindUIDList, id)
		}
		if len(names) == 0 {
			return d.name + " ="
		}
		return d.name + " = " + strings.Join(names, ":")
	}
	return d.name + " = " + st.Raw
}

// formatUnits prints n (counted in units[start]) with the largest exact
// binary suffix up to units[max].
func formatUnits(n int64, start, max int) string {
	units := [...]string{"", "K", "M", "G", "T"}
	u := start
	for n != 0 && n%1024 == 0 && u < max {
		n /= 1024
		u++
	}
	return strconv.FormatInt(n, 10) + units[u]
}

func formatFixed(n int64) string {
	s := strconv.FormatInt(n/1000, 10) + "." + fmt.Sprintf("%03d", n%1000)
	s = strings.TrimRight(s, "0")
	if strings.HasSuffix(s, ".") {
		s += "0"
	}
	return s
}

// FormatTime prints seconds as Exim does (1w2d3h4m5s, 0s).
func FormatTime(n int64) string {
	if n == 0 {
		return "0s"
	}
	var b strings.Builder
	if n < 0 {
		b.WriteByte('-')
		n = -n
	}
	for _, u := range []struct {
		c byte
		s int64
	}{{'w', 604800}, {'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}} {
		if n >= u.s {
			b.WriteString(strconv.FormatInt(n/u.s, 10))
			b.WriteByte(u.c)
			n %= u.s
		}
	}
	return b.String()
}

// parseTime parses an Exim time interval: one or more number+unit pairs.
func parseTime(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var total int64
	for s != "" {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 || i == len(s) || i > 12 {
			return 0, false
		}
		v, _ := strconv.ParseInt(s[:i], 10, 64)
		var m int64
		switch s[i] {
		case 'w':
			m = 604800
		case 'd':
			m = 86400
		case 'h':
			m = 3600
		case 'm':
			m = 60
		case 's':
			m = 1
		default:
			return 0, false
		}
		total += v * m
		s = s[i+1:]
	}
	return total, true
}

// ParseTime parses an Exim time interval ("1h30m") into a duration.
func ParseTime(s string) (time.Duration, bool) {
	n, ok := parseTime(s)
	return time.Duration(n) * time.Second, ok
}

// parseInt parses Exim's integer syntax: optional sign, decimal, 0x hex
// or 0 octal, then an optional K/M/G/T suffix. limit is the largest
// absolute value allowed.
func parseInt(name, v string, limit int64, kunits bool) (int64, error) {
	s := v
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	base := 10
	i := 0
	switch {
	case len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && isHex(s[2]):
		base, s = 16, s[2:]
	case len(s) > 1 && s[0] == '0':
		base = 8
	}
	for i < len(s) && digitVal(s[i]) < base {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("integer expected for %s", name)
	}
	n, err := strconv.ParseInt(s[:i], base, 64)
	if err != nil {
		return 0, fmt.Errorf("absolute value of integer %q is too large (overflow)", v)
	}
	rest := s[i:]
	mult := int64(1)
	if rest != "" {
		switch rest[0] {
		case 'k', 'K':
			mult = 1 << 10
		case 'm', 'M':
			mult = 1 << 20
		case 'g', 'G':
			mult = 1 << 30
		case 't', 'T':
			mult = 1 << 40
		}
		if mult != 1 {
			rest = rest[1:]
		}
	}
	if strings.TrimLeft(rest, " \t") != "" {
		return 0, fmt.Errorf("extra characters follow integer value for %s", name)
	}
	if kunits {
		mult /= 1024
		if mult == 0 {
			mult = 1
		}
	}
	if n > limit/mult {
		return 0, fmt.Errorf("absolute value of integer %q is too large (overflow)", v)
	}
	n *= mult
	if neg {
		n = -n
	}
	return n, nil
}

func isHex(b byte) bool { return digitVal(b) < 16 }

func digitVal(b byte) int {
	switch {
	case b >= '0' && b <= '9':
		return int(b - '0')
	case b >= 'a' && b <= 'f':
		return int(b-'a') + 10
	case b >= 'A' && b <= 'F':
		return int(b-'A') + 10
	}
	return 99
}

func parseFixed(name, v string) (int64, error) {
	i := 0
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		i++
	}
	if i == 0 {
		if strings.HasPrefix(v, "-") {
			return 0, fmt.Errorf("integer %q is too large (overflow)", v)
		}
		return 0, fmt.Errorf("fixed-point number expected for %s", name)
	}
	if i > 9 {
		return 0, fmt.Errorf("integer %q is too large (overflow)", v)
	}
	n, _ := strconv.ParseInt(v[:i], 10, 64)
	n *= 1000
	rest := v[i:]
	if strings.HasPrefix(rest, ".") {
		rest = rest[1:]
		mult := int64(100)
		for len(rest) > 0 && rest[0] >= '0' && rest[0] <= '9' {
			n += int64(rest[0]-'0') * mult
			mult /= 10
			rest = rest[1:]
		}
	}
	if strings.TrimLeft(rest, " \t") != "" {
		return 0, fmt.Errorf("extra characters follow fixed-point value for %s", name)
	}
	return n, nil
}

// lookupID resolves a user or group name (or number) as Exim does at
// configuration time.
func lookupID(isUser bool, v string) (int64, error) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return n, nil
	}
	if isUser {
		u, err := user.Lookup(v)
		if err != nil {
			return 0, fmt.Errorf("user %s was not found", v)
		}
		n, _ := strconv.ParseInt(u.Uid, 10, 64)
		return n, nil
	}
	g, err := user.LookupGroup(v)
	if err != nil {
		return 0, fmt.Errorf("group %s was not found", v)
	}
	n, _ := strconv.ParseInt(g.Gid, 10, 64)
	return n, nil
}

func idName(isUser bool, id int64) string {
	s := strconv.FormatInt(id, 10)
	if isUser {
		if u, err := user.LookupId(s); err == nil {
			return u.Username
		}
		return s
	}
	if g, err := user.LookupGroupId(s); err == nil {
		return g.Name
	}
	return s
}

// parseValue converts the value text of a non-boolean option.
func parseValue(d optDef, v string) (*Setting, error) {
	st := &Setting{Raw: v}
	var err error
	switch d.kind {
	case KindInt:
		st.n, err = parseInt(d.name, v, 1<<31-1, false)
	case KindMkInt:
		st.n, err = parseInt(d.name, v, 1<<31-1, false)
	case KindKInt:
		st.n, err = parseInt(d.name, v, 1<<62, true)
	case KindOctal:
		st.n, err = parseOctal(d.name, v)
	case KindFixed:
		st.n, err = parseFixed(d.name, v)
	case KindTime:
		var ok bool
		if st.n, ok = parseTime(v); !ok {
			err = fmt.Errorf("invalid time value for %s", d.name)
		}
	case KindTimeList:
		last := int64(-1)
		for _, p := range strings.Split(v, ":") {
			n, ok := parseTime(strings.TrimSpace(p))
			if !ok {
				return nil, fmt.Errorf("invalid time value for %s", d.name)
			}
			if n <= last {
				return nil, fmt.Errorf("time value out of order for %s", d.name)
			}
			last = n
		}
	case KindUID, KindGID:
		if strings.ContainsRune(v, '$') {
			d.kind = KindString
			return st, nil
		}
		st.n, err = lookupID(d.kind == KindUID, v)
	case KindUIDList, KindGIDList:
		for _, p := range strings.Split(v, ":") {
			p = strings.TrimSpace(p)
			if p == "" {
				continue
			}
			id, e := lookupID(d.kind == KindUIDList, p)
			if e != nil {
				return nil, e
			}
			st.ids = append(st.ids, id)
		}
	}
	if err != nil {
		return nil, err
	}
	return st, nil
}

func parseOctal(name, v string) (int64, error) {
	i := 0
	for i < len(v) && v[i] >= '0' && v[i] <= '7' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("integer expected for %s", name)
	}
	if strings.TrimLeft(v[i:], " \t") != "" {
		return 0, fmt.Errorf("extra characters follow integer value for %s", name)
	}
	n, err := strconv.ParseInt(v[:i], 8, 64)
	if err != nil || n > 1<<31-1 {
		return 0, fmt.Errorf("absolute value of integer %q is too large (overflow)", v)
	}
	return n, nil
}
