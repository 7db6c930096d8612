package spool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/message"
)

func testHeader(id ID, rcpt string) *Header {
	h := NewHeader(id)
	h.User, h.UID, h.GID = "exim", 101, 101
	h.Sender = "s@x.example"
	h.Received = time.Unix(1795768113, 123456000)
	h.ReceivedProtocol = "esmtp"
	h.HeloName, h.Tainted["helo_name"] = "client.example", true
	h.BodyLinecount = 1
	h.Recipients = []Recipient{NewRecipient(rcpt)}
	h.Headers = message.Headers{{Name: "Subject", Text: "Subject: t\n", Type: ' '}}
	return h
}

func TestConcurrentWritesDurable(t *testing.T) {
	for _, split := range []bool{false, true} {
		dir := t.TempDir()
		s, err := Open(Options{Dir: dir, Split: split})
		if err != nil {
			t.Fatal(err)
		}
		g, _ := NewGenerator(os.Getpid(), -1, nil)
		const writers, each = 20, 5
		var wg sync.WaitGroup
		ids := make(chan ID, writers*each)
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; i < each; i++ {
					id := g.New()
					if err := s.Write(testHeader(id, fmt.Sprintf("r%d.%d@y", w, i)), []byte("body\n")); err != nil {
						t.Error(err)
						return
					}
					ids <- id
				}
			}(w)
		}
		wg.Wait()
		close(ids)
		list, err := s.List()
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != writers*each {
			t.Fatalf("listed %d messages, want %d", len(list), writers*each)
		}
		for id := range ids {
			h, err := s.ReadHeader(id)
			if err != nil {
				t.Fatal(err)
			}
			if h.ID != id {
				t.Fatalf("header of %s says %s", id, h.ID)
			}
			l, err := s.Lock(id)
			if err != nil {
				t.Fatal(err)
			}
			b := make([]byte, DataOffset+5)
			if _, err := l.Data().ReadAt(b, 0); err != nil || string(b) != string(id)+"-D\nbody\n" {
				t.Fatalf("%s-D holds %q (%v)", id, b, err)
			}
			l.Unlock()
		}
		st := s.Stats()
		if st.Messages != writers*each {
			t.Errorf("stats %+v", st)
		}
		t.Logf("split=%v: %d messages in %d groups, %.2f syncs/message", split, st.Messages, st.Groups, float64(st.Syncs)/float64(st.Messages))
	}
}

func TestLockExclusive(t *testing.T) {
	s, _ := Open(Options{Dir: t.TempDir()})
	id := FormatID(1795768113, 77, 1)
	if err := s.Write(testHeader(id, "a@b"), []byte("x\n")); err != nil {
		t.Fatal(err)
	}
	l, err := s.Lock(id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lock(id); !errors.Is(err, ErrLocked) {
		t.Fatalf("second lock in one process: %v", err)
	}
	if err := s.AppendMsglog(id, "line 1\n"); err != nil {
		t.Fatal(err)
	}
	s.AppendMsglog(id, "line 2\n")
	if b, _ := os.ReadFile(s.MsglogPath(id)); string(b) != "line 1\nline 2\n" {
		t.Errorf("msglog %q", b)
	}
	h, _ := s.ReadHeader(id)
	h.Frozen = time.Unix(1795768200, 0)
	if err := s.Rewrite(l, h); err != nil {
		t.Fatal(err)
	}
	if h2, _ := s.ReadHeader(id); !h2.Frozen.Equal(h.Frozen) {
		t.Error("rewrite lost")
	}
	os.WriteFile(filepath.Join(l.Dir, string(id)+"-J"), []byte("a@b\n"), 0o640)
	if err := s.Remove(l); err != nil {
		t.Fatal(err)
	}
	left, _ := os.ReadDir(filepath.Join(s.opts.Dir, "input"))
	ml, _ := os.ReadDir(filepath.Join(s.opts.Dir, "msglog"))
	if len(left)+len(ml) != 0 {
		t.Errorf("files left after Remove: %v %v", left, ml)
	}
}

// TestCrashSafety stops a commit at each step as a crash would, then runs
// Recover: every message is then complete or absent.
func TestCrashSafety(t *testing.T) {
	for _, step := range []string{"sync", "rename", "rename-more", "dirsync", "report"} {
		for _, crash := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/crash=%v", step, crash), func(t *testing.T) {
				s, _ := Open(Options{Dir: t.TempDir()})
				var once sync.Once
				s.failAt = func(at string) error {
					var err error
					if at == step {
						once.Do(func() {
							err = errors.New("injected I/O error")
							if crash {
								err = errCrash
							}
						})
					}
					return err
				}
				// A group of several messages: hold the lead while
				// others queue up behind it.
				g, _ := NewGenerator(os.Getpid(), -1, nil)
				var wg sync.WaitGroup
				results := make(map[ID]error)
				var mu sync.Mutex
				for i := 0; i < 8; i++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						id := g.New()
						err := s.Write(testHeader(id, "a@b"), []byte("body\n"))
						mu.Lock()
						results[id] = err
						mu.Unlock()
					}()
				}
				wg.Wait()
				rep, err := s.Recover(0)
				if err != nil {
					t.Fatal(err)
				}
				if len(rep.NoData) != 0 {
					t.Errorf("half messages: %v", rep.NoData)
				}
				entries, _ := os.ReadDir(filepath.Join(s.opts.Dir, "input"))
				files := map[string]bool{}
				for _, e := range entries {
					files[e.Name()] = true
				}
				for id, err := range results {
					hasH, hasD := files[string(id)+"-H"], files[string(id)+"-D"]
					if hasH != hasD {
						t.Errorf("%s: -H %v, -D %v", id, hasH, hasD)
					}
					if err == nil && !hasH {
						t.Errorf("%s: reported durable but gone", id)
					}
					if err != nil && !crash && hasH {
						t.Errorf("%s: reported failed (%v) but present", id, err)
					}
					if hasH {
						if _, err := s.ReadHeader(id); err != nil {
							t.Errorf("%s: %v", id, err)
						}
					}
				}
				for n := range files {
					if len(n) != IDLen+2 {
						t.Errorf("left over: %s", n)
					}
				}
			})
		}
	}
}

func TestRecoverKeepsLockedAndComplete(t *testing.T) {
	s, _ := Open(Options{Dir: t.TempDir()})
	done := FormatID(1795768113, 1, 1)
	if err := s.Write(testHeader(done, "a@b"), []byte("x\n")); err != nil {
		t.Fatal(err)
	}
	busy, err := s.Create(FormatID(1795768113, 2, 1))
	if err != nil {
		t.Fatal(err)
	}
	busy.Write([]byte("in progress\n"))
	busy.w.Flush()
	orphan := filepath.Join(s.opts.Dir, "input", string(FormatID(1795768113, 3, 1))+"-D")
	os.WriteFile(orphan, []byte("x\n"), 0o640)
	rep, err := s.Recover(0)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.RemovedData) != 1 || rep.RemovedData[0] != orphan {
		t.Errorf("removed %v", rep.RemovedData)
	}
	if _, err := s.ReadHeader(done); err != nil {
		t.Error("complete message lost")
	}
	if err := busy.Commit(testHeader(busy.ID(), "c@d")); err != nil {
		t.Errorf("message being received was disturbed: %v", err)
	}
}
