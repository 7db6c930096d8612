package daemon

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/deliver"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/fscred"
	"github.com/exigo-mta/exigo/internal/router"
	"github.com/exigo-mta/exigo/internal/spool"
	"github.com/exigo-mta/exigo/internal/userdb"
)

// localDrivers are the transports that run as a user and may be run by
// a worker.
var localDrivers = map[string]bool{"appendfile": true, "pipe": true, "lmtp": true, "autoreply": true}

// CheckRequest checks a request to run a local transport as another
// user against the configuration, the way the supervisor sees it: with
// no message in hand, it accepts only a uid and gid that the transport
// and router named could produce (spec chapter "Environment for running
// local transports", section "Uids and gids"):
//
//   - the transport's user option, else the router's, else the local
//     part's passwd entry when the router has check_local_user; a fixed
//     user option must match exactly; an expanded one allows any uid;
//     no source at all means exim_user (the daemon asks for it only with
//     another group);
//   - likewise the group: the transport's, else the router's group
//     option, else the primary group of the user;
//   - supplementary groups only with initgroups set, and only those of
//     the login that has the uid;
//   - never root (Debian's fixed_never_users) nor a never_users entry,
//     never gid 0 unless a group option names it.
func CheckRequest(cfg *config.Config, req *deliver.LocalRequest) error {
	if cfg == nil {
		return errors.New("no configuration")
	}
	if !spool.ValidID(req.MessageID) {
		return fmt.Errorf("invalid message id %q", req.MessageID)
	}
	if len(req.Addresses) == 0 {
		return errors.New("no addresses")
	}
	if req.Op != "" {
		return checkFileOp(cfg, req)
	}
	td := cfg.Transport(req.Transport)
	if td == nil {
		return fmt.Errorf("no transport %q", req.Transport)
	}
	if !localDrivers[td.Driver] {
		return fmt.Errorf("transport %s is not a local transport that runs as a user", req.Transport)
	}
	rd := cfg.Router(req.Router)
	if rd == nil {
		return fmt.Errorf("no router %q", req.Router)
	}
	if req.UID == 0 {
		return fmt.Errorf("uid 0 is on the fixed_never_users list")
	}
	if req.UID < 0 || req.GID < 0 {
		return fmt.Errorf("invalid uid/gid %d/%d", req.UID, req.GID)
	}
	for _, item := range strings.Split(cfg.Main.String("never_users"), ":") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if uid, _, err := lookupUser(item); err == nil && uid == req.UID {
			return fmt.Errorf("uid %d is on the never_users list", req.UID)
		}
	}
	return checkIDs(cfg, td, rd, req)
}

// checkFileOp checks a request to read a redirect router's file or
// append to a filter's log file as a user: only a redirect router with
// check_local_user makes them, as the local user of the one address
// being routed, whose primary group is the gid (spec chapter "The
// redirect router", section "Redirection data").
func checkFileOp(cfg *config.Config, req *deliver.LocalRequest) error {
	switch req.Op {
	case deliver.OpRead, deliver.OpAppend:
	default:
		return fmt.Errorf("unknown operation %q", req.Op)
	}
	if req.Transport != "" || len(req.Addresses) != 1 || req.Initgroups {
		return errors.New("a file operation names one address and no transport")
	}
	if !filepath.IsAbs(req.Path) {
		return fmt.Errorf("file %q is not an absolute path", req.Path)
	}
	rd := cfg.Router(req.Router)
	if rd == nil {
		return fmt.Errorf("no router %q", req.Router)
	}
	if rd.Driver != "redirect" || !rd.Options.Bool("check_local_user") {
		return fmt.Errorf("router %s is not a redirect router with check_local_user", rd.Name)
	}
	// The router's file, or a file that :include: names.
	if req.Op == deliver.OpRead && rd.Options.IsSet("data") && rd.Options.Bool("forbid_include") {
		return fmt.Errorf("router %s reads no file", rd.Name)
	}
	if req.Op == deliver.OpAppend && !rd.Options.Bool("allow_filter") {
		return fmt.Errorf("router %s runs no filter", rd.Name)
	}
	if err := checkNeverUsers(cfg, req.UID); err != nil {
		return err
	}
	lp := req.Addresses[0].LocalPart
	pw, err := userdb.Lookup(lp)
	if err != nil {
		pw, err = userdb.Lookup(strings.ToLower(lp))
	}
	if err != nil || pw.Uid != strconv.Itoa(req.UID) || pw.Gid != strconv.Itoa(req.GID) {
		return fmt.Errorf("uid/gid %d/%d is not local user %q of router %s", req.UID, req.GID, lp, rd.Name)
	}
	req.IncludeData = ""
	if req.Op == deliver.OpRead {
		return checkReadPath(cfg, rd, req, pw.HomeDir)
	}
	return nil
}

