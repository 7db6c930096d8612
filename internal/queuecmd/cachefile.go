package queuecmd

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
)

// # The listing cache file
//
// SPOOL/db/exigo-listing holds, for each spool directory whose listing
// can be trusted (see cache.go), what -bp prints of each message in it.
// All numbers are little-endian.
//
//	magic    "EXLSTC" 0x00 version   8 bytes
//	ndirs    u32
//	indexLen u32
//	index    indexLen bytes: ndirs directory records
//	crc      u32, CRC-32 (IEEE) of everything before it
//	blobs    the message records of the directories, each blob with
//	         its own CRC in the index
//
// A directory record:
//
//	name          u8 length, then the name ("" for input/, else the
//	              split sub-directory's one character)
//	dev, ino      u64, u64   the directory's device and inode
//	mtime, ctime  i64, i64   nanoseconds, from fstat before reading it
//	built         i64        wall time, nanoseconds, before that fstat
//	count         u32        its -H files
//	subs          u8 length, then the split sub-directory names, one
//	              byte each, in the order they are read (input/ only)
//	full          u8         1 when the messages follow
//	off, len, crc u64, u64, u32 (full only): the blob's place in the
//	              file and its CRC-32 (IEEE)
//
// A blob is count message records, in directory order:
//
//	id    16 bytes
//	recv  i64, the arrival time (-H line 4)
//	flags u8: recDelivered, recGenerated
//	len   u32, then the -bpa text of the message less the age column
//	      and the closing blank line: " SIZE ID <sender>...\n" and one
//	      line per address
//
// A file that is short, has the wrong magic or version, or fails a CRC
// is ignored (a blob failing its CRC: that directory alone).

const (
	cacheMagic   = "EXLSTC\x00\x02"
	cacheName    = "exigo-listing"
	maxCacheDirs = 1 + 62
	// maxCacheFile bounds the file read and the records collected to
	// write it: a queue past this is listed without a cache.
	maxCacheFile = 256 << 20
	// maxCacheIndex bounds the index: 63 records of at most 128 bytes.
	maxCacheIndex = maxCacheDirs * 128
	// cacheHeadLen is how much of the file -bpc reads: all the index.
	cacheHeadLen = 16 + maxCacheIndex + 4
	recHead      = msgIDLen + 8 + 1 + 4
)

// Record flags.
const (
	recDelivered = 1 << iota // a recipient line is marked "D"
	recGenerated             // a "+D" line follows the recipients
)

var errCache = errors.New("listing cache: bad file")

// cacheDir is one directory's record in the cache file.
type cacheDir struct {
	name         string
	dev, ino     uint64
	mtime, ctime int64
	built        int64
	count        uint32
	subs         string
	full         bool
	off, size    uint64
	crc          uint32
	// blob is the directory's records once read and checked, and offs
	// the offset of each record in it, in directory order.
	blob []byte
	offs []uint32
	// parts, when writing, are the records of a directory read afresh
	// (blob is then nil).
	parts [][]byte
}

// parseCacheIndex reads the header and index of a cache file from head
// (the start of the file); fileSize is the whole file's size, which
// each blob must lie within.
func parseCacheIndex(head []byte, fileSize int64) ([]cacheDir, error) {
	if len(head) < 16 || string(head[:8]) != cacheMagic {
		return nil, errCache
	}
	ndirs := binary.LittleEndian.Uint32(head[8:])
	ilen := binary.LittleEndian.Uint32(head[12:])
	if ndirs > maxCacheDirs || ilen > maxCacheIndex || int64(16+ilen+4) > int64(len(head)) {
		return nil, errCache
	}
	end := 16 + int(ilen)
	if crc32.ChecksumIEEE(head[:end]) != binary.LittleEndian.Uint32(head[end:]) {
		return nil, errCache
	}
	p := head[16:end]
	dirs := make([]cacheDir, 0, ndirs)
	seen := map[string]bool{}
	for i := uint32(0); i < ndirs; i++ {
		var d cacheDir
		var ok bool
		if d.name, p, ok = cutShort(p); !ok || seen[d.name] || len(d.name) > 1 {
			return nil, errCache
		}
		seen[d.name] = true
		if len(p) < 8*5+4 {
			return nil, errCache
		}
		d.dev, d.ino = binary.LittleEndian.Uint64(p), binary.LittleEndian.Uint64(p[8:])
		d.mtime, d.ctime = int64(binary.LittleEndian.Uint64(p[16:])), int64(binary.LittleEndian.Uint64(p[24:]))
		d.built = int64(binary.LittleEndian.Uint64(p[32:]))
		d.count = binary.LittleEndian.Uint32(p[40:])
		p = p[44:]
		if d.subs, p, ok = cutShort(p); !ok || len(p) < 1 || p[0] > 1 {
			return nil, errCache
		}
		d.full, p = p[0] == 1, p[1:]
		if d.full {
			if len(p) < 20 {
				return nil, errCache
			}
			d.off, d.size = binary.LittleEndian.Uint64(p), binary.LittleEndian.Uint64(p[8:])
			d.crc = binary.LittleEndian.Uint32(p[16:])
			p = p[20:]
			if d.off < uint64(end+4) || d.off > uint64(fileSize) || d.size > uint64(fileSize)-d.off ||
				d.size < uint64(d.count)*recHead {
				return nil, errCache
			}
		}
		dirs = append(dirs, d)
	}
	if len(p) != 0 {
		return nil, errCache
	}
	return dirs, nil
}

