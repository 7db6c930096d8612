// Command mkqueue writes a large queue in Exim 4.96's spool format for
// benchmarks of the -bp family (see package spooltest): a split spool
// (split_spool_directory = true, 62 sub-directories) unless -flat, with
// a configuration file beside it that both Exim and exigo read.
//
//	go run ./scripts/mkqueue -dir /tmp/q -n 100000
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/exigo-mta/exigo/internal/spool/spooltest"
)

func main() {
	dir := flag.String("dir", "", "directory to create (conf, spool/, log/)")
	n := flag.Int("n", 100000, "number of messages")
	seed := flag.Uint64("seed", 1, "random seed")
	flat := flag.Bool("flat", false, "no split_spool_directory")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "mkqueue: -dir is required")
		os.Exit(2)
	}
	if err := spooltest.WriteQueue(spooltest.Options{Dir: *dir, N: *n, Seed: *seed, Split: !*flat}); err != nil {
		fmt.Fprintln(os.Stderr, "mkqueue:", err)
		os.Exit(1)
	}
}
