package daemon

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/deliver"
	"github.com/exigo-mta/exigo/internal/spool"
)

// localDrivers are the transports that run as a user and may be run by
// a worker.
var localDrivers = map[string]bool{"appendfile": true, "pipe": true, "lmtp": true}

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
			lp := a.LocalPart
			if strings.HasPrefix(lp, a.Prefix) && strings.HasSuffix(lp[len(a.Prefix):], a.Suffix) {
				lp = lp[len(a.Prefix) : len(lp)-len(a.Suffix)]
			}
			uid, gid, err := lookupUser(lp)
			if err != nil {
				uid, gid, err = lookupUser(strings.ToLower(lp))
			}
			if err != nil || uid != req.UID {
				return fmt.Errorf("uid %d is not local user %q of router %s", req.UID, lp, rd.Name)
			}
			userGID = append(userGID, gid)
		}
	case strings.Contains(u, "$"):
		// Expanded: any uid (checked above against never_users); the
		// group, unless set, is that user's primary group.
		userGID = []int{}
		if pw, err := user.LookupId(strconv.Itoa(req.UID)); err == nil {
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
		pw, err := user.Lookup(req.User)
		if err != nil || pw.Uid != strconv.Itoa(req.UID) {
			return fmt.Errorf("user %q is not uid %d", req.User, req.UID)
		}
	}
	return nil
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
	out := []uint32{uint32(gid)}
	if login == "" {
		return out
	}
	u, err := user.Lookup(login)
	if err != nil {
		return out
	}
	ids, _ := u.GroupIds()
	for _, id := range ids {
		if n, err := strconv.Atoi(id); err == nil && n != gid {
			out = append(out, uint32(n))
		}
	}
	return out
}
