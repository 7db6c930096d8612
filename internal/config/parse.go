// Section parsing: the main section, "begin" lines, driver instances,
// named lists, and the -bP config rendering of each line.
//
// Exim specification: chapters "The Exim runtime configuration file",
// "Main configuration", "Generic options for routers", "Generic options
// for transports", "SMTP authentication".
package config

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"

	"github.com/exigo-mta/exigo/internal/lists"
)

// Driver is one router, transport or authenticator instance.
type Driver struct {
	// Kind is "router", "transport" or "authenticator".
	Kind string
	// Name is the instance name; Driver the driver ("accept", "smtp").
	Name, Driver string
	// File and Line locate the "name:" line.
	File string
	Line int
	// Options holds the generic and private options.
	Options *OptionSet
}

// NamedList is a domainlist, hostlist, addresslist or localpartlist.
type NamedList struct {
	// Kind is "domain", "host", "address" or "localpart".
	Kind  string
	Name  string
	Value string // raw, separators kept
	Cache bool   // the _cache form was used
	File  string
	Line  int
}

var listKinds = map[string]string{"domainlist": "domain", "hostlist": "host", "addresslist": "address", "localpartlist": "localpart"}

var listKindWords = map[string]string{"domain": "domain", "host": "host", "address": "address", "localpart": "local part"}

// NamedList returns the named list of kind ("domain", "host", "address",
// "localpart") called name, or nil.
func (c *Config) NamedList(kind, name string) *NamedList {
	for _, l := range c.Lists {
		if l.Kind == kind && l.Name == name {
			return l
		}
	}
	return nil
}

// ListNamed is NamedList in the terms of package lists, for its
// Env.NamedList: the "+name" items of lists.
func (c *Config) ListNamed(k lists.Kind, name string) (lists.Named, bool) {
	kind := "localpart"
	switch k {
	case lists.DomainList:
		kind = "domain"
	case lists.HostList:
		kind = "host"
	case lists.AddressList:
		kind = "address"
	}
	nl := c.NamedList(kind, name)
	if nl == nil {
		return lists.Named{}, false
	}
	return lists.Named{Value: nl.Value, Cache: nl.Cache}, true
}

// Router returns the router instance called name, or nil.
func (c *Config) Router(name string) *Driver { return findDriver(c.Routers, name) }

// Transport returns the transport instance called name, or nil.
func (c *Config) Transport(name string) *Driver { return findDriver(c.Transports, name) }

// Authenticator returns the authenticator instance called name, or nil.
func (c *Config) Authenticator(name string) *Driver { return findDriver(c.Authenticators, name) }

func findDriver(ds []*Driver, name string) *Driver {
	for _, d := range ds {
		if d.Name == name {
			return d
		}
	}
	return nil
}

type driverDef struct {
	name     string
	defaults map[string]string
	private  []optDef
}

type parser struct {
	c       *Config
	r       *reader
	section string
	cur     *Driver
	acl     *ACL
	// pastMain is set once a "begin" line ends the main section.
	pastMain bool
	// beginLine is where the current section began.
	beginLine int
}

var sectionNames = map[string]bool{"acl": true, "routers": true, "transports": true, "authenticators": true, "retry": true, "rewrite": true, "local_scan": true}

func parse(path string, data []byte, opts Options) (*Config, error) {
	c := newConfig(path, opts)
	p := &parser{c: c, r: &reader{c: c}}
	p.r.files = []*srcFile{{name: path, data: data}}
	c.Lines = append(c.Lines, "# Exim Configuration (4.96)", "# 1 \""+path+"\"")
	fail := func(err error) (*Config, error) {
		if p.pastMain {
			// The main section was complete: Exim had already acted on it.
			return c, err
		}
		return nil, err
	}
	for {
		lg, ok, err := p.r.next()
		if err != nil {
			return fail(err)
		}
		if !ok {
			break
		}
		if err := p.line(lg); err != nil {
			return fail(err)
		}
	}
	if err := p.endSection(); err != nil {
		return fail(err)
	}
	c.deriveDefaults()
	return c, nil
}

