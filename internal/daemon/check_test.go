package daemon_test

import (
	"context"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/daemon"
	"github.com/exigo-mta/exigo/internal/deliver"
	"github.com/exigo-mta/exigo/internal/transport"
)

// checkConfig has routers and transports of every kind the supervisor
// has to judge. The users are the system's "daemon" (uid 1, exim_user
// here) and "bin" (uid 2, on never_users).
const checkConfig = `never_users = bin
exim_user = daemon
exim_group = daemon
begin routers
localuser:
  driver = accept
  check_local_user
  transport = mbox
fixed:
  driver = accept
  user = daemon
  transport = mbox
expanded:
  driver = accept
  user = ${local_part}
  transport = mbox
nouser:
  driver = accept
  transport = mbox
begin transports
mbox:
  driver = appendfile
  file = /tmp/mbox
fixedt:
  driver = pipe
  command = /bin/true
  user = daemon
  group = bin
groups:
  driver = appendfile
  file = /tmp/mbox
  initgroups
mailgroup:
  driver = appendfile
  file = /tmp/mbox
  group = bin
remote:
  driver = smtp
auto:
  driver = autoreply
`

// forwardRouters are redirect routers for the file operations and for
// the pipes a .forward generates.
const forwardRouters = `forward:
  driver = redirect
  local_part_prefix = fwd- : *+
  local_part_suffix = -x*
  check_local_user
  file = $home/.forward
  allow_filter
  pipe_transport = fixedt
nolocal:
  driver = redirect
  file = /etc/aliases
  allow_filter
datarouter:
  driver = redirect
  check_local_user
  data = x
  forbid_include
noinclude:
  driver = redirect
  check_local_user
  file = /var/forward/${local_part}@$domain
  forbid_include
incdata:
  driver = redirect
  check_local_user
  data = :include:$home/list, :include:/etc/lists/$local_part
incnone:
  driver = redirect
  check_local_user
  data = $local_part@elsewhere.example
lookupfile:
  driver = redirect
  check_local_user
  file = ${lookup{$local_part}lsearch{/etc/forwards}}
routerhome:
  driver = redirect
  check_local_user
  router_home_directory = /srv/$local_part
  file = $home/.forward
`

func checkReq(router, tr, lp string, uid, gid int) *deliver.LocalRequest {
	return &deliver.LocalRequest{
		MessageID: "1xWuK9-00072s-7f", Transport: tr, Router: router, UID: uid, GID: gid,
		Addresses: []transport.Address{{Address: lp + "@test.example", LocalPart: lp, Domain: "test.example"}},
	}
}

