// Command inodefloor measures what creating maildir files costs the
// file system alone, in the conditions of a benchmark that deletes one
// run's files just before the next run starts.
//
// Each round creates N files of SIZE bytes the way exigo's appendfile
// makes maildir files (an unnamed O_TMPFILE file in tmp/, written, then
// linked into new/) with WORKERS threads, in a directory made for the
// round, and reports the wall time and the process's CPU time. Two kinds
// of round alternate:
//
//   - "after delete": N files were created in another new directory and
//     deleted just before the round (as the benchmark harness removes
//     the previous run's maildir and spool);
//   - "fresh": nothing was deleted in the last minutes (the previous
//     directories are kept, not deleted).
//
// On ext4 without a journal the inode allocator skips, one by one, the
// inodes freed in the last 60 seconds (300 while their inode table block
// is not yet written back), so the first kind costs far more.
//
//	go run ./scripts/inodefloor [-n 5000] [-size 2048] [-workers 32] [-rounds 3] DIR
//
// DIR must be on the file system under test; the program removes what
// it made there at the end.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	n := flag.Int("n", 5000, "files per round")
	size := flag.Int("size", 2048, "bytes per file")
	workers := flag.Int("workers", 32, "threads creating files")
	rounds := flag.Int("rounds", 3, "rounds of each kind")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: inodefloor [flags] DIR")
		os.Exit(2)
	}
	top, err := os.MkdirTemp(flag.Arg(0), "inodefloor.")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer os.RemoveAll(top)
	seq := 0
	dir := func() string {
		seq++
		return filepath.Join(top, strconv.Itoa(seq))
	}
	for r := 1; r <= *rounds; r++ {
		// After a deletion: fill a directory, delete it, then measure.
		victim := dir()
		if _, _, err := fill(victim, *n, *size, *workers); err != nil {
			fail(err)
		}
		if err := os.RemoveAll(victim); err != nil {
			fail(err)
		}
		wall, cpu, err := fill(dir(), *n, *size, *workers)
		if err != nil {
			fail(err)
		}
		fmt.Printf("round %d  after delete  %d files  wall %6.3fs  cpu %6.3fs\n", r, *n, wall.Seconds(), cpu.Seconds())
		// Fresh: wait out the window in which the deleted inodes are
		// skipped, delete nothing, measure.
		time.Sleep(65 * time.Second)
		wall, cpu, err = fill(dir(), *n, *size, *workers)
		if err != nil {
			fail(err)
		}
		fmt.Printf("round %d  fresh         %d files  wall %6.3fs  cpu %6.3fs\n", r, *n, wall.Seconds(), cpu.Seconds())
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

// fill creates n maildir files in a new maildir d and returns the wall
// time and the CPU time the process spent.
func fill(d string, n, size, workers int) (time.Duration, time.Duration, error) {
	for _, sub := range []string{"tmp", "new", "cur"} {
		if err := os.MkdirAll(filepath.Join(d, sub), 0o700); err != nil {
			return 0, 0, err
		}
	}
	buf := make([]byte, size)
	for i := range buf {
		buf[i] = 'x'
	}
	cpu0 := cpuTime()
	t0 := time.Now()
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += workers {
				if err := create(d, i, buf); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	wall, cpu := time.Since(t0), cpuTime()-cpu0
	select {
	case err := <-errs:
		return 0, 0, err
	default:
	}
	return wall, cpu, nil
}

// create writes one file as appendfile does: unnamed in tmp/, then
// linked into new/.
func create(d string, i int, buf []byte) error {
	fd, err := unix.Open(filepath.Join(d, "tmp"), unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("creating a file in %s/tmp: %w", d, err)
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, buf); err != nil {
		return fmt.Errorf("writing: %w", err)
	}
	dst := filepath.Join(d, "new", strconv.Itoa(i))
	if err := unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), unix.AT_FDCWD, dst, unix.AT_SYMLINK_FOLLOW); err != nil {
		return fmt.Errorf("linking %s: %w", dst, err)
	}
	return nil
}

// cpuTime is the user and system time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
