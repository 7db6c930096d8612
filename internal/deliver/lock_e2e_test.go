package deliver_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// lockConf appends to MBOX (a mailbox the test holds locked) with the
// locking options of each case.
const lockConf = `exim_user = Debian-exim
exim_group = Debian-exim
deliver_drop_privilege = true
spool_directory = DIR/spool
log_file_path = DIR/spool/log/%slog
primary_hostname = test.example
qualify_domain = test.example
never_users =
keep_environment =
begin routers
r:
  driver = accept
  transport = t
begin transports
t:
  driver = appendfile
  file = MBOX
  user = Debian-exim
  lock_retries = 2
  lock_interval = 0s
  LOCKOPTS
begin retry
* * F,1h,10m
`

// hitchRE masks the time and pid in a hitching post's name.
var hitchRE = regexp.MustCompile(`\.lock\.test\.example\.[0-9a-f]{8}\.[0-9a-f]{8}`)

// TestLockFailures compares the deferrals of appendfile when it cannot
// lock the mailbox (spec chapter "The appendfile transport", section
// "Operational details for appending") with Exim 4.96's.
func TestLockFailures(t *testing.T) {
	exim := oracletest.Exim(t)
	exigo := oracletest.Exigo(t)
	uid, gid := oracletest.EximUser(t)
	long := strings.Repeat("m", 225)
	cases := []struct {
		name, opts, hold, mbox string
		want                   string // in Exim's log: the case tests what it means to
	}{
		{name: "lockfile_held", hold: "lockfile", want: "defer (-9): failed to lock mailbox MDIR/mbox (lock file)"},
		{name: "fcntl_held", opts: "no_use_lockfile", hold: "fcntl", want: "defer (-9): failed to lock mailbox MDIR/mbox (fcntl/flock)"},
		{name: "fcntl_timeout", opts: "no_use_lockfile\n  lock_fcntl_timeout = 1s", hold: "fcntl", want: "(fcntl/flock)"},
		{name: "flock_held", opts: "no_use_lockfile\n  use_flock_lock", hold: "flock", want: "(fcntl/flock)"},
		{name: "flock_only_ignores_fcntl", opts: "no_use_lockfile\n  use_flock_lock", hold: "fcntl", want: "=> a <a@test.example> R=r T=t"},
		{name: "fcntl_and_flock", opts: "no_use_lockfile\n  use_flock_lock\n  use_fcntl_lock", hold: "fcntl", want: "(fcntl/flock)"},
		{name: "hitching_post", mbox: long, want: "defer (36): File name too long: creating lock file hitching post MDIR/LONG.lock.test.example.TIME.PID (euid="},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out [2]string
			for i, bin := range []string{exim, exigo} {
				mdir, err := os.MkdirTemp("", "exigo-lock-")
				if err != nil {
					t.Fatal(err)
				}
				defer os.RemoveAll(mdir)
				os.Chmod(mdir, 0o755)
				os.Chown(mdir, uid, gid)
				name := "mbox"
				if c.mbox != "" {
					name = c.mbox
				}
				mbox := filepath.Join(mdir, name)
				os.WriteFile(mbox, nil, 0o600)
				os.Chown(mbox, uid, gid)
				f, err := os.OpenFile(mbox, os.O_RDWR, 0)
				if err != nil {
					t.Fatal(err)
				}
				switch c.hold {
				case "lockfile":
					os.WriteFile(mbox+".lock", nil, 0o600)
				case "fcntl":
					lk := unix.Flock_t{Type: unix.F_WRLCK}
					if err := unix.FcntlFlock(f.Fd(), unix.F_SETLK, &lk); err != nil {
						t.Fatal(err)
					}
				case "flock":
					if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
						t.Fatal(err)
					}
				}
				conf := strings.NewReplacer("MBOX", mbox, "LOCKOPTS", c.opts).Replace(lockConf)
				got := runE2E(t, bin, e2eCase{name: c.name, rcpts: []string{"a@test.example"}, conf: conf, steps: [][]string{{"@bp"}}}, 0)
				f.Close()
				got = strings.ReplaceAll(got, mdir, "MDIR")
				got = strings.ReplaceAll(got, long, "LONG")
				got = hitchRE.ReplaceAllString(got, ".lock.test.example.TIME.PID")
				out[i] = got
			}
			if !strings.Contains(out[0], c.want) {
				t.Errorf("Exim's log lacks %q:\n%s", c.want, out[0])
			}
			if out[0] != out[1] {
				t.Errorf("exim and exigo differ\n--- exim:\n%s\n--- exigo:\n%s", out[0], out[1])
			}
		})
	}
}
