package spool

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BenchmarkWrite measures durable concurrent writes: messages per second
// and syncs (fdatasync, fsync, syncfs) per message, at 1, 20 and 100
// writers, with per-file fdatasync and with syncfs, in a split spool
// (split_spool_directory, as the benchmark configuration uses) and not.
// cpu-us/msg is the process's user+system CPU time per message.
func BenchmarkWrite(b *testing.B) {
	for _, split := range []bool{false, true} {
		for _, syncfs := range []bool{false, true} {
			for _, writers := range []int{1, 20, 100} {
				benchmarkWrite(b, split, syncfs, writers)
			}
		}
	}
}

func benchmarkWrite(b *testing.B, split, syncfs bool, writers int) {
	b.Run(fmt.Sprintf("split=%v/syncfs=%v/writers=%d", split, syncfs, writers), func(b *testing.B) {
		s, err := Open(Options{Dir: b.TempDir(), SyncFS: syncfs, Split: split})
		if err != nil {
			b.Fatal(err)
		}
		g, _ := NewGenerator(os.Getpid(), -1, nil)
		body := make([]byte, 4096)
		var next atomic.Int64
		cpu0 := cpuTime()
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
		b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(st.Messages), "cpu-us/msg")
	})
}

// cpuTime returns the user and system CPU time used by this process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
