package queuecmd

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// # The listing cache
//
// Listing a large queue costs the kernel more than the listing itself:
// reading every spool directory and opening every -H file. So -bp and
// -bpc keep, in SPOOL/db/exigo-listing (format: cachefile.go), what
// they printed of each directory, and use it again while the directory
// is unchanged, as git's index does for files ("racy git").
//
// Every change the listing can show changes a directory entry: Exim
// and exigo write a new -H file under a temporary name and rename it
// into place (checked with Exim 4.96's -Mf, -Mt, -Mar, -Mmd, -Mes and a
// delivery that defers one recipient: the -H file gets a new inode and
// the directory a new mtime each time; a delivery that changes nothing
// leaves the -H file alone), and a message arrives or leaves by
// creating or removing names. -D files are never changed after the -H
// file exists. So a directory whose mtime and ctime (and device and
// inode) are what they were when its listing was cached lists the same.
// Two things escape this and are never cached: a -J journal is appended
// in place (a directory holding one is read afresh each time), and the
// age column depends on the time of listing (computed when printing).
//
// Timestamps are coarse (the kernel's clock tick), so a change in the
// tick the directory was read in may leave its mtime as it was. A
// directory's record is therefore written only when its mtime and
// ctime are more than two seconds older than the wall time taken before
// it was examined: any change after that time gets a later timestamp.
// (This assumes the file system's clock is the local one, and a clock
// that does not jump backwards.)
//
// The cache is written, to a temporary file renamed over the old one,
// only by a process that can write SPOOL/db (root or the Exim user) and
// only when it read a directory that can now be cached; a process that
// cannot read or parse it lists without it.

// racyWindow is how much older than the time of reading a directory's
// timestamps must be for its listing to be cached.
const racyWindow = 2 * time.Second

// listingCache is the cache in one listing: the file as read, and the
// state of each directory scanned.
type listingCache struct {
	dbDir    string
	file     []byte // the file, or its head (whole is false)
	whole    bool
	size     int64
	old      map[string]*cacheDir
	built    int64 // wall time, ns, before the directories were examined
	writable bool
	// collected counts the bytes of records collected; past
	// maxCacheFile nothing is written.
	collected atomic.Int64
}

// dirState is what the listing knows of one directory it scanned.
type dirState struct {
	name         string
	dev, ino     uint64
	mtime, ctime int64
	count        uint32
	subs         string
	// from is the cached record the directory was listed from, or nil.
	from *cacheDir
	// collect says the directory was read afresh and may be cached:
	// recs receives each message's record, by its place in the
	// directory, and failed is set when a message cannot be listed.
	collect bool
	recs    [][]byte
	failed  atomic.Bool
}

