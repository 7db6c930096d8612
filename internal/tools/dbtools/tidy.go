package dbtools

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/exigo-mta/exigo/internal/hintsdb"
	"github.com/exigo-mta/exigo/internal/retry"
)

const tidyUsage = `Usage: exim_tidydb [-t <time>]  <spool-directory> <database-name>
  <database-name> = retry | misc | wait-<transport-name> | callout | ratelimit | tls | seen
`

// messageID matches an Exim message id (the 4.96 form and the older one).
var messageID = regexp.MustCompile(`^[0-9A-Za-z]{6}-([0-9A-Za-z]{6}-[0-9A-Za-z]{2}|[0-9A-Za-z]{11}-[0-9A-Za-z]{4})$`)

// TidyDB implements exim_tidydb [-t time] spool name: it removes records
// older than the time (default 30 days, by their time stamp), retry
// records keyed by ids of messages no longer on the queue, and ids of such
// messages from wait- records (removing records left empty), saying so on
// standard output.
func TidyDB(args []string, env *Env) int {
	maxAge := 30 * 24 * time.Hour
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		if args[0] != "-t" || len(args) < 2 {
			io.WriteString(env.Stderr, tidyUsage)
			return 1
		}
		secs, ok := retry.ParseTime(args[1])
		if !ok {
			io.WriteString(env.Stderr, tidyUsage)
			return 1
		}
		maxAge = time.Duration(secs) * time.Second
		args = args[2:]
	}
	if len(args) != 2 || !hintsdb.ValidName(args[1]) {
		io.WriteString(env.Stderr, tidyUsage)
		return 1
	}
	spool, name := args[0], args[1]
	db, err := hintsdb.Open(spool, name, true)
	if err != nil {
		fmt.Fprint(env.Stdout, err.Error()+"\n")
		return 1
	}
	defer db.Close()
	now := env.Now()
	fmt.Fprintf(env.Stdout, "Tidying Exim hints database %s\n", db.Path)
	keys, err := db.Keys()
	if err != nil {
		fmt.Fprintf(env.Stderr, "exim_tidydb: %v\n", err)
		return 1
	}
	for _, k := range keys {
		var stamp struct {
			TimeStamp time.Time `json:"ts"`
		}
		if _, err := db.Get(k, &stamp); err != nil {
			continue
		}
		if now.Sub(stamp.TimeStamp) > maxAge {
			db.Delete(k)
			fmt.Fprintf(env.Stdout, "deleted %s (too old)\n", k)
			continue
		}
		switch {
		case name == "retry":
			// A key ending in a message id is a message-specific record.
			i := strings.LastIndexByte(k, ':')
			if i >= 0 && messageID.MatchString(k[i+1:]) && !onQueue(spool, k[i+1:]) {
				db.Delete(k)
				fmt.Fprintf(env.Stdout, "deleted %s (no message)\n", k)
			}
		case strings.HasPrefix(name, "wait-"):
			var w hintsdb.WaitRecord
			if _, err := db.Get(k, &w); err != nil {
				continue
			}
			var keep []string
			for _, id := range w.IDs {
				if onQueue(spool, id) {
					keep = append(keep, id)
				}
			}
			if len(keep) == len(w.IDs) {
				continue
			}
			if len(keep) == 0 {
				db.Delete(k)
				fmt.Fprintf(env.Stdout, "deleted %s (empty)\n", k)
				continue
			}
			w.IDs = keep
			db.Put(k, &w)
			fmt.Fprintf(env.Stdout, "updated %s\n", k)
		}
	}
	fmt.Fprintf(env.Stdout, "Tidying complete\n")
	return 0
}

// onQueue reports whether message id has a header file in the spool's
// input directory (flat or split).
func onQueue(spool, id string) bool {
	for _, p := range []string{
		filepath.Join(spool, "input", id+"-H"),
		filepath.Join(spool, "input", id[5:6], id+"-H"),
	} {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}