func TestCheckRequest(t *testing.T) {
	cfg, err := config.LoadBytes("/check.conf", []byte(strings.Replace(checkConfig, "begin transports", forwardRouters+"begin transports", 1)), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		req  *deliver.LocalRequest
		want string // "" accepts; else a part of the refusal
	}{
		{"check_local_user", checkReq("localuser", "mbox", "daemon", 1, 1), ""},
		{"check_local_user other uid", checkReq("localuser", "mbox", "daemon", 3, 1), "not local user"},
		{"check_local_user other gid", checkReq("localuser", "mbox", "daemon", 1, 3), "not the primary group"},
		{"check_local_user no such user", checkReq("localuser", "mbox", "nosuchuser-x", 1, 1), "not local user"},
		{"root", checkReq("localuser", "mbox", "root", 0, 0), "fixed_never_users"},
		{"never_users", checkReq("localuser", "mbox", "bin", 2, 2), "never_users"},
		{"router user", checkReq("fixed", "mbox", "anyone", 1, 1), ""},
		{"router user other uid", checkReq("fixed", "mbox", "anyone", 3, 3), "not user \"daemon\" of router fixed"},
		{"expanded user", checkReq("expanded", "mbox", "anyone", 3, 3), ""},
		{"expanded user gid 0", checkReq("expanded", "mbox", "anyone", 3, 0), "primary group"},
		{"expanded user other gid", checkReq("expanded", "mbox", "anyone", 3, 42), "primary group"},
		{"initgroups not configured", func() *deliver.LocalRequest {
			r := checkReq("localuser", "mbox", "daemon", 1, 1)
			r.Initgroups, r.User = true, "daemon"
			return r
		}(), "initgroups"},
		{"initgroups", func() *deliver.LocalRequest {
			r := checkReq("localuser", "groups", "daemon", 1, 1)
			r.Initgroups, r.User = true, "daemon"
			return r
		}(), ""},
		{"initgroups of another login", func() *deliver.LocalRequest {
			r := checkReq("localuser", "groups", "daemon", 1, 1)
			r.Initgroups, r.User = true, "root"
			return r
		}(), "is not uid 1"},
		{"expanded user never_users", checkReq("expanded", "mbox", "bin", 2, 2), "never_users"},

		{"no user anywhere", checkReq("nouser", "mbox", "x", 3, 3), "sets a user"},
		{"exim_user with its group", checkReq("nouser", "mbox", "x", 1, 1), ""},
		{"exim_user with another group", checkReq("nouser", "mbox", "x", 1, 2), "primary group"},
		{"exim_user with the transport's group", checkReq("nouser", "mailgroup", "x", 1, 2), ""},
		{"transport user and group", checkReq("nouser", "fixedt", "x", 1, 2), ""},
		{"transport group other gid", checkReq("nouser", "fixedt", "x", 1, 1), "not group \"bin\""},
		{"remote transport", checkReq("localuser", "remote", "daemon", 1, 1), "not a local transport"},
		{"unknown transport", checkReq("localuser", "nosuch", "daemon", 1, 1), "no transport"},
		{"unknown router", checkReq("nosuch", "mbox", "daemon", 1, 1), "no router"},
		{"bad message id", func() *deliver.LocalRequest {
			r := checkReq("localuser", "mbox", "daemon", 1, 1)
			r.MessageID = "../../etc/passwd"
			return r
		}(), "invalid message id"},
		{"no addresses", func() *deliver.LocalRequest {
			r := checkReq("localuser", "mbox", "daemon", 1, 1)
			r.Addresses = nil
			return r
		}(), "no addresses"},
	}
	fileOp := func(op, router, lp string, uid, gid int, path string) *deliver.LocalRequest {
		r := checkReq(router, "", lp, uid, gid)
		r.Op, r.Path = op, path
		return r
	}
	generated := func(lp string, uid int) *deliver.LocalRequest {
		r := checkReq("forward", "mbox", lp, uid, 1)
		r.Addresses[0].Address = "|/bin/true"
		return r
	}
	tests = append(tests, []struct {
		name string
		req  *deliver.LocalRequest
		want string
	}{
		{"autoreply", checkReq("localuser", "auto", "daemon", 1, 1), ""},
		{"read as local user", fileOp(deliver.OpRead, "forward", "daemon", 1, 1, "/usr/sbin/.forward"), ""},
		{"read another file", fileOp(deliver.OpRead, "forward", "daemon", 1, 1, "/etc/shadow"), "does not read /etc/shadow"},
		{"read another user's file", fileOp(deliver.OpRead, "forward", "daemon", 1, 1, "/bin/.forward"), "does not read"},
		{"read an included file", func() *deliver.LocalRequest {
			r := fileOp(deliver.OpRead, "forward", "daemon", 1, 1, "/etc/shadow")
			r.Include = "/usr/sbin/.forward"
			return r
		}(), ""},
		{"read a file included by another file", func() *deliver.LocalRequest {
			r := fileOp(deliver.OpRead, "forward", "daemon", 1, 1, "/etc/shadow")
			r.Include = "/etc/passwd"
			return r
		}(), "does not read"},
		{"read the file with domain", func() *deliver.LocalRequest {
			r := fileOp(deliver.OpRead, "noinclude", "daemon", 1, 1, "/var/forward/daemon@test.example")
			return r
		}(), ""},
		{"read an included file with forbid_include", func() *deliver.LocalRequest {
			r := fileOp(deliver.OpRead, "noinclude", "daemon", 1, 1, "/etc/shadow")
			r.Include = "/var/forward/daemon@test.example"
			return r
		}(), "does not read"},
		{"read a file data includes", fileOp(deliver.OpRead, "incdata", "daemon", 1, 1, "/usr/sbin/list"), ""},
		{"read a file data includes, second", fileOp(deliver.OpRead, "incdata", "daemon", 1, 1, "/etc/lists/daemon"), ""},
		{"read a file nested in data's includes", func() *deliver.LocalRequest {
			r := fileOp(deliver.OpRead, "incdata", "daemon", 1, 1, "/etc/nested")
			r.IncludeData = "forged"
			return r
		}(), ""},
		{"read with Include for a data router", func() *deliver.LocalRequest {
			r := fileOp(deliver.OpRead, "incdata", "daemon", 1, 1, "/etc/shadow")
			r.Include = "/usr/sbin/list"
			return r
		}(), "does not read"},
		{"read for data that includes nothing", fileOp(deliver.OpRead, "incnone", "daemon", 1, 1, "/etc/shadow"), "includes no file"},
		{"read for a file option with a lookup", fileOp(deliver.OpRead, "lookupfile", "daemon", 1, 1, "/etc/forwards"), "cannot expand"},
		{"read in router_home_directory", fileOp(deliver.OpRead, "routerhome", "daemon", 1, 1, "/srv/daemon/.forward"), ""},
		{"read in the passwd home with router_home_directory", fileOp(deliver.OpRead, "routerhome", "daemon", 1, 1, "/usr/sbin/.forward"), "does not read"},
		{"append as local user", fileOp(deliver.OpAppend, "forward", "daemon", 1, 1, "/home/d/log"), ""},
		{"read relative path", fileOp(deliver.OpRead, "forward", "daemon", 1, 1, "x/.forward"), "absolute"},
		{"read as another uid", fileOp(deliver.OpRead, "forward", "daemon", 3, 3, "/x"), "not local user"},
		{"read with another gid", fileOp(deliver.OpRead, "forward", "daemon", 1, 3, "/x"), "not local user"},
		{"read as root", fileOp(deliver.OpRead, "forward", "root", 0, 0, "/x"), "fixed_never_users"},
		{"read as never_users", fileOp(deliver.OpRead, "forward", "bin", 2, 2, "/x"), "never_users"},
		{"read without check_local_user", fileOp(deliver.OpRead, "nolocal", "daemon", 1, 1, "/x"), "check_local_user"},
		{"read for a router with data", fileOp(deliver.OpRead, "datarouter", "daemon", 1, 1, "/x"), "reads no file"},
		{"append without allow_filter", fileOp(deliver.OpAppend, "datarouter", "daemon", 1, 1, "/x"), "runs no filter"},
		{"read for an accept router", fileOp(deliver.OpRead, "localuser", "daemon", 1, 1, "/x"), "not a redirect"},
		{"unknown operation", fileOp("unlink", "forward", "daemon", 1, 1, "/x"), "unknown operation"},
		{"operation with a transport", func() *deliver.LocalRequest {
			r := fileOp(deliver.OpRead, "forward", "daemon", 1, 1, "/x")
			r.Transport = "mbox"
			return r
		}(), "no transport"},
		{"generated pipe, fixed prefix", generated("fwd-daemon", 1), ""},
		{"generated pipe, wildcard prefix", generated("a+b+daemon", 1), ""},
		{"generated pipe, wildcard suffix", generated("daemon-xyz", 1), ""},
		{"generated pipe, both affixes", generated("fwd-daemon-x", 1), ""},
		{"generated pipe, other user", generated("fwd-daemon", 3), "not local user"},
		{"generated pipe, no affix", generated("daemon", 1), ""},
	}...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := daemon.CheckRequest(cfg, tc.req)
			if tc.name == "read a file nested in data's includes" && tc.req.IncludeData != ":include:/usr/sbin/list, :include:/etc/lists/daemon" {
				t.Errorf("IncludeData %q, want the expanded data", tc.req.IncludeData)
			}
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && err == nil:
				t.Errorf("accepted, want refusal %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Errorf("refusal %q, want %q", err, tc.want)
			}
		})
	}
}