// deriveDefaults sets the defaults Exim computes at start: the host name
// from uname, and the qualify domains from it (spec "Main
// configuration", primary_hostname, qualify_domain, qualify_recipient).
func (c *Config) deriveDefaults() {
	m := c.Main
	m.computed = map[string]string{}
	host := m.String("primary_hostname")
	if !m.IsSet("primary_hostname") {
		host, _ = os.Hostname()
		m.computed["primary_hostname"] = "primary_hostname = " + host
	}
	qd := m.String("qualify_domain")
	if !m.IsSet("qualify_domain") {
		qd = host
		m.computed["qualify_domain"] = "qualify_domain = " + qd
	}
	if !m.IsSet("qualify_recipient") {
		m.computed["qualify_recipient"] = "qualify_recipient = " + qd
	}
	for _, d := range c.Routers {
		o := d.Options
		if d.Driver == "queryprogram" && o.IsSet("command_user") && !o.IsSet("command_group") {
			// The group defaults to the command user's primary group.
			if st := o.Setting("command_user"); st.n >= 0 {
				if u, err := user.LookupId(strconv.FormatInt(st.n, 10)); err == nil {
					if g, err := user.LookupGroupId(u.Gid); err == nil {
						o.computed = map[string]string{"command_group": "command_group = " + g.Name}
					}
				}
			}
		}
	}
	for _, d := range c.Routers {
		derivedRouter(d)
	}
	for _, d := range c.Transports {
		derivedTransport(d)
	}
	for _, d := range c.Authenticators {
		o := d.Options
		if d.Driver == "cyrus_sasl" && !o.IsSet("server_mech") {
			o.computed = map[string]string{"server_mech": "server_mech = " + o.String("public_name")}
		}
	}
}

func (p *parser) errAt(lg logical, msg string) *Error {
	return &Error{File: lg.file, Line: lg.line, Msg: msg}
}

// collapse turns runs of white space into one space, as -bP config does.
func collapse(s string) string {
	if !strings.ContainsAny(s, "\t") && !strings.Contains(s, "  ") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\t' {
			c = ' '
		}
		if c == ' ' && len(b) > 0 && b[len(b)-1] == ' ' {
			continue
		}
		b = append(b, c)
	}
	return string(b)
}

func (p *parser) line(lg logical) error {
	t := lg.text
	if strings.HasPrefix(t, "begin") && (len(t) == 5 || t[5] == ' ' || t[5] == '\t') {
		return p.begin(lg)
	}
	if isMacroLine(t) && p.section != "retry" && p.section != "rewrite" && !(p.section != "" && isInstanceHeader(t)) {
		indent := ""
		if p.cur != nil || p.acl != nil {
			indent = "    "
		} else if p.section != "" {
			indent = lg.indent
		}
		p.c.Lines = append(p.c.Lines, indent+collapse(t))
		if _, err := p.c.defineMacro(t); err != nil {
			me := err.(*macroErr)
			if me.noLine {
				return &Error{Msg: me.msg, NoDie: true}
			}
			return p.errAt(lg, me.msg)
		}
		return nil
	}
	switch p.section {
	case "":
		p.c.Lines = append(p.c.Lines, collapse(t))
		return p.mainLine(lg)
	case "routers", "transports", "authenticators":
		return p.driverLine(lg)
	case "acl":
		return p.aclLine(lg)
	case "retry":
		p.c.Lines = append(p.c.Lines, "  "+collapse(t))
		return p.retryLine(lg)
	case "rewrite":
		p.c.Lines = append(p.c.Lines, "  "+collapse(t))
		return p.rewriteLine(lg)
	case "local_scan":
		lg.line = p.beginLine
		return p.errAt(lg, "local_scan() options not supported: (LOCAL_SCAN_HAS_OPTIONS not defined in Local/Makefile)")
	}
	return nil
}

func (p *parser) begin(lg logical) error {
	p.pastMain = true
	p.beginLine = lg.line
	name := strings.TrimSpace(lg.text[5:])
	if !sectionNames[name] {
		return p.errAt(lg, fmt.Sprintf("%q is not a known configuration section name", name))
	}
	if p.c.sections[name] {
		return p.errAt(lg, fmt.Sprintf("%q section is repeated in the configuration file", name))
	}
	if err := p.endSection(); err != nil {
		return err
	}
	p.c.sections[name] = true
	p.section = name
	p.c.Lines = append(p.c.Lines, "", "begin "+name)
	return nil
}