// checkReadPath accepts a read only of a file that the router would
// read for the address: its file option expanded for the local part,
// domain and home directory of the request (spec chapter "The redirect
// router", section "Redirection data"), or, when the router allows
// includes (no forbid_include), a file that an ":include:" item names
// in that file (Include set; the worker then checks that the file, or
// one it includes, names Path) or in the expanded data option
// (directly, or through included files: IncludeData is then set for the
// worker to check). The supervisor has no lookups: a file or data
// option that needs one cannot be matched, and its reads are refused.
func checkReadPath(cfg *config.Config, rd *config.Driver, req *deliver.LocalRequest, home string) error {
	o := rd.Options
	a := req.Addresses[0]
	v := expand.VarMap{
		"local_part": a.LocalPart, "domain": a.Domain,
		"local_part_prefix": a.Prefix, "local_part_suffix": a.Suffix,
		"home": home, "local_user_uid": strconv.Itoa(req.UID), "local_user_gid": strconv.Itoa(req.GID),
		"router_name": rd.Name, "primary_hostname": cfg.Main.String("primary_hostname"),
	}
	exp := func(name string) (string, error) {
		return expand.String(o.String(name), &expand.Context{Vars: v, Forbid: expand.Forbid{Run: true, ReadSocket: true, Lookups: true, Perl: true, DLFunc: true}})
	}
	if o.IsSet("router_home_directory") {
		h, err := exp("router_home_directory")
		if err == nil {
			v["home"] = h
		}
	}
	includes := !o.Bool("forbid_include")
	if !o.IsSet("data") {
		file, err := exp("file")
		if err != nil {
			return fmt.Errorf("router %s: cannot expand its file option: %w", rd.Name, err)
		}
		switch {
		case req.Include == "" && req.Path == file:
			return nil
		case req.Include == file && includes:
			return nil
		}
		return fmt.Errorf("router %s does not read %s for %s", rd.Name, req.Path, a.LocalPart)
	}
	if !includes || req.Include != "" {
		return fmt.Errorf("router %s does not read %s for %s", rd.Name, req.Path, a.LocalPart)
	}
	data, err := exp("data")
	if err != nil {
		return fmt.Errorf("router %s: cannot expand its data option: %w", rd.Name, err)
	}
	named := router.IncludedFiles(data, func(string) (string, error) { return "", errors.New("not read") })
	for _, p := range named {
		if p == req.Path {
			return nil
		}
	}
	if len(named) == 0 {
		return fmt.Errorf("router %s includes no file for %s", rd.Name, a.LocalPart)
	}
	// A file that an included file names: the worker checks.
	req.IncludeData = data
	return nil
}

// checkNeverUsers refuses root and the never_users.
func checkNeverUsers(cfg *config.Config, uid int) error {
	if uid == 0 {
		return fmt.Errorf("uid 0 is on the fixed_never_users list")
	}
	for _, item := range strings.Split(cfg.Main.String("never_users"), ":") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if u, _, err := lookupUser(item); err == nil && u == uid {
			return fmt.Errorf("uid %d is on the never_users list", uid)
		}
	}
	return nil
}

// checkIDs checks the uid and gid of a transport run.
func checkIDs(cfg *config.Config, td, rd *config.Driver, req *deliver.LocalRequest) error {
	// The uid.
	var userGID []int // primary groups of the users the uid may come from
	switch u, src := pick(td, rd, "user"); {
	case src == "" && !rd.Options.Bool("check_local_user"):
		// No user anywhere: the delivery runs as exim_user, which the
		// daemon asks for only when a group option changes the gid.
		euid, egid, err := EximIDs(cfg.Main.String("exim_user"), cfg.Main.String("exim_group"))
		if err != nil || euid != req.UID {
			return fmt.Errorf("neither transport %s nor router %s sets a user", td.Name, rd.Name)
		}
		userGID = append(userGID, egid)
	case src == "":
		for _, a := range req.Addresses {
			// check_local_user looks up the local part without its
			// affixes (spec chapter "Generic options for routers").
			// A pipe, file or reply that a .forward generated
			// carries its parent's local part without the affixes
			// marked: those the router may strip are tried.
			lp := a.LocalPart
			if strings.HasPrefix(lp, a.Prefix) && strings.HasSuffix(lp[len(a.Prefix):], a.Suffix) {
				lp = lp[len(a.Prefix) : len(lp)-len(a.Suffix)]
			}
			gid, ok := -1, false
			for _, cand := range localPartCandidates(rd, lp, a.Prefix == "" && a.Suffix == "") {
				uid, g, err := lookupUser(cand)
				if err != nil {
					uid, g, err = lookupUser(strings.ToLower(cand))
				}
				if err == nil && uid == req.UID {
					gid, ok = g, true
					break
				}
			}
			if !ok {
				return fmt.Errorf("uid %d is not local user %q of router %s", req.UID, lp, rd.Name)
			}
			userGID = append(userGID, gid)
		}
	case strings.Contains(u, "$"):
		// Expanded: any uid (checked above against never_users); the
		// group, unless set, is that user's primary group.
		userGID = []int{}
		if pw, err := userdb.LookupID(strconv.Itoa(req.UID)); err == nil {
			if gid, err := strconv.Atoi(pw.Gid); err == nil {
				userGID = append(userGID, gid)
			}
		}
	default:
		uid, gid, err := lookupUser(u)
		if err != nil || uid != req.UID {
			return fmt.Errorf("uid %d is not user %q of %s %s", req.UID, u, src, nameOf(td, rd, src))
		}
		userGID = append(userGID, gid)
	}
	// The gid.
	switch g, src := pick(td, rd, "group"); {
	case src == "":
		ok := false
		for _, gid := range userGID {
			ok = ok || gid == req.GID
		}
		if !ok {
			return fmt.Errorf("gid %d is not the primary group of the delivery user", req.GID)
		}
	case strings.Contains(g, "$"):
		if req.GID == 0 {
			return errors.New("gid 0 from an expanded group option")
		}
	default:
		gid, err := lookupGroup(g)
		if err != nil || gid != req.GID {
			return fmt.Errorf("gid %d is not group %q of %s %s", req.GID, g, src, nameOf(td, rd, src))
		}
	}
	// Supplementary groups: only where the configuration asks for them,
	// and only the delivery user's own.
	if req.Initgroups {
		if !td.Options.Bool("initgroups") && !rd.Options.Bool("initgroups") {
			return fmt.Errorf("neither transport %s nor router %s sets initgroups", td.Name, rd.Name)
		}
		pw, err := userdb.Lookup(req.User)
		if err != nil || pw.Uid != strconv.Itoa(req.UID) {
			return fmt.Errorf("user %q is not uid %d", req.User, req.UID)
		}
	}
	return nil
}

