// Package dbtools implements Exim's hints database utilities over
// exigo's hints databases: exim_dumpdb, exim_tidydb, exim_fixdb and
// exinext.
//
// Exim specification: chapter "Exim utilities", sections "Finding
// individual retry times (exinext)", "Hints database maintenance",
// "exim_dumpdb", "exim_tidydb" and "exim_fixdb".
package dbtools

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/exigo-mta/exigo/internal/hintsdb"
)

// Env is what the tools need from the process.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Now    func() time.Time
	// Spool is the default spool directory (exinext), from the
	// configuration.
	Spool string
}

const dateLayout = "02-Jan-2006 15:04:05"

const dumpUsage = `Usage: exim_dumpdb [-z] [-k]  <spool-directory> <database-name>
  <database-name> = retry | misc | wait-<transport-name> | callout | ratelimit | tls | seen
`

// DumpDB implements exim_dumpdb [-z] [-k] spool name: every record on
// standard output in Exim's text format; -z shows times in UTC, -k only
// the keys.
func DumpDB(args []string, env *Env) int {
	utc, keysOnly := false, false
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "-z":
			utc = true
		case "-k":
			keysOnly = true
		default:
			io.WriteString(env.Stderr, dumpUsage)
			return 1
		}
		args = args[1:]
	}
	if len(args) != 2 || !hintsdb.ValidName(args[1]) {
		io.WriteString(env.Stderr, dumpUsage)
		return 1
	}
	db, err := hintsdb.Open(args[0], args[1], false)
	if err != nil {
		fmt.Fprint(env.Stdout, err.Error()+"\n")
		return 1
	}
	defer db.Close()
	keys, err := db.Keys()
	if err != nil {
		fmt.Fprintf(env.Stderr, "exim_dumpdb: %v\n", err)
		return 1
	}
	loc := time.Local
	if utc {
		loc = time.UTC
	}
	for _, k := range keys {
		if keysOnly {
			fmt.Fprintf(env.Stdout, "  %s\n", k)
			continue
		}
		line, err := FormatRecord(db, k, loc)
		if err != nil {
			fmt.Fprintf(env.Stdout, "** Failed to read record %s: %v\n", k, err)
			continue
		}
		io.WriteString(env.Stdout, line)
	}
	return 0
}

// FormatRecord returns the exim_dumpdb text of one record (with its final
// newline), by the kind of database.
func FormatRecord(db *hintsdb.DB, key string, loc *time.Location) (string, error) {
	d := func(t time.Time) string { return t.In(loc).Format(dateLayout) }
	name := db.Name
	switch {
	case name == "retry":
		var r hintsdb.RetryRecord
		if _, err := db.Get(key, &r); err != nil {
			return "", err
		}
		exp := ""
		if r.Expired {
			exp = "*"
		}
		return fmt.Sprintf("  %s %d %d %s\n%s  %s  %s %s\n", key, r.BasicErrno, r.MoreErrno, r.Text,
			d(r.FirstFailed), d(r.LastTry), d(r.NextTry), exp), nil
	case strings.HasPrefix(name, "wait-"):
		var r hintsdb.WaitRecord
		if _, err := db.Get(key, &r); err != nil {
			return "", err
		}
		var b strings.Builder
		b.WriteString(key + " ")
		for _, id := range r.IDs {
			b.WriteString(id + " ")
		}
		return b.String() + "\n", nil
	case name == "callout":
		var r hintsdb.CalloutRecord
		if _, err := db.Get(key, &r); err != nil {
			return "", err
		}
		if strings.Contains(key, "@") {
			return fmt.Sprintf("%s %s callout=%s\n", d(r.TimeStamp), key, calloutName(r.Result)), nil
		}
		return fmt.Sprintf("%s %s callout=%s postmaster=%s random=%s\n", d(r.TimeStamp), key,
			calloutName(r.Result), calloutName(r.Postmaster), calloutName(r.Random)), nil
	case name == "ratelimit":
		var r hintsdb.RatelimitRecord
		if _, err := db.Get(key, &r); err != nil {
			return "", err
		}
		ts := fmt.Sprintf("%s.%06d", d(r.TimeStamp), r.TimeStamp.Nanosecond()/1000)
		if r.Bloom != nil {
			return fmt.Sprintf("%s rate: %10.3f epoch: %s size: %d key: %s\n", ts, r.Rate, d(r.Bloom.Epoch), r.Bloom.Size, key), nil
		}
		return fmt.Sprintf("%s rate: %10.3f key: %s\n", ts, r.Rate, key), nil
	default: // misc, tls, seen
		var r struct {
			TimeStamp time.Time `json:"ts"`
		}
		if _, err := db.Get(key, &r); err != nil {
			return "", err
		}
		return fmt.Sprintf("%s %s\n", d(r.TimeStamp), key), nil
	}
}

func calloutName(n int) string {
	switch n {
	case hintsdb.CalloutAccept:
		return "accept"
	case hintsdb.CalloutReject:
		return "reject"
	}
	return "unknown"
}
