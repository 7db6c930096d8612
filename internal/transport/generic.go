// Generic transport options (Exim specification chapter "Generic options
// for transports") and the expansion context a transport runs in.

package transport

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/userdb"
)

// generic holds what every transport shares: its configuration and the
// main options it needs.
type generic struct {
	name, driver string
	cfg          *config.Config
	opts         *config.OptionSet
	hostname     string // primary_hostname
	qualify      string // qualify_domain
	shadow       Transport
}

func newGeneric(cfg *config.Config, d *config.Driver) (*generic, error) {
	g := &generic{name: d.Name, driver: d.Driver, cfg: cfg, opts: d.Options}
	g.hostname = cfg.Main.String("primary_hostname")
	if g.hostname == "" {
		g.hostname, _ = os.Hostname()
	}
	g.qualify = cfg.Main.String("qualify_domain")
	if g.qualify == "" {
		g.qualify = g.hostname
	}
	if g.opts.Bool("body_only") && g.opts.Bool("headers_only") {
		return nil, &config.Error{Driver: d.Name + " transport", Msg: "body_only and headers_only are mutually exclusive"}
	}
	return g, nil
}

// withShadow builds the shadow transport (spec "Generic options for
// transports", shadow_transport): one level only, local transports only.
func (g *generic) withShadow() error {
	name := g.opts.String("shadow_transport")
	if name == "" {
		return nil
	}
	sd := g.cfg.Transport(name)
	if sd == nil {
		return &config.Error{Driver: g.name + " transport", Msg: fmt.Sprintf("shadow transport \"%s\" not found", name)}
	}
	sg, err := newGeneric(g.cfg, sd)
	if err != nil {
		return err
	}
	var st Transport
	switch sd.Driver {
	case "appendfile":
		st, err = newAppendfile(sg)
	case "pipe":
		st, err = newPipe(sg)
	case "autoreply":
		st, err = newAutoreply(sg)
	case "lmtp":
		st, err = newLMTP(sg)
	default:
		return &config.Error{Driver: g.name + " transport", Msg: fmt.Sprintf("shadow transport \"%s\" is not a local transport", name)}
	}
	if err != nil {
		return err
	}
	g.shadow = st
	return nil
}

// Name implements Transport.
func (g *generic) Name() string { return g.name }

// Driver implements Transport.
func (g *generic) Driver() string { return g.driver }

// env is the expansion environment of one transport run: the delivery's
// context with the transport's own variables layered over it.
type env struct {
	ctx  expand.Context
	vars expand.VarMap
	// returnPathSet says the return_path option replaced $return_path.
	returnPathSet bool
}

// overlay layers vars over a next Vars.
type overlay struct {
	vars expand.VarMap
	next expand.Vars
}

func (o overlay) Var(name string) (string, bool) {
	if v, ok := o.vars[name]; ok {
		return v, true
	}
	if o.next == nil {
		return "", false
	}
	return o.next.Var(name)
}

// newEnv returns the expansion environment for d, with $transport_name,
// $return_path, $home and the address variables set.
func (g *generic) newEnv(d *Delivery) *env {
	e := &env{vars: expand.VarMap{}}
	if d.Ctx != nil {
		e.ctx = *d.Ctx
	}
	if e.ctx.Now == nil {
		e.ctx.Now = d.now
	}
	e.ctx.Vars = overlay{vars: e.vars, next: e.ctx.Vars}
	e.vars["transport_name"] = g.name
	if d.Router != "" {
		e.vars["router_name"] = d.Router
	}
	if d.Header != nil {
		if _, ok := e.get("return_path"); !ok {
			e.vars["return_path"] = d.Header.Sender
		}
		if _, ok := e.get("sender_address"); !ok {
			e.vars["sender_address"] = d.Header.Sender
		}
		if _, ok := e.get("message_exim_id"); !ok {
			e.vars["message_exim_id"] = string(d.Header.ID)
			e.vars["message_id"] = string(d.Header.ID)
		}
	}
	if len(d.Hosts) > 0 {
		// A local transport's $host is the host list a manualroute
		// router passed (the smtp transport sets it per host).
		e.vars["host"] = d.Hosts[0].Name
	}
	if len(d.Addresses) == 1 {
		a := d.Addresses[0]
		if _, ok := e.get("local_part"); !ok {
			e.vars["local_part"] = a.LocalPart
			e.vars["domain"] = a.Domain
		}
		if a.Home != "" {
			if _, ok := e.get("home"); !ok {
				e.vars["home"] = a.Home
			}
		}
		if a.Pipe != "" {
			e.vars["address_pipe"] = a.Pipe
		}
		if a.File != "" {
			e.vars["address_file"] = a.File
		}
	}
	return e
}