// localPartCandidates returns lp and, when strip is set, lp without
// each local_part_prefix and local_part_suffix of rd that it has (a
// leading or trailing "*" matching any text), bounded by the lists'
// lengths.
func localPartCandidates(rd *config.Driver, lp string, strip bool) []string {
	out := []string{lp}
	if !strip {
		return out
	}
	affixes := func(name string) []string {
		var l []string
		for _, s := range strings.Split(rd.Options.String(name), ":") {
			if s = strings.TrimSpace(s); s != "" {
				l = append(l, s)
			}
		}
		return l
	}
	var bases []string
	for _, p := range affixes("local_part_prefix") {
		if rest, ok := strings.CutPrefix(p, "*"); ok {
			for i := len(rest); i <= len(lp); i++ {
				if strings.HasSuffix(lp[:i], rest) {
					bases = append(bases, lp[i:])
				}
			}
		} else if r, ok := strings.CutPrefix(lp, p); ok {
			bases = append(bases, r)
		}
	}
	out = append(out, bases...)
	for _, b := range append([]string{lp}, bases...) {
		for _, sfx := range affixes("local_part_suffix") {
			if rest, ok := strings.CutSuffix(sfx, "*"); ok {
				for i := 0; i+len(rest) <= len(b); i++ {
					if strings.HasPrefix(b[i:], rest) {
						out = append(out, b[:i])
					}
				}
			} else if r, ok := strings.CutSuffix(b, sfx); ok {
				out = append(out, r)
			}
		}
	}
	return out
}

// pick returns the transport's value of a user/group option, else the
// router's, with where it came from ("" when neither sets it).
func pick(td, rd *config.Driver, name string) (string, string) {
	if v := strings.TrimSpace(td.Options.String(name)); v != "" {
		return v, "transport"
	}
	if v := strings.TrimSpace(rd.Options.String(name)); v != "" {
		return v, "router"
	}
	return "", ""
}

func nameOf(td, rd *config.Driver, src string) string {
	if src == "transport" {
		return td.Name
	}
	return rd.Name
}

// openSpoolFiles opens id's -D and -H files for reading, in input/ or
// in its split subdirectory, refusing symbolic links.
func openSpoolFiles(dir, id string) (data, hdr *os.File, err error) {
	for _, in := range []string{filepath.Join(dir, "input"), filepath.Join(dir, "input", spool.ID(id).SplitChar())} {
		data, err = os.OpenFile(filepath.Join(in, id+"-D"), os.O_RDONLY|syscall.O_NOFOLLOW, 0)
		if err != nil {
			continue
		}
		hdr, err = os.OpenFile(filepath.Join(in, id+"-H"), os.O_RDONLY|syscall.O_NOFOLLOW, 0)
		if err != nil {
			data.Close()
			return nil, nil, fmt.Errorf("spool file %s-H: %w", id, err)
		}
		return data, hdr, nil
	}
	return nil, nil, fmt.Errorf("spool file %s-D: %w", id, err)
}

// userGroups returns gid and the supplementary groups of login.
func userGroups(login string, gid int) []uint32 {
	var out []uint32
	for _, g := range fscred.UserGroups(login, gid) {
		out = append(out, uint32(g))
	}
	return out
}
