package router_test

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// TestRedirectFileChecksDifferential gives a redirect router's file
// owners, groups and modes that its check_owner, owners, check_group,
// owngroups and modemask options accept or refuse, and compares -bt of
// real Exim and exigo (spec chapter "The redirect router"). It needs
// root to give the file away, and creates a throwaway user for the
// check_local_user cases.
func TestRedirectFileChecksDifferential(t *testing.T) {
	if os.Geteuid() != 0 {
		oracletest.Missing(t, "root (to give files away)")
	}
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	dir, err := os.MkdirTemp("", "exigo-rdcheck-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	home := filepath.Join(dir, "home")
	login := fmt.Sprintf("exigorc%d", os.Getpid()%100000)
	if out, err := exec.Command("useradd", "-M", "-d", home, "-s", "/usr/sbin/nologin", login).CombinedOutput(); err != nil {
		oracletest.Missing(t, fmt.Sprintf("useradd (%v: %s)", err, out))
	}
	defer exec.Command("userdel", login).Run()
	u, err := user.Lookup(login)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	os.Mkdir(home, 0o755)
	os.Chown(home, uid, gid)
	fwd := filepath.Join(home, ".forward")
	inc := filepath.Join(dir, "inc.list")
	os.WriteFile(inc, []byte("inc@example.com\n"), 0o666)
	os.Chown(inc, 2, 2) // included files are not checked
	id := func(name string, group bool) int {
		if group {
			g, err := user.LookupGroup(name)
			if err != nil {
				t.Skipf("no group %s", name)
			}
			n, _ := strconv.Atoi(g.Gid)
			return n
		}
		u, err := user.Lookup(name)
		if err != nil {
			t.Skipf("no user %s", name)
		}
		n, _ := strconv.Atoi(u.Uid)
		return n
	}
	bin, daemon := id("bin", false), id("daemon", true)
	const local = "check_local_user\n  file = $home/.forward"
	plain := "file = " + fwd
	cases := []struct {
		name, opts string
		uid, gid   int
		mode       os.FileMode
		data       string
	}{
		{"local-ok", local, uid, gid, 0o644, ""},
		{"local-group-write", local, uid, gid, 0o664, ""},
		{"local-other-write", local, uid, gid, 0o646, ""},
		{"local-root-owner", local, 0, gid, 0o644, ""},
		{"local-owners", local + "\n  owners = bin", bin, gid, 0o644, ""},
		{"local-no-check-owner", local + "\n  no_check_owner", bin, daemon, 0o644, ""},
		{"local-modemask-group", local + "\n  modemask = 002", uid, daemon, 0o664, ""},
		{"local-modemask-group-ok", local + "\n  modemask = 002", uid, gid, 0o664, ""},
		{"local-owngroups", local + "\n  modemask = 002\n  owngroups = daemon", uid, daemon, 0o664, ""},
		{"local-mode-before-owner", local, bin, daemon, 0o666, ""},
		{"local-include", local, uid, gid, 0o644, ":include:" + inc + "\n"},
		{"plain-unchecked", plain, bin, daemon, 0o644, ""},
		{"plain-check-owner", plain + "\n  check_owner", bin, daemon, 0o644, ""},
		{"plain-owners", plain + "\n  owners = daemon : bin", bin, daemon, 0o644, ""},
		{"plain-owners-bad", plain + "\n  owners = root", bin, daemon, 0o644, ""},
		{"plain-owngroups", plain + "\n  owngroups = root", bin, daemon, 0o644, ""},
		{"plain-check-group", plain + "\n  modemask = 0\n  check_group", bin, daemon, 0o666, ""},
		{"plain-modemask", plain + "\n  modemask = 0777", bin, daemon, 0o600, ""},
		{"plain-no-checks", plain + "\n  owners = root\n  no_check_owner\n  owngroups = root\n  no_check_group", bin, daemon, 0o644, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := c.data
			if data == "" {
				data = "other@example.com\n"
			}
			if err := os.WriteFile(fwd, []byte(data), 0o600); err != nil {
				t.Fatal(err)
			}
			os.Chown(fwd, c.uid, c.gid)
			os.Chmod(fwd, c.mode)
			conf := filepath.Join(dir, "conf")
			text := fmt.Sprintf(`primary_hostname = test.example
spool_directory = %[1]s/spool
log_file_path = %[1]s/%%slog
begin routers
fwd:
  driver = redirect
  %[2]s
  file_transport = address_file
begin transports
address_file:
  driver = appendfile
`, dir, c.opts)
			if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			rcpt := login + "@test.example"
			want := oracletest.Run(t, exim, "", "-C", conf, "-bt", rcpt)
			got := oracletest.Run(t, exigo, "", "-C", conf, "-bt", rcpt)
			if got.Stdout != want.Stdout || got.Code != want.Code {
				t.Errorf("exim (rc=%d):\n%s\nexigo (rc=%d):\n%s", want.Code, want.Stdout, got.Code, got.Stdout)
			}
			t.Logf("%s", want.Stdout)
			if !strings.Contains(want.Stdout, "@") {
				t.Errorf("exim said nothing: %+v", want)
			}
			// -bv too, where no user's privileges are needed (with
			// -C, Exim's -bv runs as exim_user and cannot take them):
			// files that others may read, without check_local_user.
			if strings.HasPrefix(c.name, "plain") && c.mode&0o004 != 0 {
				want := oracletest.Run(t, exim, "", "-C", conf, "-bv", rcpt)
				got := oracletest.Run(t, exigo, "", "-C", conf, "-bv", rcpt)
				if got.Stdout != want.Stdout || got.Code != want.Code {
					t.Errorf("-bv: exim (rc=%d):\n%s\nexigo (rc=%d):\n%s", want.Code, want.Stdout, got.Code, got.Stdout)
				}
			}
		})
	}
}
