package dbtools

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/exigo-mta/exigo/internal/hintsdb"
)

const fixUsage = `Usage: exim_fixdb [-z]  <spool-directory> <database-name>
  <database-name> = retry | misc | wait-<transport-name> | callout | ratelimit | tls | seen
`

// FixDB implements exim_fixdb [-z] spool name: at each "> " prompt a key
// shows its record; then "d" deletes it and, for the retry database,
// "N value" changes field N (0 error number, 1 extra data, 2 first
// failed, 3 last try, 4 next try, 5 expired), times given as digit pairs
// yymmddhhmm with optional colons. "q" or end of input leaves.
func FixDB(args []string, env *Env) int {
	utc := false
	if len(args) > 0 && args[0] == "-z" {
		utc, args = true, args[1:]
	}
	if len(args) != 2 || !hintsdb.ValidName(args[1]) {
		io.WriteString(env.Stderr, fixUsage)
		return 1
	}
	loc := time.Local
	if utc {
		loc = time.UTC
	}
	db, err := hintsdb.Open(args[0], args[1], true)
	if err != nil {
		fmt.Fprint(env.Stdout, err.Error()+"\n")
		return 1
	}
	defer db.Close()
	out := env.Stdout
	fmt.Fprintf(out, "Modifying Exim hints database %s\n", db.Path)
	in := bufio.NewScanner(env.Stdin)
	current := ""
	for {
		io.WriteString(out, "> ")
		if !in.Scan() {
			io.WriteString(out, "\n")
			return 0
		}
		line := strings.TrimSpace(in.Text())
		if line == "q" {
			return 0
		}
		if current != "" && line == "d" {
			db.Delete(current)
			io.WriteString(out, "deleted\n")
			current = ""
			continue
		}
		if current != "" && db.Name == "retry" && (strings.Contains(line, " ") || line != "" && line[0] >= '0' && line[0] <= '9') {
			if msg := fixRetryField(db, current, line, env.Now(), loc); msg != "" {
				io.WriteString(out, msg+"\n")
				continue
			}
			showRecord(out, db, current, loc)
			continue
		}
		raw, err := db.GetRaw(line)
		if err != nil || raw == nil {
			fmt.Fprintf(out, "record %s not found\n", line)
			current = ""
			continue
		}
		current = line
		showRecord(out, db, current, loc)
	}
}

// showRecord prints a record as exim_fixdb does: its time stamp, then
// its numbered fields.
func showRecord(out io.Writer, db *hintsdb.DB, key string, loc *time.Location) {
	d := func(t time.Time) string { return t.In(loc).Format(dateLayout) }
	switch {
	case db.Name == "retry":
		var r hintsdb.RetryRecord
		db.Get(key, &r)
		exp := "no"
		if r.Expired {
			exp = "yes"
		}
		fmt.Fprintf(out, "%s\n0 error number: %d %s\n1 extra data:   %d\n2 first failed: %s\n3 last try:     %s\n4 next try:     %s\n5 expired:      %s\n",
			d(r.TimeStamp), r.BasicErrno, r.Text, r.MoreErrno, d(r.FirstFailed), d(r.LastTry), d(r.NextTry), exp)
	case db.Name == "callout":
		var r hintsdb.CalloutRecord
		db.Get(key, &r)
		fmt.Fprintf(out, "%s\n0 callout:    %s (%d)\n", d(r.TimeStamp), calloutName(r.Result), r.Result)
		if !strings.Contains(key, "@") {
			fmt.Fprintf(out, "1 postmaster: %s (%d)\n2 random:     %s (%d)\n", calloutName(r.Postmaster), r.Postmaster, calloutName(r.Random), r.Random)
		}
	case db.Name == "ratelimit":
		var r hintsdb.RatelimitRecord
		db.Get(key, &r)
		fmt.Fprintf(out, "%s\n0 time stamp:  %s\n1 fract. time: .%06d\n2 sender rate: % .3f\n", d(r.TimeStamp), d(r.TimeStamp), r.TimeStamp.Nanosecond()/1000, r.Rate)
		if r.Bloom != nil {
			fmt.Fprintf(out, "3 filter epoch: %s\n4 test filter membership\n5 add element to filter\n", d(r.Bloom.Epoch))
		}
	case strings.HasPrefix(db.Name, "wait-"):
		var r hintsdb.WaitRecord
		db.Get(key, &r)
		fmt.Fprintf(out, "%s\n", d(r.TimeStamp))
		for i, id := range r.IDs {
			fmt.Fprintf(out, "%d %s\n", i, id)
		}
	default:
		var r struct {
			TimeStamp time.Time `json:"ts"`
		}
		db.Get(key, &r)
		fmt.Fprintf(out, "%s\n", d(r.TimeStamp))
	}
}

// fixRetryField applies "N value" to a retry record; it returns Exim's
// complaint, or "" when the record was changed.
func fixRetryField(db *hintsdb.DB, key, line string, now time.Time, loc *time.Location) string {
	num, val, _ := strings.Cut(line, " ")
	val = strings.TrimSpace(val)
	n, err := strconv.Atoi(num)
	if err != nil || val == "" {
		return "value missing"
	}
	var r hintsdb.RetryRecord
	if _, err := db.Get(key, &r); err != nil {
		return err.Error()
	}
	switch n {
	case 0, 1:
		v, err := strconv.Atoi(val)
		if err != nil {
			return "bad value"
		}
		if n == 0 {
			r.BasicErrno = v
		} else {
			r.MoreErrno = v
		}
	case 2, 3, 4:
		t, ok := parseFixTime(val, loc)
		if !ok {
			return "bad time value"
		}
		switch n {
		case 2:
			r.FirstFailed = t
		case 3:
			r.LastTry = t
		default:
			r.NextTry = t
		}
	case 5:
		switch val {
		case "yes":
			r.Expired = true
		case "no":
			r.Expired = false
		default:
			return `"yes" or "no" expected`
		}
	default:
		return "unknown field number"
	}
	r.TimeStamp = now
	if err := db.Put(key, &r); err != nil {
		return err.Error()
	}
	return ""
}

// parseFixTime reads yymmddhhmm (colons allowed between pairs).
func parseFixTime(s string, loc *time.Location) (time.Time, bool) {
	s = strings.ReplaceAll(s, ":", "")
	if len(s) != 10 {
		return time.Time{}, false
	}
	t, err := time.ParseInLocation("0601021504", s, loc)
	return t, err == nil
}
