package spool

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// RecoverReport says what Recover found.
type RecoverReport struct {
	// RemovedTemp are hdr.ID files of commits that never finished.
	RemovedTemp []string
	// RemovedData are -D files without a -H file: receptions that never
	// finished, so messages that were never accepted.
	RemovedData []string
	// NoData are messages whose -H file has no -D file. They are left in
	// place (Exim reports "Spool file ... -D not found" for them).
	NoData []ID
}

// Recover tidies the spool after a crash, before queue runs start. It
// removes temporary header files and -D files that have no -H file, but
// only when the -D file is not locked (no process is receiving it) and
// is older than grace, so a reception that is just starting in another
// process, Exim included, is left alone. It never removes a -H file, so a
// complete message is never lost.
//
// Exim itself leaves a -D file without its -H file where it is (a queue
// run skips it); exigo removes it, since a message is only accepted once
// its -H file exists.
func (s *Spool) Recover(grace time.Duration) (RecoverReport, error) {
	var rep RecoverReport
	top := filepath.Join(s.opts.Dir, "input")
	dirs := []string{top}
	subs, err := listDir(top, func(string) {})
	if err != nil {
		return rep, err
	}
	for _, sub := range subs {
		dirs = append(dirs, filepath.Join(top, sub))
	}
	for _, dir := range dirs {
		names := map[string]bool{}
		if _, err := listDir(dir, func(n string) { names[n] = true }); err != nil {
			if errors.Is(err, errNotDir) {
				continue
			}
			return rep, err
		}
		for n := range names {
			switch {
			case strings.HasPrefix(n, "hdr.") && ValidID(n[4:]):
				id := n[4:]
				if s.removable(dir, id, n, grace) {
					if err := os.Remove(filepath.Join(dir, n)); err == nil {
						rep.RemovedTemp = append(rep.RemovedTemp, filepath.Join(dir, n))
					}
				}
			case len(n) == IDLen+2 && strings.HasSuffix(n, "-D") && ValidID(n[:IDLen]):
				if names[n[:IDLen]+"-H"] {
					continue
				}
				if s.removable(dir, n[:IDLen], n, grace) {
					// The lock is checked again under the open file, so a
					// reception that took it meanwhile keeps its file.
					if s.removeUnlocked(filepath.Join(dir, n)) {
						rep.RemovedData = append(rep.RemovedData, filepath.Join(dir, n))
					}
				}
			case len(n) == IDLen+2 && strings.HasSuffix(n, "-H") && ValidID(n[:IDLen]):
				if !names[n[:IDLen]+"-D"] {
					rep.NoData = append(rep.NoData, ID(n[:IDLen]))
				}
			}
		}
	}
	return rep, nil
}

// removable reports whether name is older than grace and id's -D file, if
// any, is not locked.
func (s *Spool) removable(dir, id, name string, grace time.Duration) bool {
	if grace > 0 {
		st, err := os.Lstat(filepath.Join(dir, name))
		if err != nil || time.Since(st.ModTime()) < grace {
			return false
		}
	}
	f, err := os.OpenFile(filepath.Join(dir, id+"-D"), os.O_RDWR, 0)
	if err != nil {
		return errors.Is(err, os.ErrNotExist)
	}
	defer f.Close()
	return lockFile(f) == nil
}

// removeUnlocked removes path while holding its lock.
func (s *Spool) removeUnlocked(path string) bool {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	if lockFile(f) != nil {
		return false
	}
	return os.Remove(path) == nil
}
