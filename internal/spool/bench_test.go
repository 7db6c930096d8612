package spool

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkWrite measures durable concurrent writes: messages per second
// and syncs (fdatasync, fsync, syncfs) per message, at 1, 20 and 100
// writers, with per-file fdatasync and with syncfs.
func BenchmarkWrite(b *testing.B) {
	for _, syncfs := range []bool{false, true} {
		for _, writers := range []int{1, 20, 100} {
			b.Run(fmt.Sprintf("syncfs=%v/writers=%d", syncfs, writers), func(b *testing.B) {
				s, err := Open(Options{Dir: b.TempDir(), SyncFS: syncfs})
				if err != nil {
					b.Fatal(err)
				}
				g, _ := NewGenerator(os.Getpid(), -1, nil)
				body := make([]byte, 4096)
				var next atomic.Int64
				start := time.Now()
				b.ResetTimer()
				var wg sync.WaitGroup
				for w := 0; w < writers; w++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for next.Add(1) <= int64(b.N) {
							id := g.New()
							if err := s.Write(testHeader(id, "a@b.example"), body); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				el := time.Since(start)
				st := s.Stats()
				b.ReportMetric(float64(st.Messages)/el.Seconds(), "msgs/s")
				b.ReportMetric(float64(st.Syncs)/float64(st.Messages), "syncs/msg")
				b.ReportMetric(float64(st.Messages)/float64(st.Groups), "msgs/group")
			})
		}
	}
}
