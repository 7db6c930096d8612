package spooltest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/exigo-mta/exigo/internal/spool"
)

// TestWriteQueue checks that the queue has the messages asked for, in
// the right directories, with -H files that parse and -D files that
// start with their name line.
func TestWriteQueue(t *testing.T) {
	for _, split := range []bool{false, true} {
		dir := t.TempDir()
		if err := WriteQueue(Options{Dir: dir, N: 200, Seed: 3, Split: split}); err != nil {
			t.Fatal(err)
		}
		pattern := filepath.Join(dir, "spool", "input", "*-H")
		if split {
			pattern = filepath.Join(dir, "spool", "input", "*", "*-H")
		}
		if _, err := os.Stat(filepath.Join(dir, "conf")); err != nil {
			t.Fatal(err)
		}
		hs, _ := filepath.Glob(pattern)
		if len(hs) != 200 {
			t.Fatalf("split=%v: %d -H files", split, len(hs))
		}
		frozen, delivered := 0, 0
		for _, p := range hs {
			b, _ := os.ReadFile(p)
			h, err := spool.Parse(b)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if split && filepath.Base(filepath.Dir(p)) != h.ID.SplitChar() {
				t.Errorf("%s in the wrong directory", h.ID)
			}
			if !h.Frozen.IsZero() {
				frozen++
			}
			if len(h.NonRecipients) > 0 {
				delivered++
			}
			d, err := os.ReadFile(p[:len(p)-1] + "D")
			if err != nil || string(d[:19]) != string(h.ID)+"-D\n" {
				t.Errorf("%s: -D file %.19q, %v", h.ID, d, err)
			}
		}
		if frozen == 0 || delivered == 0 {
			t.Errorf("split=%v: %d frozen, %d with delivered recipients", split, frozen, delivered)
		}
	}
}
