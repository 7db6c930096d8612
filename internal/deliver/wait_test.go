package deliver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/hintsdb"
	"github.com/exigo-mta/exigo/internal/router"
	"github.com/exigo-mta/exigo/internal/spool"
	"github.com/exigo-mta/exigo/internal/transport"
)

func TestHostDeferral(t *testing.T) {
	hosts := []router.Host{{Name: "mx.example", Addr: "192.0.2.1"}}
	for _, c := range []struct {
		name string
		it   item
		want bool
	}{
		{"connection refused", item{state: deferred, errno: 111, hosts: hosts}, true},
		{"retry time not reached", item{state: deferred, errno: -54, hosts: hosts}, true},
		{"connect timeout", item{state: deferred, errno: transport.ErrnoConnTimeout, hosts: hosts}, true},
		{"rcpt 4xx", item{state: deferred, errno: -44, errCode: transport.ErrRcpt4xx, hosts: hosts}, false},
		{"data 4xx", item{state: deferred, errno: -46, errCode: transport.ErrData4xx, hosts: hosts}, false},
		{"remote deliveries suppressed", item{state: deferred, errno: -55, hosts: hosts}, false},
		{"no hosts", item{state: deferred, errno: 111}, false},
		{"delivered", item{state: delivered, errno: 111, hosts: hosts}, false},
	} {
		if got := hostDeferral(&c.it); got != c.want {
			t.Errorf("%s: hostDeferral = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestWaitRecords adds messages to a host's record as deferrals do and
// takes them out as continued deliveries do: newest first, each id
// once, skipping ids done or no longer on the queue, deleting the
// record when it is empty.
func TestWaitRecords(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.LoadBytes("/w.conf", []byte("spool_directory = "+dir+"\nbegin transports\nremote_smtp:\n  driver = smtp\n"), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sp, err := spool.Open(spool.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(&Deliverer{Config: cfg, Spool: sp})
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{"1xWwGz-0007Nr-8p", "1xWwGz-0007Nx-9A", "1xWwGz-0007O3-9Q", "1xWwGz-0007O9-9Z"}
	os.MkdirAll(filepath.Join(dir, "input"), 0o750)
	for _, id := range ids[:3] { // the fourth is no longer on the queue
		os.WriteFile(filepath.Join(dir, "input", id+"-H"), nil, 0o640)
	}
	hosts := []router.Host{{Name: "mx.example", Addr: "192.0.2.1"}, {Name: "mx.example", Addr: "192.0.2.2"}, {Name: "mx2.example", Addr: "192.0.2.3"}}
	for _, id := range []string{ids[3], ids[0], ids[1], ids[0], ids[2]} {
		m := &attempt{d: d, h: spool.NewHeader(spool.ID(id)), now: time.Unix(1e9, 0),
			items: []*item{{state: deferred, errno: 111, transport: "remote_smtp", hosts: hosts}}}
		m.updateWaiting()
	}
	db, err := hintsdb.Open(dir, "wait-remote_smtp", false)
	if err != nil {
		t.Fatal(err)
	}
	var rec hintsdb.WaitRecord
	db.Get("mx.example", &rec)
	keys, _ := db.Keys()
	db.Close()
	if got, want := strings.Join(rec.IDs, " "), strings.Join([]string{ids[3], ids[0], ids[1], ids[2]}, " "); got != want {
		t.Errorf("record: %s, want %s", got, want)
	}
	if strings.Join(keys, " ") != "mx.example mx2.example" {
		t.Errorf("keys: %v", keys)
	}
	hk := hostKey{"remote_smtp", "mx.example"}
	done := map[string]bool{ids[2]: true}
	var got []string
	for id := d.popWaiting(hk, done); id != ""; id = d.popWaiting(hk, done) {
		done[id] = true
		got = append(got, id)
	}
	if strings.Join(got, " ") != ids[1]+" "+ids[0] {
		t.Errorf("popped %v, want %s %s", got, ids[1], ids[0])
	}
	db, _ = hintsdb.Open(dir, "wait-remote_smtp", false)
	found, _ := db.Get("mx.example", &rec)
	db.Close()
	if found {
		t.Errorf("record left behind: %v", rec.IDs)
	}
	if w := waitingHosts(dir, waitDBNames(dir)); len(w[ids[0]]) != 1 || w[ids[0]][0] != "wait-remote_smtp mx2.example" {
		t.Errorf("waitingHosts: %v", w)
	}
}

// TestContinuedHost maps continuation record keys to their host.
func TestContinuedHost(t *testing.T) {
	keys := []string{"mx.example", "mx.example:0", "mx.example:12", "other:3", "::1"}
	for _, c := range []struct{ key, want string }{
		{"mx.example", "mx.example"},
		{"mx.example:0", "mx.example"},
		{"mx.example:12", "mx.example"},
		{"other:3", "other:3"}, // no record "other"
		{"::1", "::1"},
		{"mx.example:", "mx.example:"},
		{"mx.example:x1", "mx.example:x1"},
	} {
		if got := continuedHost(c.key, keys); got != c.want {
			t.Errorf("continuedHost(%q) = %q, want %q", c.key, got, c.want)
		}
	}
}
