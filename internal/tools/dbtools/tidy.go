package dbtools

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/exigo-mta/exigo/internal/hintsdb"
	"github.com/exigo-mta/exigo/internal/retry"
)

const tidyUsage = `Usage: exim_tidydb [-t <time>]  <spool-directory> <database-name>
  <database-name> = retry | misc | wait-<transport-name> | callout | ratelimit | tls | seen
`

// messageID matches an Exim message id (the 4.96 form and the older one).
var messageID = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[0-9A-Za-z]{6}-([0-9A-Za-z]{6}-[0-9A-Za-z]{2}|[0-9A-Za-z]{11}-[0-9A-Za-z]{4})$`)
})

// TidyDB implements exim_tidydb [-f] [-t time] spool name (spec chapter
// "Exim utilities", section "exim_tidydb"). It removes records older
// than the time (default 30 days, by their time stamp), retry records
// keyed by ids of messages no longer on the queue, and the ids of such
// messages from wait- records, saying so on standard output, as Exim
// 4.96 does (observed):
//
//   - "deleted KEY (too old)", "deleted KEY (no message)";
//   - "updated KEY" for a wait- record that lost ids. A continuation
//     record ("host:N") stays even when left empty; a host's own record
//     left empty takes the ids of its last continuation record
//     ("renamed host:N"), as often as needed, and is "deleted KEY
//     (empty)" when none is left.
//
// A message is on the queue while its -D file exists. -f is accepted
// and changes nothing, as in Exim 4.96.
//
// Exim takes the records in its DBM file's order, reversed; exigo's
// files keep keys sorted, and it takes them in reverse byte order, so
// that a host's continuation records come before its own record as
// they do in Exim's files for one continuation record.
func TidyDB(args []string, env *Env) int {
	maxAge := 30 * 24 * time.Hour
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch {
		case args[0] == "-f":
			args = args[1:]
			continue
		case args[0] == "-t" && len(args) >= 2:
			secs, ok := retry.ParseTime(args[1])
			if !ok {
				io.WriteString(env.Stderr, tidyUsage)
				return 1
			}
			maxAge = time.Duration(secs) * time.Second
			args = args[2:]
			continue
		}
		io.WriteString(env.Stderr, tidyUsage)
		return 1
	}
	if len(args) != 2 || !hintsdb.ValidName(args[1]) {
		io.WriteString(env.Stderr, tidyUsage)
		return 1
	}
	spool, name := args[0], args[1]
	fmt.Fprintf(env.Stdout, "Tidying Exim hints database %s\n", filepath.Join(spool, "db", name))
	// Exim's tidy makes a missing database, but not a missing lock
	// file (observed).
	lockPath := filepath.Join(spool, "db", name+".lockfile")
	if _, err := os.Stat(lockPath); err != nil {
		fmt.Fprintln(env.Stdout, (&hintsdb.OpenError{Path: lockPath, Lockfile: true, Err: err}).Error())
		return 1
	}
	db, err := hintsdb.Open(spool, name, true)
	if err != nil {
		fmt.Fprintln(env.Stdout, err.Error())
		return 1
	}
	defer db.Close()
	t := &tidier{db: db, spool: spool, out: env.Stdout, now: env.Now(), maxAge: maxAge}
	if err := t.run(strings.HasPrefix(name, "wait-"), name == "retry"); err != nil {
		fmt.Fprintf(env.Stderr, "exim_tidydb: %v\n", err)
		return 1
	}
	fmt.Fprintf(env.Stdout, "Tidying complete\n")
	return 0
}

// tidier is one run of exim_tidydb over one database.
type tidier struct {
	db     *hintsdb.DB
	spool  string
	out    io.Writer
	now    time.Time
	maxAge time.Duration
}

func (t *tidier) run(wait, retryDB bool) error {
	keys, err := t.db.Keys()
	if err != nil {
		return fmt.Errorf("reading keys: %w", err)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(keys)))
	for _, k := range keys {
		var stamp struct {
			TimeStamp time.Time `json:"ts"`
		}
		found, err := t.db.Get(k, &stamp)
		if err != nil || !found {
			// Gone already: a continuation record moved into its
			// host's record.
			continue
		}
		if t.now.Sub(stamp.TimeStamp) > t.maxAge {
			if err := t.db.Delete(k); err != nil {
				return fmt.Errorf("deleting %s: %w", k, err)
			}
			fmt.Fprintf(t.out, "deleted %s (too old)\n", k)
			continue
		}
		switch {
		case retryDB:
			// A key ending in a message id is a message-specific record.
			i := strings.LastIndexByte(k, ':')
			if i >= 0 && messageID().MatchString(k[i+1:]) && !t.onQueue(k[i+1:]) {
				if err := t.db.Delete(k); err != nil {
					return fmt.Errorf("deleting %s: %w", k, err)
				}
				fmt.Fprintf(t.out, "deleted %s (no message)\n", k)
			}
		case wait:
			if err := t.tidyWait(k); err != nil {
				return err
			}
		}
	}
	return nil
}

// tidyWait removes the ids of messages no longer on the queue from the
// wait- record k.
func (t *tidier) tidyWait(k string) error {
	var w hintsdb.WaitRecord
	if _, err := t.db.Get(k, &w); err != nil {
		return err
	}
	changed := t.keepQueued(&w)
	if t.continuation(k) {
		if changed {
			if err := t.db.Put(k, &w); err != nil {
				return fmt.Errorf("updating %s: %w", k, err)
			}
			fmt.Fprintf(t.out, "updated %s\n", k)
		}
		return nil
	}
	for len(w.IDs) == 0 && w.Sequence > 0 {
		w.Sequence--
		ck := k + ":" + strconv.Itoa(w.Sequence)
		var c hintsdb.WaitRecord
		found, err := t.db.Get(ck, &c)
		if err != nil {
			return err
		}
		if !found {
			continue
		}
		if err := t.db.Delete(ck); err != nil {
			return fmt.Errorf("deleting %s: %w", ck, err)
		}
		fmt.Fprintf(t.out, "renamed %s\n", ck)
		w.IDs = c.IDs
		t.keepQueued(&w)
		changed = true
	}
	if len(w.IDs) == 0 {
		if err := t.db.Delete(k); err != nil {
			return fmt.Errorf("deleting %s: %w", k, err)
		}
		fmt.Fprintf(t.out, "deleted %s (empty)\n", k)
		return nil
	}
	if changed {
		if err := t.db.Put(k, &w); err != nil {
			return fmt.Errorf("updating %s: %w", k, err)
		}
		fmt.Fprintf(t.out, "updated %s\n", k)
	}
	return nil
}

// keepQueued drops the ids of messages no longer on the queue from w and
// reports whether it dropped any.
func (t *tidier) keepQueued(w *hintsdb.WaitRecord) bool {
	keep := w.IDs[:0:0]
	for _, id := range w.IDs {
		if t.onQueue(id) {
			keep = append(keep, id)
		}
	}
	changed := len(keep) != len(w.IDs)
	w.IDs = keep
	return changed
}

// continuation reports whether k is a continuation record "host:N" of a
// host record that counts it.
func (t *tidier) continuation(k string) bool {
	i := strings.LastIndexByte(k, ':')
	if i <= 0 {
		return false
	}
	n, err := strconv.Atoi(k[i+1:])
	if err != nil || n < 0 {
		return false
	}
	var host hintsdb.WaitRecord
	found, err := t.db.Get(k[:i], &host)
	return err == nil && found && n < host.Sequence
}

// onQueue reports whether message id is still on the queue: whether its
// -D file exists in the spool's input directory (flat or split), which
// is what Exim 4.96 checks (observed).
func (t *tidier) onQueue(id string) bool {
	if len(id) < 6 {
		return false
	}
	for _, p := range []string{
		filepath.Join(t.spool, "input", id+"-D"),
		filepath.Join(t.spool, "input", id[5:6], id+"-D"),
	} {
		if _, err := os.Stat(p); err == nil || !errors.Is(err, os.ErrNotExist) {
			return true
		}
	}
	return false
}