func (e *env) get(name string) (string, bool) {
	if e.ctx.Vars == nil {
		return "", false
	}
	return e.ctx.Vars.Var(name)
}

// expand expands s in e.
func (e *env) expand(s string) (string, error) {
	return expand.String(s, &e.ctx)
}

// expandOpt expands the option name of g for an error text of Exim's
// shape: `Failed to expand NAME in T transport: MSG`.
func (g *generic) expandOpt(e *env, name string) (string, error) {
	raw := g.opts.String(name)
	if raw == "" {
		return "", nil
	}
	v, err := e.expand(raw)
	if err != nil {
		return "", &optError{name: name, transport: g.name, raw: raw, err: err}
	}
	return v, nil
}

// optError is an expansion failure of an option.
type optError struct {
	name, transport, raw string
	err                  error
}

func (o *optError) Error() string {
	return fmt.Sprintf("Failed to expand %s (%s) in %s transport: %s", o.name, o.raw, o.transport, o.err)
}

func (o *optError) Unwrap() error { return o.err }

// forced reports whether err is a forced expansion failure.
func forced(err error) bool { return expand.IsForced(err) }

// Cred is the uid and gid a local delivery runs as.
type Cred struct {
	UID, GID int
	// Initgroups asks for the user's supplementary groups.
	Initgroups bool
	// User is the login name, when known.
	User string
}

// credentials decides the uid and gid of a local delivery: the
// transport's user and group options, then the router's, then the
// process's own (Exim's exim_user); spec chapter "Environment for running
// local transports", section "Uids and gids".
func (g *generic) credentials(e *env, d *Delivery) (Cred, *Result) {
	c := Cred{UID: -1, GID: -1}
	if len(d.Addresses) > 0 {
		c.UID, c.GID = d.Addresses[0].UID, d.Addresses[0].GID
	}
	if u, err := g.expandOpt(e, "user"); err != nil {
		return c, &Result{Status: Defer, Err: err, Message: err.Error()}
	} else if u != "" {
		uid, gid, name, err := lookupUser(u)
		if err != nil {
			msg := fmt.Sprintf("Failed to find user \"%s\" from expanded string \"%s\" for the %s transport", u, g.opts.String("user"), g.name)
			return c, &Result{Status: Defer, Err: err, Message: msg}
		}
		c.UID, c.User = uid, name
		if gid >= 0 {
			c.GID = gid
		}
		c.Initgroups = g.opts.Bool("initgroups")
	}
	if gr, err := g.expandOpt(e, "group"); err != nil {
		return c, &Result{Status: Defer, Err: err, Message: err.Error()}
	} else if gr != "" {
		gid, err := lookupGroup(gr)
		if err != nil {
			msg := fmt.Sprintf("Failed to find group \"%s\" from expanded string \"%s\" for the %s transport", gr, g.opts.String("group"), g.name)
			return c, &Result{Status: Defer, Err: err, Message: msg}
		}
		c.GID = gid
	}
	if c.UID < 0 {
		c.UID = os.Geteuid()
	}
	if c.GID < 0 {
		c.GID = os.Getegid()
	}
	// Debian's build fixes never_users to root (EXIM-NOTES).
	if c.UID == 0 {
		msg := fmt.Sprintf("User 0 set for %s transport is on the fixed_never_users list", g.name)
		return c, &Result{Status: Defer, Errno: ErrnoFixedNever, Message: msg, Private: true, PanicLine: true}
	}
	if nu := g.cfg.Main.String("never_users"); nu != "" {
		for _, item := range strings.Split(nu, ":") {
			item = strings.TrimSpace(item)
			if uid, _, _, err := lookupUser(item); err == nil && uid == c.UID {
				msg := fmt.Sprintf("User %d set for %s transport is on the never_users list", c.UID, g.name)
				return c, &Result{Status: Defer, Errno: ErrnoFixedNever, Message: msg, Private: true, PanicLine: true}
			}
		}
	}
	return c, nil
}

