package queuecmd

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/spool/spooltest"
)

// TestCacheFileRoundTrip encodes directories and reads them back.
func TestCacheFileRoundTrip(t *testing.T) {
	var blob []byte
	blob = appendRecord(blob, []byte("1xWrpf-0004bL-14"), 1795770087, []byte(" 1.2K 1xWrpf-0004bL-14 <a@b>\n        D x@y\n          z@y\n"))
	blob = appendRecord(blob, []byte("1xWrpg-0004bL-14"), 1795770088, []byte(" 12 1xWrpg-0004bL-14 <> *** frozen ***\n          z@y\n       +D g@y\n"))
	dirs := []cacheDir{
		{name: "", dev: 1, ino: 2, mtime: 3, ctime: 4, built: 5, count: 0, subs: "AbZ"},
		{name: "A", dev: 1, ino: 7, mtime: -8, ctime: 9, built: 10, count: 2, full: true, blob: blob},
		{name: "b", dev: 1, ino: 8, count: 7},
	}
	file := encodeCache(dirs)
	got, err := parseCacheIndex(file, int64(len(file)))
	if err != nil || len(got) != 3 {
		t.Fatalf("parse: %v, %d dirs", err, len(got))
	}
	for i := range got {
		w, g := dirs[i], got[i]
		if g.name != w.name || g.dev != w.dev || g.ino != w.ino || g.mtime != w.mtime || g.ctime != w.ctime ||
			g.built != w.built || g.count != w.count || g.subs != w.subs || g.full != w.full {
			t.Errorf("dir %d: got %+v, want %+v", i, g, w)
		}
	}
	if err := got[1].loadBlob(file); err != nil {
		t.Fatal(err)
	}
	id, recv, flags, body := got[1].record(1)
	if string(id) != "1xWrpg-0004bL-14" || recv != 1795770088 || flags != recGenerated || !bytes.HasPrefix(body, []byte(" 12 ")) {
		t.Errorf("record 1: %s %d %d %q", id, recv, flags, body)
	}
	if _, _, flags, _ := got[1].record(0); flags != recDelivered {
		t.Errorf("record 0: flags %d", flags)
	}
	// Any one byte changed, or the file cut short: refused or, for a
	// blob, the blob refused.
	for i := range file {
		bad := append([]byte(nil), file...)
		bad[i] ^= 0x10
		ds, err := parseCacheIndex(bad, int64(len(bad)))
		if err == nil && ds[1].loadBlob(bad) == nil {
			t.Fatalf("byte %d changed: accepted", i)
		}
	}
	for n := 0; n < len(file); n++ {
		ds, err := parseCacheIndex(file[:n], int64(n))
		if err == nil && ds[1].loadBlob(file[:n]) == nil {
			t.Fatalf("cut to %d bytes: accepted", n)
		}
	}
}

// TestCacheRules checks when a cached directory is used: same device,
// inode, mtime and ctime, and timestamps more than 2 s older than the
// time the record was made (the racy case).
func TestCacheRules(t *testing.T) {
	const sec = int64(time.Second)
	base := cacheDir{name: "A", dev: 1, ino: 2, mtime: 100 * sec, ctime: 100 * sec, built: 103 * sec, full: true}
	cases := []struct {
		name string
		edit func(d *cacheDir, s *dirState)
		full bool
		want bool
	}{
		{"unchanged", func(d *cacheDir, s *dirState) {}, false, true},
		{"unchanged, full", func(d *cacheDir, s *dirState) {}, true, true},
		{"mtime changed", func(d *cacheDir, s *dirState) { s.mtime++ }, false, false},
		{"ctime changed", func(d *cacheDir, s *dirState) { s.ctime++ }, false, false},
		{"other inode", func(d *cacheDir, s *dirState) { s.ino++ }, false, false},
		{"other device", func(d *cacheDir, s *dirState) { s.dev++ }, false, false},
		{"racy mtime", func(d *cacheDir, s *dirState) { d.built = d.mtime + 2*sec }, false, false},
		{"racy ctime", func(d *cacheDir, s *dirState) { d.ctime += 2 * sec; s.ctime = d.ctime }, false, false},
		{"just old enough", func(d *cacheDir, s *dirState) { d.built = d.mtime + 2*sec + 1 }, false, true},
		{"counts only, listing wanted", func(d *cacheDir, s *dirState) { d.full = false }, true, false},
		{"counts only, count wanted", func(d *cacheDir, s *dirState) { d.full = false }, false, true},
		{"other name", func(d *cacheDir, s *dirState) { s.name = "B" }, false, false},
	}
	for _, c := range cases {
		d := base
		d.blob, d.offs = []byte{}, []uint32{}
		s := dirState{name: d.name, dev: d.dev, ino: d.ino, mtime: d.mtime, ctime: d.ctime}
		c.edit(&d, &s)
		lc := &listingCache{old: map[string]*cacheDir{d.name: &d}}
		if got := lc.lookup(&s, c.full) != nil; got != c.want {
			t.Errorf("%s: used %v, want %v", c.name, got, c.want)
		}
	}
}

