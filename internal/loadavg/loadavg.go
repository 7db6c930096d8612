// Package loadavg reads the system load average the way Exim uses it:
// the one-minute average as an integer in thousandths (Exim
// specification chapter "String expansions", $load_average: "multiplied
// by 1000 so that it is an integer"), the unit of the fixed-point
// options queue_only_load, deliver_queue_load_max and smtp_load_reserve
// (chapter "Main configuration").
//
// On Linux the value comes from /proc/loadavg, which is what
// getloadavg(3) reads.
package loadavg

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Path is the file the load average is read from.
const Path = "/proc/loadavg"

// Reader returns the load average in thousandths. Read is the real one;
// tests pass their own.
type Reader func() (int, error)

// Read returns the current one-minute load average in thousandths.
func Read() (int, error) {
	b, err := os.ReadFile(Path)
	if err != nil {
		return 0, fmt.Errorf("reading load average: %w", err)
	}
	return Parse(string(b))
}

// Parse returns the first field of a /proc/loadavg line ("1.33 0.98
// 0.70 2/120 4711") in thousandths. The value is truncated, not
// rounded, after multiplying by 1000 as a binary fraction, so "2.01"
// gives 2009, as Exim 4.96 shows it (observed with $load_average).
func Parse(text string) (int, error) {
	field, _, _ := strings.Cut(strings.TrimLeft(text, " \t"), " ")
	field = strings.TrimSpace(field)
	f, err := strconv.ParseFloat(field, 64)
	if err != nil || f < 0 || f > 1e6 || f != f {
		return 0, fmt.Errorf("malformed load average %q", field)
	}
	return int(f * 1000), nil
}

// Format writes a load in thousandths as Exim's log lines show it: with
// two decimals ("no immediate delivery: load average 1.33", "Abandon
// queue run: ... (load 1.33, max 0.00)").
func Format(n int) string {
	return strconv.FormatFloat(float64(n)/1000, 'f', 2, 64)
}

// Above reads the load average and reports whether it is greater than
// limit (thousandths), with the load read. A load that cannot be read
// is never above: Exim's options "have no effect" where it cannot
// determine the load average (chapter "Main configuration").
func Above(read Reader, limit int) (bool, int) {
	if read == nil {
		read = Read
	}
	n, err := read()
	if err != nil {
		return false, 0
	}
	return n > limit, n
}