// TestSupervisorRefuses sends requests over a socketpair, as the daemon
// does, and checks that the supervisor refuses a uid on never_users (and
// root) without starting a worker.
func TestSupervisorRefuses(t *testing.T) {
	cfg, err := config.LoadBytes("/check.conf", []byte(checkConfig), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	sup := &daemon.Supervisor{Exe: "/nonexistent/exigo", Config: cfg, Stderr: io.Discard}
	supFile := os.NewFile(uintptr(fds[0]), "supervisor")
	conn, err := netFileConn(supFile)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { sup.Serve(conn); close(done) }()
	c, err := daemon.NewClient(os.NewFile(uintptr(fds[1]), "daemon"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		req  *deliver.LocalRequest
		want string
	}{
		{checkReq("localuser", "mbox", "bin", 2, 2), "uid 2 is on the never_users list"},
		{checkReq("localuser", "mbox", "root", 0, 0), "uid 0 is on the fixed_never_users list"},
		{checkReq("fixed", "mbox", "x", 3, 3), "not user"},
		// Accepted, but the worker cannot start: the error comes back.
		{checkReq("localuser", "mbox", "daemon", 1, 1), "spool file"},
	} {
		resp, err := c.RunLocal(context.Background(), tc.req)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("uid %d: got %v, %v; want error %q", tc.req.UID, resp, err, tc.want)
		}
	}
	c.Close()
	<-done
	if _, err := c.RunLocal(context.Background(), checkReq("localuser", "mbox", "daemon", 1, 1)); err == nil {
		t.Errorf("request after close succeeded")
	}
}

func netFileConn(f *os.File) (net.Conn, error) {
	defer f.Close()
	return net.FileConn(f)
}