// TestCacheListsAlike lists a varied spool without the cache, then with
// it cold and warm (its timestamps taken as old enough), in every mode:
// the listings must be the same, and the warm one must read no
// directory.
func TestCacheListsAlike(t *testing.T) {
	dir := t.TempDir()
	if err := spooltest.WriteQueue(spooltest.Options{Dir: dir, N: 400, Seed: 5, Split: true}); err != nil {
		t.Fatal(err)
	}
	spoolDir := filepath.Join(dir, "spool")
	now := time.Now()
	later := time.Now().Add(3 * time.Second).UnixNano()
	list := func(o ListOptions, cached bool) (string, int) {
		var out bytes.Buffer
		var c *listingCache
		if cached {
			c = openCache(spoolDir, true)
			c.built = later
		}
		dirs, entries, _, err := scanDirsCache(spoolDir, false, c)
		if err != nil {
			t.Fatal(err)
		}
		defer dirs.close()
		if !o.Unsorted {
			sortEntries(entries, make([]dirEntry, len(entries)))
		}
		if err := listEntries(&out, dirs, entries, now, o, 16, 4, c); err != nil {
			t.Fatal(err)
		}
		read := 0
		for _, s := range dirs.state {
			if s.from == nil {
				read++
			}
		}
		if c != nil {
			c.save(dirs.state)
		}
		return out.String(), read
	}
	for _, mode := range []string{"-bp", "-bpa", "-bpu", "-bpr", "-bpra", "-bpru"} {
		o := ModeOptions(mode)
		want, _ := list(o, false)
		os.Remove(filepath.Join(spoolDir, "db", cacheName))
		cold, read := list(o, true)
		if cold != want || read < 2 {
			t.Fatalf("%s: cold listing differs, or %d directories read", mode, read)
		}
		warm, read := list(o, true)
		if warm != want || read != 0 {
			t.Fatalf("%s: warm listing differs, or %d directories read", mode, read)
		}
	}
}

// FuzzCacheFile feeds arbitrary cache files to the reader: it must not
// fail other than by refusing, and what it accepts must list.
func FuzzCacheFile(f *testing.F) {
	var blob []byte
	blob = appendRecord(blob, []byte("1xWrpf-0004bL-14"), 1795770087, []byte(" 1.2K 1xWrpf-0004bL-14 <a@b>\n        D x@y\n"))
	f.Add(encodeCache([]cacheDir{{name: "", subs: "A"}, {name: "A", count: 1, full: true, blob: blob}}))
	f.Add([]byte(cacheMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		dirs, err := parseCacheIndex(b, int64(len(b)))
		if err != nil {
			return
		}
		for i := range dirs {
			if dirs[i].loadBlob(b) != nil {
				continue
			}
			for j := range dirs[i].offs {
				_, recv, flags, body := dirs[i].record(uint32(j))
				for _, o := range []ListOptions{{}, {Undelivered: true}, {Generated: true}} {
					appendCached(nil, recv, flags, body, 0, o)
				}
			}
		}
	})
}