// word returns the leading option-name word of s and the rest.
func word(s string) (string, string) {
	i := 0
	for i < len(s) && isNameChar(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

func (p *parser) mainLine(lg logical) error {
	t := lg.text
	w, rest := word(t)
	if w == "hide" && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
		t = strings.TrimLeft(rest, " \t")
		w, rest = word(t)
	}
	if kind, ok := listKinds[strings.TrimSuffix(w, "_cache")]; ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
		return p.namedList(lg, kind, strings.HasSuffix(w, "_cache"), strings.TrimLeft(rest, " \t"))
	}
	if w == "" {
		return p.errAt(lg, "option setting expected: "+t)
	}
	return p.setOption(lg, p.c.Main, w, rest, "main option %q unknown")
}

func (p *parser) namedList(lg logical, kind string, cache bool, s string) error {
	name, rest := word(s)
	rest = strings.TrimLeft(rest, " \t")
	if !strings.HasPrefix(rest, "=") {
		return p.errAt(lg, fmt.Sprintf("missing '=' after %q", name))
	}
	if p.c.NamedList(kind, name) != nil {
		return p.errAt(lg, fmt.Sprintf("duplicate name %q for a named %s list", name, listKindWords[kind]))
	}
	p.c.Lists = append(p.c.Lists, &NamedList{Kind: kind, Name: name, Value: strings.TrimSpace(rest[1:]), Cache: cache, File: lg.file, Line: lg.line})
	return nil
}

// setOption parses "name [= value]" (after the name word) into set.
// unknownFmt is the error format for an unknown name.
func (p *parser) setOption(lg logical, set *OptionSet, name, rest, unknownFmt string) error {
	negated := false
	i, ok := set.index[name]
	if !ok {
		for _, pre := range []string{"no_", "not_"} {
			if strings.HasPrefix(name, pre) {
				if j, ok2 := set.index[name[len(pre):]]; ok2 {
					i, ok, negated = j, true, true
					break
				}
			}
		}
	}
	if !ok {
		return p.errAt(lg, fmt.Sprintf(unknownFmt, name))
	}
	if set.set[i] != nil {
		return p.errAt(lg, fmt.Sprintf("%q option set for the second time", name))
	}
	d := set.defs[i]
	if negated && d.kind != KindBool {
		return p.errAt(lg, "negation prefix applied to a non-boolean option")
	}
	rest = strings.TrimLeft(rest, " \t")
	hasEq := strings.HasPrefix(rest, "=")
	if hasEq {
		rest = strings.TrimLeft(rest[1:], " \t")
	}
	if d.kind == KindBool {
		val := true
		if hasEq || rest != "" {
			j := 0
			for j < len(rest) && (rest[j] >= 'a' && rest[j] <= 'z' || rest[j] >= 'A' && rest[j] <= 'Z') {
				j++
			}
			wd := rest[:j]
			switch strings.ToLower(wd) {
			case "true", "yes":
			case "false", "no":
				val = false
			case "":
				if rest != "" {
					return p.errAt(lg, fmt.Sprintf("%q is not a valid value for the %q option", wd, d.name))
				}
			default:
				return p.errAt(lg, fmt.Sprintf("%q is not a valid value for the %q option", wd, d.name))
			}
		}
		if negated {
			val = !val
		}
		raw := "true"
		if !val {
			raw = "false"
		}
		set.set[i] = &Setting{Raw: raw, b: val, File: lg.file, Line: lg.line}
		return nil
	}
	if rest == "" && !hasEq {
		return p.errAt(lg, "unexpected end of line (data missing) after "+name)
	}
	if strings.HasPrefix(rest, "\"") {
		rest = unquote(rest)
	}
	st, err := parseValue(d, rest)
	if err != nil {
		return p.errAt(lg, err.Error())
	}
	st.File, st.Line = lg.file, lg.line
	set.set[i] = st
	return nil
}

func (p *parser) endSection() error {
	switch p.section {
	case "routers", "transports", "authenticators":
		if err := p.endDriver(); err != nil {
			return err
		}
		list := p.drivers()
		seen := map[string]bool{}
		for _, d := range *list {
			if seen[d.Name] {
				return &Error{Msg: fmt.Sprintf("there are two %ss called %q", d.Kind, d.Name)}
			}
			seen[d.Name] = true
		}
		for _, d := range *list {
			if err := checkDriver(d); err != nil {
				return err
			}
		}
	case "acl":
		p.acl = nil
	}
	return nil
}

