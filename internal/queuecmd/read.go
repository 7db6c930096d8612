package queuecmd

import (
	"bytes"
	"slices"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/exigo-mta/exigo/internal/strerror"
)

// reader reads and formats messages for a listing. Each listing
// goroutine has one; its buffers are reused from message to message, and
// the system calls take the file name from a buffer of its own, so that
// a message costs four system calls (open, read and close of the -H
// file, statx of the -D file) and no allocation.
type reader struct {
	buf   []byte // the -H file
	jbuf  []byte // the -J file
	name  []byte // "<id>-X\0"
	s     summary
	done  [][]byte // delivered addresses, sorted
	rcpts [][]byte // recipients, sorted, for -bpa with many
}

func newReader() *reader {
	return &reader{buf: make([]byte, 16<<10), name: make([]byte, 0, 64)}
}

// maxHeaderFile caps how much of a -H file is read.
const maxHeaderFile = 64 << 20

// maxJournal caps how much of a -J file is read.
const maxJournal = 16 << 20

// path sets r.name to id, "-", suffix and a NUL, and returns a pointer
// to it for a system call.
func (r *reader) path(id []byte, suffix byte) *byte {
	r.name = append(append(r.name[:0], id...), '-', suffix, 0)
	return &r.name[0]
}

// openat opens the NUL-terminated name in dirfd for reading.
func openat(dirfd int, name *byte) (int, error) {
	for {
		fd, _, e := unix.RawSyscall6(unix.SYS_OPENAT, uintptr(dirfd), uintptr(unsafe.Pointer(name)),
			uintptr(unix.O_RDONLY|unix.O_CLOEXEC), 0, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return -1, e
		}
		return int(fd), nil
	}
}

// fileSize returns the size of the NUL-terminated name in dirfd, as
// stat(2) gives it (following a symbolic link).
func fileSize(dirfd int, name *byte) (int64, bool) {
	var st unix.Statx_t
	for {
		_, _, e := unix.RawSyscall6(unix.SYS_STATX, uintptr(dirfd), uintptr(unsafe.Pointer(name)),
			0, uintptr(unix.STATX_SIZE), uintptr(unsafe.Pointer(&st)), 0)
		if e == unix.EINTR {
			continue
		}
		return int64(st.Size), e == 0
	}
}

// readFile reads the NUL-terminated name in dirfd into *buf, growing it
// up to limit; it returns errFormat past the limit.
func readFile(dirfd int, name *byte, buf *[]byte, limit int) ([]byte, error) {
	fd, err := openat(dirfd, name)
	if err != nil {
		return nil, err
	}
	defer unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
	b := *buf
	n := 0
	for {
		if n == len(b) {
			if len(b) >= limit {
				return nil, errFormat
			}
			nb := make([]byte, 2*len(b))
			copy(nb, b)
			b = nb
			*buf = b
		}
		r, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[n])), uintptr(len(b)-n))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return nil, e
		}
		m := int(r)
		if m == 0 {
			return b[:n], nil
		}
		n += m
		if n < len(b) {
			// A short read of a regular file is its end: -H files are
			// never changed in place (a new one is written under a
			// temporary name and renamed over it), so the file open here
			// cannot grow. This saves a read(2) per message.
			return b[:n], nil
		}
	}
}

// format appends the listing of one message to b; id is the message id
// (or, for a listing of named messages, whatever the caller gave) and
// journal says whether it has a -J file.
func (r *reader) format(b []byte, dirfd int, id []byte, journal bool, now int64, o ListOptions) []byte {
	b, size, known, ok := r.load(b, dirfd, id, journal)
	if !ok {
		return b
	}
	b = appendAge(b, now-r.s.received)
	b = r.appendBody(b, id, size, known, o)
	return append(b, '\n')
}