// cutShort cuts a string of a length byte and that many bytes.
func cutShort(p []byte) (string, []byte, bool) {
	if len(p) < 1 {
		return "", nil, false
	}
	n := 1 + int(p[0])
	if len(p) < n {
		return "", nil, false
	}
	return string(p[1:n]), p[n:], true
}

// loadBlob checks the directory's blob, taken from file (the whole
// cache file), and records where each message record starts.
func (d *cacheDir) loadBlob(file []byte) error {
	if !d.full || d.off > uint64(len(file)) || d.size > uint64(len(file))-d.off {
		return errCache
	}
	b := file[d.off : d.off+d.size]
	if crc32.ChecksumIEEE(b) != d.crc {
		return errCache
	}
	offs := make([]uint32, 0, d.count)
	for p := 0; p < len(b); {
		if len(b)-p < recHead || len(offs) == int(d.count) || !validID(b[p:p+msgIDLen]) {
			return errCache
		}
		n := binary.LittleEndian.Uint32(b[p+recHead-4:])
		if uint64(n) > uint64(len(b)-p-recHead) || !validBody(b[p+recHead:p+recHead+int(n)]) {
			return errCache
		}
		offs = append(offs, uint32(p))
		p += recHead + int(n)
	}
	if len(offs) != int(d.count) {
		return errCache
	}
	d.blob, d.offs = b, offs
	return nil
}

// validBody reports whether a record's text has the shape the listing
// relies on: lines, the first its header line.
func validBody(b []byte) bool {
	return len(b) > 0 && b[0] == ' ' && b[len(b)-1] == '\n'
}

// record returns the i'th message record of a loaded directory.
func (d *cacheDir) record(i uint32) (id []byte, received int64, flags byte, body []byte) {
	r := d.blob[d.offs[i]:]
	n := binary.LittleEndian.Uint32(r[recHead-4:])
	return r[:msgIDLen], int64(binary.LittleEndian.Uint64(r[msgIDLen:])), r[msgIDLen+8], r[recHead : recHead+int(n)]
}

// appendRecord appends a message record to a blob.
func appendRecord(blob, id []byte, received int64, body []byte) []byte {
	blob = append(blob, id...)
	blob = binary.LittleEndian.AppendUint64(blob, uint64(received))
	blob = append(blob, bodyFlags(body))
	blob = binary.LittleEndian.AppendUint32(blob, uint32(len(body)))
	return append(blob, body...)
}

// bodyFlags finds the flags of a record's text.
func bodyFlags(body []byte) byte {
	var f byte
	if bytes.Contains(body, []byte("\n        D ")) {
		f |= recDelivered
	}
	if bytes.Contains(body, []byte("\n       +D ")) {
		f |= recGenerated
	}
	return f
}

// encodeCache returns a cache file of the directories (see
// encodeCacheTo).
func encodeCache(dirs []cacheDir) []byte {
	var b bytes.Buffer
	encodeCacheTo(&b, dirs)
	return b.Bytes()
}

// encodeCacheTo writes a cache file of the directories to w; a full one
// takes its records from blob, or from parts when blob is nil, which
// are written as they are (no copy of the whole is made).
func encodeCacheTo(w io.Writer, dirs []cacheDir) error {
	var index []byte
	for i := range dirs {
		d := &dirs[i]
		index = append(index, byte(len(d.name)))
		index = append(index, d.name...)
		for _, v := range []uint64{d.dev, d.ino, uint64(d.mtime), uint64(d.ctime), uint64(d.built)} {
			index = binary.LittleEndian.AppendUint64(index, v)
		}
		index = binary.LittleEndian.AppendUint32(index, d.count)
		index = append(index, byte(len(d.subs)))
		index = append(index, d.subs...)
		if !d.full {
			index = append(index, 0)
			continue
		}
		index = append(index, 1)
		// off is filled in below, once the index length is known.
		index = append(index, make([]byte, 20)...)
	}
	out := make([]byte, 0, 20+len(index))
	out = append(out, cacheMagic...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(dirs)))
	out = binary.LittleEndian.AppendUint32(out, uint32(len(index)))
	start := len(out)
	out = append(out, index...)
	off := uint64(len(out) + 4)
	p := start
	for i := range dirs {
		d := &dirs[i]
		p += 1 + len(d.name) + 44 + 1 + len(d.subs)
		p++
		if d.full {
			size, crc := uint64(len(d.blob)), crc32.ChecksumIEEE(d.blob)
			if d.blob == nil {
				for _, r := range d.parts {
					size += uint64(len(r))
					crc = crc32.Update(crc, crc32.IEEETable, r)
				}
			}
			binary.LittleEndian.PutUint64(out[p:], off)
			binary.LittleEndian.PutUint64(out[p+8:], size)
			binary.LittleEndian.PutUint32(out[p+16:], crc)
			p += 20
			off += size
		}
	}
	out = binary.LittleEndian.AppendUint32(out, crc32.ChecksumIEEE(out))
	if _, err := w.Write(out); err != nil {
		return err
	}
	for i := range dirs {
		d := &dirs[i]
		if !d.full {
			continue
		}
		if d.blob != nil {
			if _, err := w.Write(d.blob); err != nil {
				return err
			}
			continue
		}
		for _, r := range d.parts {
			if _, err := w.Write(r); err != nil {
				return err
			}
		}
	}
	return nil
}
