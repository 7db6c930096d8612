package spool

import (
	"sort"
	"sync"
	"testing"
	"time"
)

func TestIDShape(t *testing.T) {
	// 1xWrJp-0000uU-2E: written by Exim 4.96, pid 0000uU = 3502.
	id := ID("1xWrJp-0000uU-2E")
	if !ValidID(string(id)) {
		t.Fatal("Exim id not valid")
	}
	if id.Pid() != 56*62+30 {
		t.Errorf("pid %d", id.Pid())
	}
	if got := FormatID(id.Time().Unix(), id.Pid(), id.Frac()); got != id {
		t.Errorf("FormatID round trip %s", got)
	}
	if id.SplitChar() != "p" {
		t.Errorf("split char %q", id.SplitChar())
	}
	for _, bad := range []string{"", "1xWrJp-0000uU-2", "1xWrJp_0000uU-2E", "1xWrJp-0000uU-2!", "1xWrJp-0000uU-2E-"} {
		if ValidID(bad) {
			t.Errorf("%q accepted", bad)
		}
		if _, err := ParseID(bad); err == nil {
			t.Errorf("ParseID(%q) gave no error", bad)
		}
	}
}

func TestGeneratorFraction(t *testing.T) {
	at := time.Unix(1795768113, 692984000)
	g, _ := NewGenerator(1916, -1, func() time.Time { return at })
	if id := g.New(); id != FormatID(1795768113, 1916, 692984/500) {
		t.Errorf("got %s", id)
	}
	g2, _ := NewGenerator(1916, 3, func() time.Time { return at })
	if id := g2.New(); id.Frac() != 3*200+692984/5000 {
		t.Errorf("localhost_number frac %d", id.Frac())
	}
	if _, err := NewGenerator(1, 17, nil); err == nil {
		t.Error("localhost_number 17 accepted")
	}
	if _, err := NewGenerator(1<<22, -1, nil); err == nil {
		t.Error("pid 2^22 accepted")
	}
}

// TestGeneratorUnique draws thousands of ids from many goroutines, once
// with the real clock and once with a frozen one (every id in one tick).
func TestGeneratorUnique(t *testing.T) {
	frozen := time.Unix(1795768113, 0)
	for name, clock := range map[string]func() time.Time{"real": nil, "frozen": func() time.Time { return frozen }} {
		g, err := NewGenerator(4194303, -1, clock)
		if err != nil {
			t.Fatal(err)
		}
		const workers, each = 50, 200
		var mu sync.Mutex
		seen := map[ID]bool{}
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ids := make([]ID, each)
				for i := range ids {
					ids[i] = g.New()
				}
				mu.Lock()
				for _, id := range ids {
					if seen[id] || !ValidID(string(id)) {
						t.Errorf("%s: duplicate or bad id %s", name, id)
					}
					seen[id] = true
				}
				mu.Unlock()
			}()
		}
		wg.Wait()
		if len(seen) != workers*each {
			t.Errorf("%s: %d ids", name, len(seen))
		}
		// Ids sort by time to the second.
		ids := make([]string, 0, len(seen))
		for id := range seen {
			ids = append(ids, string(id))
		}
		sort.Strings(ids)
		for i := 1; i < len(ids); i++ {
			if ID(ids[i]).Time().Before(ID(ids[i-1]).Time()) {
				t.Fatalf("%s: ids do not sort by time", name)
			}
		}
		if name == "real" {
			g.Close()
		}
	}
}

func TestGeneratorClockBack(t *testing.T) {
	now := time.Unix(1795768113, 500000000)
	g, _ := NewGenerator(100, -1, func() time.Time { return now })
	a := g.New()
	now = now.Add(-time.Second)
	b := g.New()
	if a == b {
		t.Fatal("clock step back repeated an id")
	}
}