// load reads the message's -H file (and -J file when journal is set)
// into r.s and finds its size from the -D file. When the -H file cannot
// be read it appends Exim's error entry for the message to b and
// returns false.
func (r *reader) load(b []byte, dirfd int, id []byte, journal bool) (_ []byte, size int64, known, ok bool) {
	data, err := readFile(dirfd, r.path(id, 'H'), &r.buf, maxHeaderFile)
	if err != nil {
		if err == errFormat {
			return appendError(b, id, "spool format error: size=", len(r.buf)), 0, false, false
		}
		return appendError(b, id, "spool read error: "+strerror.Text(err), -1), 0, false, false
	}
	s := &r.s
	if scanHeader(data, s) != nil {
		return appendError(b, id, "spool format error: size=", len(data)), 0, false, false
	}
	size, known = fileSize(dirfd, r.path(id, 'D'))
	if known {
		// The body is the -D file less its first line ("ID-D\n"); the
		// blank line between headers and body counts one byte.
		size = s.headerSize + 1 + size - (msgIDLen + 3)
	}
	if journal {
		r.addJournal(dirfd, id)
	}
	return b, size, known, true
}

// appendBody appends what follows the age column of a loaded message's
// entry: size, id, sender and flags, then the address lines (not the
// closing blank line).
func (r *reader) appendBody(b []byte, id []byte, size int64, known bool, o ListOptions) []byte {
	s := &r.s
	b = append(b, ' ')
	b = appendSize(b, size, known)
	b = append(b, ' ')
	b = append(b, id...)
	b = append(b, " <"...)
	b = append(b, s.sender...)
	b = append(b, '>')
	if s.untrusted {
		b = append(b, " ("...)
		b = append(b, s.user...)
		b = append(b, ')')
	}
	if s.frozen {
		b = append(b, " *** frozen ***"...)
	}
	b = append(b, '\n')
	return r.appendRecipients(b, o)
}

// collect appends the entry of a message of a directory being cached,
// and stores its record: the -bpa text is made (in body, scratch
// space) and the entry printed from it, so that the listing is the one
// the record will give. Records are cut from arena, which is renewed
// when full; the updated scratch space and arena are returned.
func (r *reader) collect(b []byte, dirfd int, id, body, arena []byte, now int64, o ListOptions, c *listingCache, st *dirState, i uint32) (_, _, _ []byte) {
	b, size, known, ok := r.load(b, dirfd, id, false)
	if !ok {
		st.failed.Store(true)
		return b, body, arena
	}
	body = r.appendBody(body[:0], id, size, known, ListOptions{Generated: true})
	need := recHead + len(body)
	if cap(arena)-len(arena) < need {
		arena = make([]byte, 0, max(1<<20, need))
	}
	start := len(arena)
	arena = appendRecord(arena, id, r.s.received, body)
	rec := arena[start:len(arena):len(arena)]
	c.collect(st, i, rec)
	return appendCached(b, r.s.received, rec[msgIDLen+8], body, now, o), body, arena
}

// appendCached appends a message's entry from its cached record: the
// age column from the arrival time, then the record's text (the -bpa
// entry) with the lines the mode leaves out dropped: "D" lines for
// -bpu, "+D" lines unless -bpa.
func appendCached(b []byte, received int64, flags byte, body []byte, now int64, o ListOptions) []byte {
	b = appendAge(b, now-received)
	skipD := o.Undelivered && flags&recDelivered != 0
	skipG := !o.Generated && flags&recGenerated != 0
	if !skipD && !skipG {
		b = append(b, body...)
		return append(b, '\n')
	}
	nl := bytes.IndexByte(body, '\n') + 1
	b = append(b, body[:nl]...)
	for rest := body[nl:]; len(rest) > 0; {
		n := bytes.IndexByte(rest, '\n') + 1
		if n == 0 {
			n = len(rest)
		}
		line := rest[:n]
		rest = rest[n:]
		if len(line) >= 10 && line[8] == 'D' && line[9] == ' ' {
			if line[7] == '+' && skipG || line[7] == ' ' && skipD {
				continue
			}
		}
		b = append(b, line...)
	}
	return append(b, '\n')
}

// journalChunk is the longest journal line Exim takes at once: a longer
// line is read as several, each a chunk of this many bytes.
const journalChunk = 16383