// TestCountCache checks -bpc with the cache: it writes counts only,
// which a later count uses and a listing does not; a listing's records
// serve counts too.
func TestCountCache(t *testing.T) {
	dir := t.TempDir()
	if err := spooltest.WriteQueue(spooltest.Options{Dir: dir, N: 300, Seed: 6, Split: true}); err != nil {
		t.Fatal(err)
	}
	spoolDir := filepath.Join(dir, "spool")
	later := time.Now().Add(3 * time.Second).UnixNano()
	scan := func(countOnly bool) (n, read int) {
		c := openCache(spoolDir, !countOnly)
		c.built = later
		dirs, entries, n, err := scanDirsCache(spoolDir, countOnly, c)
		if err != nil {
			t.Fatal(err)
		}
		defer dirs.close()
		for _, s := range dirs.state {
			if s.from == nil {
				read++
			}
		}
		if !countOnly {
			if err := listEntries(&bytes.Buffer{}, dirs, entries, time.Now(), ListOptions{}, 16, 4, c); err != nil {
				t.Fatal(err)
			}
		}
		c.save(dirs.state)
		return n, read
	}
	want, _ := Count(spoolDir)
	for i, c := range []struct {
		countOnly bool
		read      bool
	}{{true, true}, {true, false}, {false, true}, {false, false}, {true, false}} {
		n, read := scan(c.countOnly)
		if n != want || (read > 0) != c.read {
			t.Errorf("step %d: count %d (want %d), %d directories read", i, n, want, read)
		}
	}
	// A directory changes; a count caches its count and keeps the
	// others' records, which a listing then uses.
	subs, _ := filepath.Glob(filepath.Join(spoolDir, "input", "?"))
	os.WriteFile(filepath.Join(subs[0], "x"), nil, 0o600)
	os.Remove(filepath.Join(subs[0], "x"))
	later = time.Now().Add(3 * time.Second).UnixNano()
	if n, read := scan(true); n != want || read != 1 {
		t.Errorf("after a change: count %d (want %d), %d directories read (want 1)", n, want, read)
	}
	if n, read := scan(false); n != want || read != 1 {
		t.Errorf("listing after a change: count %d (want %d), %d directories read (want 1)", n, want, read)
	}
	if n, read := scan(false); n != want || read != 0 {
		t.Errorf("listing again: count %d (want %d), %d directories read (want 0)", n, want, read)
	}
}

// FuzzCacheContent reaches past the checksums: an arbitrary index with
// a correct CRC, and an arbitrary blob of count records written with a
// correct CRC.
func FuzzCacheContent(f *testing.F) {
	var blob []byte
	blob = appendRecord(blob, []byte("1xWrpf-0004bL-14"), 1795770087, []byte(" 1.2K 1xWrpf-0004bL-14 <a@b>\n        D x@y\n       +D g@y\n"))
	good := encodeCache([]cacheDir{{name: "", subs: "A"}, {name: "A", count: 1, full: true, blob: blob}})
	f.Add(uint32(2), good[16:len(good)-len(blob)-4], blob, uint32(1))
	f.Fuzz(func(t *testing.T, ndirs uint32, index, blob []byte, count uint32) {
		file := []byte(cacheMagic)
		file = binary.LittleEndian.AppendUint32(file, ndirs)
		file = binary.LittleEndian.AppendUint32(file, uint32(len(index)))
		file = append(file, index...)
		file = binary.LittleEndian.AppendUint32(file, crc32.ChecksumIEEE(file))
		file = append(file, blob...)
		if dirs, err := parseCacheIndex(file, int64(len(file))); err == nil {
			for i := range dirs {
				dirs[i].loadBlob(file)
			}
		}
		d := []cacheDir{{name: "A", count: count % 1000, full: true, blob: blob}}
		file = encodeCache(d)
		dirs, err := parseCacheIndex(file, int64(len(file)))
		if err != nil {
			if len(blob) >= int(d[0].count)*recHead {
				t.Fatalf("encoded file refused: %v", err)
			}
			return
		}
		if dirs[0].loadBlob(file) != nil {
			return
		}
		for j := range dirs[0].offs {
			_, recv, flags, body := dirs[0].record(uint32(j))
			for _, o := range []ListOptions{{}, {Undelivered: true}, {Generated: true}} {
				if out := appendCached(nil, recv, flags, body, 0, o); !bytes.HasSuffix(out, []byte("\n\n")) {
					t.Fatalf("entry %q does not end in a blank line", out)
				}
			}
		}
	})
}