func (p *parser) drivers() *[]*Driver {
	switch p.section {
	case "routers":
		return &p.c.Routers
	case "transports":
		return &p.c.Transports
	}
	return &p.c.Authenticators
}

func (p *parser) kind() string { return strings.TrimSuffix(p.section, "s") }

func driverTable(kind string) ([]optDef, []driverDef) {
	switch kind {
	case "router":
		return routerGeneric, routerDrivers
	case "transport":
		return transportGeneric, transportDrivers
	}
	return authenticatorGeneric, authenticatorDrivers
}

func (p *parser) driverLine(lg logical) error {
	t := lg.text
	w, rest := word(t)
	if r := strings.TrimLeft(rest, " \t"); w != "" && r == ":" {
		if err := p.endDriver(); err != nil {
			return err
		}
		kind := p.kind()
		generic := tableFor(kind, func() []optDef { g, _ := driverTable(kind); return g })
		p.cur = &Driver{Kind: kind, Name: w, File: lg.file, Line: lg.line, Options: newOptionSet(generic, nil)}
		*p.drivers() = append(*p.drivers(), p.cur)
		p.nameLine(w)
		return nil
	}
	if p.cur == nil {
		return p.errAt(lg, p.kind()+" name missing")
	}
	p.c.Lines = append(p.c.Lines, "    "+collapse(t))
	d := p.cur
	if w == "driver" && d.Driver == "" {
		v := strings.TrimLeft(rest, " \t")
		v = strings.TrimSpace(strings.TrimPrefix(v, "="))
		generic, defs := driverTable(d.Kind)
		var dd *driverDef
		for i := range defs {
			if defs[i].name == v {
				dd = &defs[i]
			}
		}
		if dd == nil {
			return p.errAt(lg, fmt.Sprintf("%s %s: cannot find %s driver %q", d.Kind, d.Name, d.Kind, v))
		}
		d.Driver = v
		all := tableFor(d.Kind+"/"+v, func() []optDef {
			return append(append(make([]optDef, 0, len(generic)+len(dd.private)), generic...), dd.private...)
		})
		old := d.Options
		d.Options = newOptionSet(all, dd.defaults)
		copy(d.Options.set, old.set)
	}
	if !d.Options.Has(w) && d.Driver == "" && w != "" {
		if _, defs := driverTable(d.Kind); isPrivate(defs, w) {
			return p.errAt(lg, fmt.Sprintf("option %q unknown (\"driver\" must be specified before any private options)", w))
		}
	}
	return p.setOption(lg, d.Options, w, rest, "option %q unknown")
}

func isPrivate(defs []driverDef, name string) bool {
	for _, d := range defs {
		for _, o := range d.private {
			if o.name == name || "no_"+o.name == name || "not_"+o.name == name {
				return true
			}
		}
	}
	return false
}

func (p *parser) endDriver() error {
	d := p.cur
	p.cur = nil
	if d == nil {
		return nil
	}
	if d.Driver == "" {
		return &Error{Msg: fmt.Sprintf("no driver defined for %s %q", d.Kind, d.Name)}
	}
	return nil
}

// checkDriver reproduces the checks Exim makes when it sets up a driver
// instance (each driver chapter of the spec).
func checkDriver(d *Driver) error {
	o := d.Options
	who := d.Name + " " + d.Kind
	switch d.Kind + "/" + d.Driver {
	case "router/accept", "router/dnslookup", "router/ipliteral":
		// a verify_only router never delivers (observed with Exim 4.96)
		if !o.IsSet("transport") && !o.Bool("verify_only") {
			return &Error{Driver: who, Split: true, Msg: "a transport is required for this router"}
		}
	case "router/manualroute":
		if o.IsSet("route_list") == o.IsSet("route_data") {
			return &Error{Driver: who, Msg: "route_list or route_data (but not both) must be specified"}
		}
	case "router/redirect":
		if o.IsSet("file") == o.IsSet("data") {
			return &Error{Driver: who, Msg: "one of \"file\" or \"data\" must be specified"}
		}
	case "router/queryprogram":
		if !o.IsSet("command") {
			return &Error{Driver: who, Msg: "a command specification is required"}
		}
	case "router/iplookup":
		if n, _ := o.Int("port"); n == 0 {
			return &Error{Driver: who, Msg: "a port must be specified"}
		}
	case "transport/lmtp":
		if o.IsSet("command") == o.IsSet("socket") {
			return &Error{Msg: "one (and only one) of command or socket must be set for the " + d.Name + " transport"}
		}
	}
	return nil
}