// lookupUser resolves a user name or number to its uid, its primary gid
// (-1 for a bare number) and its login name.
func lookupUser(s string) (uid, gid int, name string, err error) {
	if n, err := strconv.Atoi(s); err == nil {
		if u, err := userdb.LookupID(s); err == nil {
			return n, -1, u.Username, nil
		}
		return n, -1, "", nil
	}
	u, err := userdb.Lookup(s)
	if err != nil {
		return -1, -1, "", fmt.Errorf("looking up user %q: %w", s, err)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid, u.Username, nil
}

func lookupGroup(s string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil {
		return n, nil
	}
	g, err := userdb.LookupGroup(s)
	if err != nil {
		return -1, fmt.Errorf("looking up group %q: %w", s, err)
	}
	n, _ := strconv.Atoi(g.Gid)
	return n, nil
}

// sizeLimit checks message_size_limit (spec "Generic options for
// transports"): an address is failed when the message is larger.
func (g *generic) sizeLimit(e *env, d *Delivery, size int64) *Result {
	raw := g.opts.String("message_size_limit")
	if raw == "" {
		return nil
	}
	v, err := e.expand(raw)
	if err != nil {
		return &Result{Status: Defer, Err: err, Message: fmt.Sprintf("failed to expand message_size_limit for %s transport: %s", g.name, err)}
	}
	n, ok := parseSize(v)
	if !ok {
		return &Result{Status: Defer, Message: fmt.Sprintf("invalid message_size_limit for %s transport: %s", g.name, v)}
	}
	if n > 0 && size > n {
		return &Result{Status: Fail, Message: "message is too big (transport limit = " + strconv.FormatInt(n, 10) + ")"}
	}
	return nil
}

// parseSize reads digits with an optional K, M or G suffix.
func parseSize(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	mult := int64(1)
	switch s[len(s)-1] {
	case 'K', 'k':
		mult = 1024
	case 'M', 'm':
		mult = 1024 * 1024
	case 'G', 'g':
		mult = 1024 * 1024 * 1024
	}
	if mult != 1 {
		s = s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n * mult, true
}

// runShadow runs the shadow transport after a successful delivery
// (shadow_transport, shadow_condition) and records its outcome on the
// OK results.
func (g *generic) runShadow(ctx context.Context, e *env, d *Delivery, rs []Result) []Result {
	if g.shadow == nil {
		return rs
	}
	anyOK := false
	for _, r := range rs {
		if r.Status == OK {
			anyOK = true
		}
	}
	if !anyOK {
		return rs
	}
	if cond := g.opts.String("shadow_condition"); cond != "" {
		v, err := e.expand(cond)
		if err != nil || v == "" || v == "0" || strings.EqualFold(v, "no") || strings.EqualFold(v, "false") {
			return rs
		}
	}
	sr := g.shadow.Deliver(ctx, d)
	for i := range rs {
		if rs[i].Status == OK && i < len(sr) {
			s := sr[i]
			rs[i].Shadow = &s
		}
	}
	return rs
}

// applyReturnPath sets $return_path from the return_path option (spec
// "Generic options for transports"): a forced failure keeps the old
// value, another failure defers.
func (g *generic) applyReturnPath(e *env) *Result {
	raw := g.opts.String("return_path")
	if raw == "" {
		return nil
	}
	v, err := e.expand(raw)
	if err != nil {
		if forced(err) {
			return nil
		}
		r := Result{Status: Defer, Err: err, Message: fmt.Sprintf("Failed to expand return path \"%s\" in %s transport: %s", raw, g.name, err)}
		return &r
	}
	e.vars["return_path"] = v
	e.returnPathSet = true
	return nil
}

// noteReturnPath records on rs the return path that the return_path
// option set, for the log's P= field (spec chapter "Log files",
// return_path_on_delivery).
func noteReturnPath(e *env, rs []Result) {
	if !e.returnPathSet {
		return
	}
	rp, _ := e.get("return_path")
	for i := range rs {
		rs[i].ReturnPath, rs[i].ReturnPathSet = rp, true
	}
}
