package transport

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/message"
	"github.com/exigo-mta/exigo/internal/spool"
)

// testMain is the main section every test configuration starts with.
const testMain = "primary_hostname = test.example\nqualify_domain = test.example\n"

// newTransport loads a configuration with the given transports section
// and returns the named transport.
func newTransport(t *testing.T, transports, name string) Transport {
	t.Helper()
	cfg, err := config.LoadBytes("/test.conf", []byte(testMain+"begin transports\n"+transports), config.Options{})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	d := cfg.Transport(name)
	if d == nil {
		t.Fatalf("no transport %s", name)
	}
	tr, err := New(cfg, d)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return tr
}

// testUser is the uid and gid deliveries in tests run as: the process's
// own, or nobody's when the tests run as root.
func testUser(t *testing.T) (int, int) {
	if os.Geteuid() != 0 {
		return os.Geteuid(), os.Getegid()
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return uid, gid
}

// tempDir is a temporary directory the test user may write to.
func tempDir(t *testing.T) string {
	d := t.TempDir()
	os.Chmod(filepath.Dir(d), 0o755)
	os.Chmod(d, 0o777)
	return d
}

var testNow = time.Date(2024, 3, 7, 9, 5, 3, 123456000, time.UTC)

// newMessage builds a spool header and body from message text.
func newMessage(t *testing.T, sender, text string) (*spool.Header, []byte) {
	t.Helper()
	br := bufio.NewReader(strings.NewReader(text))
	hs, rest, err := message.ReadHeaders(br)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(br)
	h := spool.NewHeader(spool.ID("1rhQZS-0001AB-Cd"))
	h.Sender = sender
	h.Headers = hs
	return h, append([]byte(rest), body...)
}

// newDelivery is a delivery of text to addrs.
func newDelivery(t *testing.T, text string, addrs ...string) *Delivery {
	t.Helper()
	h, body := newMessage(t, "sender@x.org", text)
	uid, gid := testUser(t)
	d := &Delivery{Header: h, Body: bytes.NewReader(body), BodySize: int64(len(body)),
		Now: func() time.Time { return testNow }, Router: "r1"}
	for _, a := range addrs {
		lp, dom, _ := strings.Cut(a, "@")
		d.Addresses = append(d.Addresses, Address{Address: a, LocalPart: lp, Domain: dom, UID: uid, GID: gid})
	}
	if len(addrs) > 0 {
		lp, dom, _ := strings.Cut(addrs[0], "@")
		d.Ctx = &expand.Context{Vars: expand.VarMap{"local_part": lp, "local_part_data": lp, "domain": dom}, Now: d.Now}
	}
	return d
}

func deliver(t *testing.T, tr Transport, d *Delivery) []Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rs := tr.Deliver(ctx, d)
	if len(rs) != len(d.Addresses) {
		t.Fatalf("got %d results for %d addresses", len(rs), len(d.Addresses))
	}
	return rs
}

const simpleMsg = "Subject: hi\nFrom: a@b.c\n\nFrom the start\nline2\n>From x\n.\n"
