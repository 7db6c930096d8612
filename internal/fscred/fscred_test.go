package fscred

import (
	"errors"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
)

// nobody returns the uid and gid of the unprivileged user the tests
// take; they need root.
func nobody(t *testing.T) (int, int) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Fatalf("no user nobody: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return uid, gid
}

// tempDir is a new directory with mode perm that other users can reach.
func tempDir(t *testing.T, perm os.FileMode) string {
	d := t.TempDir()
	os.Chmod(filepath.Dir(d), 0o755)
	os.Chmod(d, perm)
	return d
}

func owner(t *testing.T, path string) (int, int) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	s := st.Sys().(*syscall.Stat_t)
	return int(s.Uid), int(s.Gid)
}

func TestDoTakesTheUsersPermissions(t *testing.T) {
	uid, gid := nobody(t)
	open := tempDir(t, 0o777)
	closed := filepath.Join(tempDir(t, 0o755), "root-only")
	if err := os.Mkdir(closed, 0o755); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(closed, "secret")
	if err := os.WriteFile(secret, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}

	var created, mkdirErr, readErr, chownErr error
	err := Do(Cred{UID: uid, GID: gid}, func(*Thread) {
		created = os.WriteFile(filepath.Join(open, "mine"), []byte("mail"), 0o600)
		mkdirErr = os.Mkdir(filepath.Join(closed, "sub"), 0o700)
		_, readErr = os.ReadFile(secret)
		chownErr = os.Chown(filepath.Join(open, "mine"), 0, 0)
	})
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	if created != nil {
		t.Fatalf("create in a world-writable directory: %v", created)
	}
	if u, g := owner(t, filepath.Join(open, "mine")); u != uid || g != gid {
		t.Errorf("new file owned by %d:%d, want %d:%d", u, g, uid, gid)
	}
	if !errors.Is(mkdirErr, fs.ErrPermission) {
		t.Errorf("mkdir in root's directory: %v, want permission denied", mkdirErr)
	}
	if !errors.Is(readErr, fs.ErrPermission) {
		t.Errorf("read of root's 0600 file: %v, want permission denied", readErr)
	}
	if chownErr == nil {
		t.Errorf("chown to root succeeded without root's capabilities")
	}

	// The calling goroutine's thread is still root.
	p := filepath.Join(open, "roots")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if u, _ := owner(t, p); u != 0 {
		t.Errorf("file created after Do owned by %d, want 0", u)
	}
}

// TestDoDoesNotLeak runs many Do calls while other goroutines create
// files: none of theirs may be owned by the user.
func TestDoDoesNotLeak(t *testing.T) {
	uid, gid := nobody(t)
	dir := tempDir(t, 0o777)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(2)
		go func(i int) {
			defer wg.Done()
			if err := Do(Cred{UID: uid, GID: gid}, func(*Thread) {
				os.WriteFile(filepath.Join(dir, "user"+strconv.Itoa(i)), nil, 0o600)
			}); err != nil {
				t.Error(err)
			}
		}(i)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 20; j++ {
				os.WriteFile(filepath.Join(dir, "root"+strconv.Itoa(i*100+j)), nil, 0o600)
			}
		}(i)
	}
	wg.Wait()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	users, roots := 0, 0
	for _, e := range ents {
		u, _ := owner(t, filepath.Join(dir, e.Name()))
		switch name := e.Name(); {
		case name[:4] == "user":
			users++
			if u != uid {
				t.Errorf("%s owned by %d, want %d", name, u, uid)
			}
		default:
			roots++
			if u != 0 {
				t.Errorf("%s owned by %d, want root", name, u)
			}
		}
	}
	if users != 20 || roots != 400 {
		t.Errorf("%d user files and %d root files, want 20 and 400", users, roots)
	}
}

func TestSupplementaryGroups(t *testing.T) {
	uid, gid := nobody(t)
	// A directory writable only by a group the user is given.
	dir := filepath.Join(tempDir(t, 0o755), "grp")
	if err := os.Mkdir(dir, 0o770); err != nil {
		t.Fatal(err)
	}
	const group = 4242
	if err := os.Chown(dir, 0, group); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o770)
	var without, with error
	Do(Cred{UID: uid, GID: gid}, func(*Thread) {
		without = os.WriteFile(filepath.Join(dir, "a"), nil, 0o600)
	})
	if err := Do(Cred{UID: uid, GID: gid, Groups: []int{gid, group}}, func(*Thread) {
		with = os.WriteFile(filepath.Join(dir, "b"), nil, 0o600)
	}); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(without, fs.ErrPermission) {
		t.Errorf("without the group: %v, want permission denied", without)
	}
	if with != nil {
		t.Errorf("with the group: %v", with)
	}
}

func TestUserGroups(t *testing.T) {
	if got := UserGroups("", 7); len(got) != 1 || got[0] != 7 {
		t.Errorf("UserGroups(\"\", 7) = %v", got)
	}
	if got := UserGroups("no-such-user-here", 7); len(got) != 1 || got[0] != 7 {
		t.Errorf("unknown user: %v", got)
	}
	if got := UserGroups("root", 0); len(got) == 0 || got[0] != 0 {
		t.Errorf("root: %v", got)
	}
}

func TestAsRoot(t *testing.T) {
	uid, gid := nobody(t)
	closed := tempDir(t, 0o755)
	var before, during, after, offThread error
	err := Do(Cred{UID: uid, GID: gid}, func(th *Thread) {
		before = os.WriteFile(filepath.Join(closed, "before"), nil, 0o600)
		if err := th.AsRoot(func() {
			during = os.WriteFile(filepath.Join(closed, "during"), nil, 0o600)
		}); err != nil {
			t.Errorf("AsRoot: %v", err)
		}
		after = os.WriteFile(filepath.Join(closed, "after"), nil, 0o600)
		done := make(chan struct{})
		go func() {
			offThread = th.AsRoot(func() { t.Error("AsRoot ran off the run's thread") })
			close(done)
		}()
		<-done
	})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(before, fs.ErrPermission) || !errors.Is(after, fs.ErrPermission) {
		t.Errorf("as the user: before %v, after %v; want permission denied", before, after)
	}
	if during != nil {
		t.Errorf("as root: %v", during)
	}
	if offThread == nil {
		t.Errorf("AsRoot from another goroutine did not fail")
	}
}