// openCache reads the cache of the spool: all of it, or (whole false,
// for -bpc) just its index. It never fails: a missing or bad file is
// an empty cache.
func openCache(spoolDir string, whole bool) *listingCache {
	c := &listingCache{dbDir: filepath.Join(spoolDir, "db"), whole: whole, old: map[string]*cacheDir{}}
	c.built = time.Now().UnixNano()
	// SPOOL/db may not exist yet (Exim makes it for its first hints
	// database): then it is made when the cache is first written.
	if err := unix.Access(c.dbDir, unix.W_OK); err == nil {
		c.writable = true
	} else if os.IsNotExist(err) {
		c.writable = unix.Access(spoolDir, unix.W_OK) == nil
	}
	f, err := os.OpenFile(filepath.Join(c.dbDir, cacheName), os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return c
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > maxCacheFile {
		return c
	}
	c.size = fi.Size()
	n := c.size
	if !whole {
		n = min(n, cacheHeadLen)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(f, buf); err != nil {
		return c
	}
	dirs, err := parseCacheIndex(buf, c.size)
	if err != nil {
		return c
	}
	c.file = buf
	for i := range dirs {
		c.old[dirs[i].name] = &dirs[i]
	}
	return c
}

// readWhole reads the whole file after the index alone was read, for a
// -bpc that writes the cache and keeps the records of -bp.
func (c *listingCache) readWhole() bool {
	if c.whole {
		return true
	}
	b, err := os.ReadFile(filepath.Join(c.dbDir, cacheName))
	if err != nil || int64(len(b)) != c.size || len(b) < len(c.file) || string(b[:len(c.file)]) != string(c.file) {
		return false
	}
	c.file, c.whole = b, true
	return true
}

// lookup returns the valid cached record of the directory named name
// (see the rules above), or nil. full asks for its messages, which are
// then loaded and checked.
func (c *listingCache) lookup(s *dirState, full bool) *cacheDir {
	if c == nil {
		return nil
	}
	d := c.old[s.name]
	if d == nil || d.dev != s.dev || d.ino != s.ino || d.mtime != s.mtime || d.ctime != s.ctime ||
		!trusted(d.mtime, d.ctime, d.built) {
		return nil
	}
	if full {
		if !d.full || (d.blob == nil && d.loadBlob(c.file) != nil) {
			return nil
		}
	}
	return d
}

// trusted reports whether timestamps read at wall time built are old
// enough for the directory's listing to be cached.
func trusted(mtime, ctime, built int64) bool {
	limit := built - int64(racyWindow)
	return mtime < limit && ctime < limit
}

// stat fills in the directory's identity and timestamps from its fd.
func (s *dirState) stat(fd int) bool {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return false
	}
	s.dev, s.ino = st.Dev, st.Ino
	s.mtime = st.Mtim.Sec*1e9 + st.Mtim.Nsec
	s.ctime = st.Ctim.Sec*1e9 + st.Ctim.Nsec
	return true
}

// cacheable reports whether a directory read afresh may be cached.
func (c *listingCache) cacheable(s *dirState, journals int) bool {
	return c != nil && c.writable && journals == 0 && trusted(s.mtime, s.ctime, c.built)
}

// collect stores a message's record for its directory; it returns false
// once the records collected pass the bound.
func (c *listingCache) collect(s *dirState, i uint32, rec []byte) {
	if c.collected.Add(int64(len(rec))) > maxCacheFile {
		return
	}
	s.recs[i] = rec
}

// save writes the cache when a directory read afresh can be cached: the
// directories listed from the cache keep their records, those collected
// get theirs (-bpc: only their counts). Errors are ignored (the cache
// is only a help).
func (c *listingCache) save(states []*dirState) {
	if c == nil || !c.writable || c.collected.Load() > maxCacheFile {
		return
	}
	fresh := false
	for _, s := range states {
		fresh = fresh || s.collect && !s.failed.Load()
	}
	if !fresh {
		return
	}
	var dirs []cacheDir
	for _, s := range states {
		switch {
		case s.from != nil:
			d := *s.from
			if d.full && d.blob == nil && (!c.readWhole() || d.loadBlob(c.file) != nil) {
				d.full = false
			}
			dirs = append(dirs, d)
		case s.collect && !s.failed.Load():
			d := cacheDir{name: s.name, dev: s.dev, ino: s.ino, mtime: s.mtime, ctime: s.ctime,
				built: c.built, count: s.count, subs: s.subs}
			if s.recs != nil {
				d.full = true
				for _, r := range s.recs {
					if r == nil {
						d.full = false
						break
					}
				}
				if d.full {
					d.parts = s.recs
				}
			}
			dirs = append(dirs, d)
		}
	}
	writeCacheFile(c.dbDir, dirs)
}

// writeCacheFile replaces the cache file with one of dirs: a temporary file in
// the same directory, renamed over it. The file (and SPOOL/db, when it
// has to be made) gets the owner of the directory above it, as Exim's
// hints databases have the Exim user's.
func writeCacheFile(dbDir string, dirs []cacheDir) {
	var st unix.Stat_t
	if err := unix.Stat(dbDir, &st); os.IsNotExist(err) {
		if unix.Stat(filepath.Dir(dbDir), &st) != nil || os.Mkdir(dbDir, 0o750) != nil {
			return
		}
		os.Chown(dbDir, int(st.Uid), int(st.Gid))
	} else if err != nil {
		return
	}
	f, err := os.CreateTemp(dbDir, "."+cacheName+"-*")
	if err != nil {
		return
	}
	f.Chmod(0o640)
	f.Chown(int(st.Uid), int(st.Gid))
	w := bufio.NewWriterSize(f, 256<<10)
	if err = encodeCacheTo(w, dirs); err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(dbDir, cacheName))
	}
	if err != nil {
		os.Remove(f.Name())
	}
}
