package daemon_test

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/oracletest"
	"github.com/exigo-mta/exigo/internal/spool"
)

// TestCrashSafety: 20 concurrent senders while the daemon is killed with
// SIGKILL at random moments and restarted, several times. Afterwards
// every message that got 250 is in the spool, complete (-H parses, the
// -D file's size matches the body sent), and none is stored twice
// (each message carries a unique Message-ID).
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	bin := oracletest.Exigo(t)
	dir, conf := runDir(t, "")
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)

	var mu sync.Mutex
	accepted := map[string]int{} // Message-ID -> body length sent
	stopSenders := make(chan struct{})
	var wg sync.WaitGroup
	for s := 0; s < 20; s++ {
		wg.Add(1)
		go func(s int) {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stopSenders:
					return
				default:
				}
				mid := fmt.Sprintf("s%d-n%d@crash", s, n)
				body := strings.Repeat(fmt.Sprintf("sender %d message %d\r\n", s, n), 1+(s*7+n)%50)
				msg := "Message-ID: <" + mid + ">\r\nSubject: crash\r\n\r\n" + body
				if err := sendGo(addr, "s@crash.example", "r@test.example", msg); err == nil {
					mu.Lock()
					accepted[mid] = len(strings.ReplaceAll(body, "\r\n", "\n"))
					mu.Unlock()
				} else {
					time.Sleep(5 * time.Millisecond)
				}
			}
		}(s)
	}
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	const cycles = 5
	for i := 0; i < cycles; i++ {
		cmd := startDaemon(t, bin, conf, port)
		time.Sleep(time.Duration(100+rng.Intn(400)) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
	}
	close(stopSenders)
	wg.Wait()

	// Restart once more so the daemon's recovery (if any) runs, then
	// stop it cleanly.
	cmd := startDaemon(t, bin, conf, port)
	stop(t, cmd)

	input := filepath.Join(dir, "spool", "input")
	hs, _ := filepath.Glob(filepath.Join(input, "*-H"))
	found := map[string]int{}
	for _, p := range hs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		h, err := spool.Parse(b)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		mid := ""
		for _, hd := range h.Headers {
			if strings.EqualFold(hd.Name, "Message-ID") {
				mid = strings.Trim(strings.TrimSpace(hd.Value()), "<>")
			}
		}
		found[mid]++
		d, err := os.ReadFile(strings.TrimSuffix(p, "-H") + "-D")
		if err != nil {
			t.Errorf("%s: no -D file: %v", p, err)
			continue
		}
		first := bytes.IndexByte(d, '\n')
		bodyLen := len(d) - first - 1
		mu.Lock()
		want, ok := accepted[mid]
		mu.Unlock()
		if ok && bodyLen != want {
			t.Errorf("%s (%s): -D body %d bytes, sent %d", p, mid, bodyLen, want)
		}
	}
	missing, dup := 0, 0
	for mid := range accepted {
		if found[mid] == 0 {
			missing++
			if missing < 5 {
				t.Errorf("message %s got 250 but is not in the spool", mid)
			}
		}
	}
	for mid, n := range found {
		if n > 1 {
			dup++
			t.Errorf("message %s stored %d times", mid, n)
		}
	}
	t.Logf("%d kill cycles: %d messages got 250, %d in the spool (%d extra that were not confirmed), %d missing, %d duplicated",
		cycles, len(accepted), len(hs), len(hs)-len(accepted), missing, dup)
	if len(accepted) == 0 {
		t.Fatal("no message was accepted")
	}
}