// unquote interprets a double-quoted option value: the text up to the
// closing quote, with backslash escapes (\\, \", \n, \t, \r, \ooo,
// \xhh) replaced (spec "String options").
func unquote(s string) string {
	b := make([]byte, 0, len(s))
	for i := 1; i < len(s); i++ {
		c := s[i]
		if c == '"' {
			break
		}
		if c != '\\' || i+1 >= len(s) {
			b = append(b, c)
			continue
		}
		i++
		switch c = s[i]; {
		case c == 'n':
			b = append(b, '\n')
		case c == 't':
			b = append(b, '\t')
		case c == 'r':
			b = append(b, '\r')
		case c >= '0' && c <= '7':
			v, j := 0, 0
			for ; j < 3 && i+j < len(s) && s[i+j] >= '0' && s[i+j] <= '7'; j++ {
				v = v*8 + int(s[i+j]-'0')
			}
			b = append(b, byte(v))
			i += j - 1
		case c == 'x' && i+1 < len(s) && isHex(s[i+1]):
			v, j := 0, 1
			for ; j < 3 && i+j < len(s) && isHex(s[i+j]); j++ {
				v = v*16 + digitVal(s[i+j])
			}
			b = append(b, byte(v))
			i += j - 1
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

func (o *OptionSet) compute(name, line string) {
	if o.IsSet(name) {
		return
	}
	if o.computed == nil {
		o.computed = map[string]string{}
	}
	o.computed[name] = line
}

// derivedRouter applies the router defaults that depend on other options
// (spec "Generic options for routers": verify, fail_verify,
// retry_use_local_part; "The redirect router": check_owner).
func derivedRouter(d *Driver) {
	o := d.Options
	boolLine := func(name string, v bool) string {
		if v {
			return name
		}
		return "no_" + name
	}
	if o.IsSet("verify") {
		v := o.Bool("verify")
		o.compute("verify_recipient", boolLine("verify_recipient", v))
		o.compute("verify_sender", boolLine("verify_sender", v))
	}
	if o.IsSet("fail_verify") {
		v := o.Bool("fail_verify")
		o.compute("fail_verify_recipient", boolLine("fail_verify_recipient", v))
		o.compute("fail_verify_sender", boolLine("fail_verify_sender", v))
	}
	for _, n := range []string{"check_local_user", "local_parts", "condition", "local_part_prefix", "local_part_suffix", "senders", "require_files"} {
		if o.IsSet(n) && (n != "check_local_user" || o.Bool(n)) {
			o.compute("retry_use_local_part", "retry_use_local_part")
		}
	}
	if o.Bool("check_local_user") {
		if d.Driver == "redirect" {
			o.compute("check_owner", "check_owner")
		}
	}
}

// derivedTransport applies the appendfile defaults that depend on the
// mailbox format (spec "The appendfile transport").
func derivedTransport(d *Driver) {
	o := d.Options
	if d.Driver != "appendfile" {
		return
	}
	if o.Bool("maildir_format") || o.Bool("mailstore_format") || o.Bool("use_bsmtp") {
		for _, n := range []string{"check_string", "escape_string", "message_prefix", "message_suffix"} {
			if !o.Bool("use_bsmtp") || n == "check_string" || n == "escape_string" {
				o.compute(n, n+" = ")
			}
		}
	}
}

// isInstanceHeader reports whether a line names a driver instance or an
// ACL ("NAME:" alone): after "begin", Exim takes such a line as a header
// even when the name starts with an upper-case letter, where elsewhere it
// would be a malformed macro definition.
func isInstanceHeader(t string) bool {
	i := 0
	for i < len(t) && isNameChar(t[i]) {
		i++
	}
	if i == 0 {
		return false
	}
	return strings.TrimSpace(t[i:]) == ":"
}