// addJournal adds the addresses of the message's -J file to the
// delivered ones. The -J file (chapter "Format of spool files") records
// addresses delivered during an interrupted delivery, one a line; Exim's
// listing counts them as delivered. As observed with Exim 4.96, each line
// (or each 16383-byte piece of a longer one) loses its last byte, which
// is the newline except on an unterminated last line, and a NUL ends it.
func (r *reader) addJournal(dirfd int, id []byte) {
	if r.jbuf == nil {
		r.jbuf = make([]byte, 4<<10)
	}
	data, err := readFile(dirfd, r.path(id, 'J'), &r.jbuf, maxJournal)
	if err != nil {
		return
	}
	r.s.delivered = appendJournal(r.s.delivered, data)
}

// appendJournal appends the addresses of a -J file's bytes to dst.
func appendJournal(dst [][]byte, data []byte) [][]byte {
	for len(data) > 0 {
		n := bytes.IndexByte(data, '\n') + 1
		if n == 0 || n > journalChunk {
			n = min(len(data), journalChunk)
		}
		line := data[:n]
		data = data[n:]
		if i := bytes.IndexByte(line, 0); i >= 0 {
			line = line[:i]
		}
		if len(line) > 0 {
			line = line[:len(line)-1]
		}
		dst = append(dst, line)
	}
	return dst
}

// isDelivered reports whether addr is among the delivered addresses.
func (s *summary) isDelivered(addr []byte) bool {
	for _, d := range s.delivered {
		if bytes.Equal(d, addr) {
			return true
		}
	}
	return false
}

// appendRecipients writes the recipient lines: ten columns of indent,
// "D" in the ninth for a delivered address (spec chapter "The Exim
// command line", -bp), and for -bpa the delivered addresses that are not
// original recipients with "+D", in byte order (Exim walks its tree).
func (r *reader) appendRecipients(b []byte, o ListOptions) []byte {
	s := &r.s
	if len(s.delivered) > 8 {
		// Many delivered addresses: search them sorted.
		r.done = append(r.done[:0], s.delivered...)
		slices.SortFunc(r.done, bytes.Compare)
		r.done = slices.CompactFunc(r.done, bytes.Equal)
	}
	delivered := func(a []byte) bool {
		if len(s.delivered) > 8 {
			_, found := slices.BinarySearchFunc(r.done, a, bytes.Compare)
			return found
		}
		return s.isDelivered(a)
	}
	for _, a := range s.recipients {
		if len(s.delivered) > 0 && delivered(a) {
			if o.Undelivered {
				continue
			}
			b = append(b, "        D "...)
		} else {
			b = append(b, "          "...)
		}
		b = append(b, a...)
		b = append(b, '\n')
	}
	if o.Generated && len(s.delivered) > 0 {
		if len(s.delivered) <= 8 {
			r.done = append(r.done[:0], s.delivered...)
			slices.SortFunc(r.done, bytes.Compare)
			r.done = slices.CompactFunc(r.done, bytes.Equal)
		}
		rcpts := s.recipients
		if len(rcpts) > 8 {
			r.rcpts = append(r.rcpts[:0], rcpts...)
			slices.SortFunc(r.rcpts, bytes.Compare)
			rcpts = r.rcpts
		}
		for _, a := range r.done {
			if !isRecipient(rcpts, a) {
				b = append(b, "       +D "...)
				b = append(b, a...)
				b = append(b, '\n')
			}
		}
	}
	return b
}

// isRecipient reports whether a is in rs, which is sorted when long.
func isRecipient(rs [][]byte, a []byte) bool {
	if len(rs) > 8 {
		_, found := slices.BinarySearchFunc(rs, a, bytes.Compare)
		return found
	}
	for _, r := range rs {
		if bytes.Equal(r, a) {
			return true
		}
	}
	return false
}

// appendError writes Exim's entry for a message whose -H file could not
// be read: the id alone, the problem in "***" (text, then n unless it
// is negative), and the blank line.
func appendError(b []byte, id []byte, text string, n int) []byte {
	b = append(b, "      "...)
	b = append(b, id...)
	b = append(b, "\n    *** "...)
	b = append(b, text...)
	if n >= 0 {
		b = strconv.AppendInt(b, int64(n), 10)
	}
	return append(b, " ***\n\n"...)
}
