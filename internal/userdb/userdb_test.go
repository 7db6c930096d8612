package userdb

import (
	"errors"
	"os/user"
	"testing"
	"time"
)

// fake is a db over counted look-ups with a clock the test moves.
func fake(t *testing.T) (*db, map[string]int, *time.Time) {
	t.Helper()
	calls := map[string]int{}
	now := time.Unix(1000, 0)
	users := map[string]*user.User{"alice": {Uid: "1001", Gid: "1001", Username: "alice", HomeDir: "/home/alice"}}
	groups := map[string]*user.Group{"staff": {Gid: "50", Name: "staff"}}
	d := &db{
		now: func() time.Time { return now },
		lookup: func(s string) (*user.User, error) {
			calls["user "+s]++
			if s == "broken" {
				return nil, errors.New("nss down")
			}
			if u, ok := users[s]; ok {
				c := *u
				return &c, nil
			}
			return nil, user.UnknownUserError(s)
		},
		lookupID: func(s string) (*user.User, error) {
			calls["uid "+s]++
			for _, u := range users {
				if u.Uid == s {
					c := *u
					return &c, nil
				}
			}
			return nil, user.UnknownUserIdError(1)
		},
		lookupGroup: func(s string) (*user.Group, error) {
			calls["group "+s]++
			if g, ok := groups[s]; ok {
				c := *g
				return &c, nil
			}
			return nil, user.UnknownGroupError(s)
		},
		lookupGID: func(s string) (*user.Group, error) {
			calls["gid "+s]++
			return nil, user.UnknownGroupIdError(s)
		},
		groupIDs: func(u *user.User) ([]string, error) {
			calls["groups "+u.Username]++
			return []string{u.Gid, "50"}, nil
		},
	}
	return d, calls, &now
}

func TestKeptForMaxAge(t *testing.T) {
	d, calls, now := fake(t)
	for i := 0; i < 3; i++ {
		u, err := d.user(byName, "alice")
		if err != nil || u.Uid != "1001" || u.HomeDir != "/home/alice" {
			t.Fatalf("lookup %d: %+v %v", i, u, err)
		}
		u.Uid = "changed by the caller"
	}
	if calls["user alice"] != 1 {
		t.Errorf("read %d times within MaxAge, want 1", calls["user alice"])
	}
	*now = now.Add(MaxAge)
	if _, err := d.user(byName, "alice"); err != nil {
		t.Fatal(err)
	}
	if calls["user alice"] != 2 {
		t.Errorf("read %d times after MaxAge, want 2", calls["user alice"])
	}
	// A clock that goes back does not make an old answer new.
	*now = now.Add(-time.Hour)
	d.user(byName, "alice")
	if calls["user alice"] != 3 {
		t.Errorf("read %d times after the clock went back, want 3", calls["user alice"])
	}
}

func TestUnknownIsKeptFailureIsNot(t *testing.T) {
	d, calls, _ := fake(t)
	for i := 0; i < 2; i++ {
		_, err := d.user(byName, "bob")
		var uu user.UnknownUserError
		if !errors.As(err, &uu) {
			t.Fatalf("bob: %v, want UnknownUserError", err)
		}
		if _, err := d.user(byName, "broken"); err == nil || err.Error() != "nss down" {
			t.Fatalf("broken: %v", err)
		}
		if _, err := d.group(byGroupName, "nogroup"); err == nil {
			t.Fatal("nogroup found")
		}
	}
	if calls["user bob"] != 1 || calls["group nogroup"] != 1 {
		t.Errorf("unknown names read %d and %d times, want 1", calls["user bob"], calls["group nogroup"])
	}
	if calls["user broken"] != 2 {
		t.Errorf("a failed look-up was kept: read %d times, want 2", calls["user broken"])
	}
}

func TestKindsAreSeparate(t *testing.T) {
	d, calls, _ := fake(t)
	if u, err := d.user(byUID, "1001"); err != nil || u.Username != "alice" {
		t.Fatalf("uid 1001: %+v %v", u, err)
	}
	if _, err := d.user(byName, "1001"); err == nil {
		t.Fatal("user named 1001 found")
	}
	if g, err := d.group(byGroupName, "staff"); err != nil || g.Gid != "50" {
		t.Fatalf("staff: %+v %v", g, err)
	}
	if _, err := d.group(byGID, "staff"); err == nil {
		t.Fatal("gid staff found")
	}
	ids, err := d.groupIDsOf("alice")
	if err != nil || len(ids) != 2 || ids[1] != "50" {
		t.Fatalf("groups of alice: %v %v", ids, err)
	}
	ids[1] = "changed"
	ids, _ = d.groupIDsOf("alice")
	if ids[1] != "50" || calls["groups alice"] != 1 {
		t.Errorf("groups of alice: %v, read %d times", ids, calls["groups alice"])
	}
	if _, err := d.groupIDsOf("bob"); err == nil {
		t.Error("groups of an unknown user")
	}
}

func TestBounded(t *testing.T) {
	d, _, _ := fake(t)
	for i := 0; i < maxEntries+10; i++ {
		d.user(byUID, time.Duration(i).String())
	}
	if n := len(d.entries); n > maxEntries {
		t.Errorf("%d entries kept, bound %d", n, maxEntries)
	}
}

// TestSystem asks the machine's own user database.
func TestSystem(t *testing.T) {
	u, err := Lookup("root")
	if err != nil || u.Uid != "0" {
		t.Fatalf("root: %+v %v", u, err)
	}
	if u, err := LookupID("0"); err != nil || u.Username != "root" {
		t.Fatalf("uid 0: %+v %v", u, err)
	}
	if g, err := LookupGroupID("0"); err != nil || g.Name != "root" {
		t.Fatalf("gid 0: %+v %v", g, err)
	}
	if g, err := LookupGroup("root"); err != nil || g.Gid != "0" {
		t.Fatalf("group root: %+v %v", g, err)
	}
	if ids, err := GroupIDs("root"); err != nil || len(ids) == 0 {
		t.Fatalf("groups of root: %v %v", ids, err)
	}
	if _, err := Lookup("no-such-user-exigo"); err == nil {
		t.Fatal("unknown user found")
	}
}
