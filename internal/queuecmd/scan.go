package queuecmd

import (
	"bytes"
	"errors"
)

// # What -bp needs from a -H file
//
// Spec chapter "Format of spool files": line 2 is "login uid gid", line 3
// the sender in angle brackets, line 4 "seconds warnings"; option lines
// follow ("-frozen <time>" and "-sender_set_untrusted" matter here; an
// "-aclc/-aclm NAME LEN" line is followed by LEN bytes of value), then the
// non-recipients tree, the recipient count and the recipients, a blank
// line, and the headers as "NNNf text" where NNN is the length of text and
// f the flag ('*' for a deleted header).

// errFormat marks a -H file the scanner cannot read.
var errFormat = errors.New("spool format error")

// summary is what a listing shows of one message. Its slices point into
// the bytes scanned, and it is reused from one message to the next so
// that listing a queue allocates nothing per message.
type summary struct {
	user       []byte
	sender     []byte
	received   int64
	frozen     bool
	untrusted  bool
	delivered  [][]byte // the non-recipients tree, in file order
	recipients [][]byte
	headerSize int64
}

// lineReader walks a byte slice a line at a time.
type lineReader struct {
	b   []byte
	pos int
}

func (r *lineReader) next() ([]byte, bool) {
	if r.pos >= len(r.b) {
		return nil, false
	}
	i := bytes.IndexByte(r.b[r.pos:], '\n')
	if i < 0 {
		return nil, false
	}
	l := r.b[r.pos : r.pos+i]
	r.pos += i + 1
	return l, true
}

// atoi parses an unsigned decimal number that fits an int64.
func atoi(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' || n > (1<<63-1)/10 {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
		if n > 1<<63-1 {
			return 0, false
		}
	}
	return int64(n), true
}

// scanHeader extracts a summary from the bytes of a -H file into s,
// checking only what it reads.
func scanHeader(b []byte, s *summary) error {
	r := &lineReader{b: b}
	*s = summary{delivered: s.delivered[:0], recipients: s.recipients[:0]}
	l, ok := r.next() // ID-H
	if !ok || !bytes.HasSuffix(l, []byte("-H")) {
		return errFormat
	}
	if l, ok = r.next(); !ok {
		return errFormat
	}
	s.user, _, _ = bytes.Cut(l, []byte(" "))
	if l, ok = r.next(); !ok || len(l) < 2 || l[0] != '<' || l[len(l)-1] != '>' {
		return errFormat
	}
	s.sender = l[1 : len(l)-1]
	if l, ok = r.next(); !ok {
		return errFormat
	}
	sec, _, _ := bytes.Cut(l, []byte(" "))
	if s.received, ok = parseInt(sec); !ok {
		return errFormat
	}
	for {
		start := r.pos
		if l, ok = r.next(); !ok {
			return errFormat
		}
		if len(l) == 0 || l[0] != '-' {
			r.pos = start
			break
		}
		name := l[1:]
		if len(name) > 0 && name[0] == '-' {
			name = name[1:]
		}
		switch {
		case bytes.HasPrefix(name, []byte("frozen ")):
			s.frozen = true
		case bytes.Equal(name, []byte("sender_set_untrusted")):
			s.untrusted = true
		case bytes.HasPrefix(name, []byte("aclc ")) || bytes.HasPrefix(name, []byte("aclm ")) ||
			bytes.HasPrefix(name, []byte("acl ")):
			// The value follows on its own, LEN bytes and a newline.
			sp := bytes.LastIndexByte(name, ' ')
			n, ok := parseInt(name[sp+1:])
			if !ok || n < 0 || n >= int64(len(b)-r.pos) {
				return errFormat
			}
			r.pos += int(n) + 1
		}
	}
	// The non-recipients tree: "XX", or pre-order "YN addr" lines.
	need := 1
	for need > 0 {
		if l, ok = r.next(); !ok {
			return errFormat
		}
		if need == 1 && len(s.delivered) == 0 && string(l) == "XX" {
			break
		}
		if len(l) < 3 || l[2] != ' ' || !isYN(l[0]) || !isYN(l[1]) {
			return errFormat
		}
		s.delivered = append(s.delivered, l[3:])
		need--
		if l[0] == 'Y' {
			need++
		}
		if l[1] == 'Y' {
			need++
		}
	}
	if l, ok = r.next(); !ok {
		return errFormat
	}
	n, ok := parseInt(l)
	if !ok || n < 0 || n > int64(len(b)) {
		return errFormat
	}
	for i := int64(0); i < n; i++ {
		if l, ok = r.next(); !ok {
			return errFormat
		}
		s.recipients = append(s.recipients, recipientAddress(l))
	}
	if l, ok = r.next(); !ok || len(l) != 0 {
		return errFormat
	}
	// Headers: "NNNf text", text being NNN bytes.
	for p := r.pos; p < len(b); {
		d := p
		for d < len(b) && b[d] >= '0' && b[d] <= '9' {
			d++
		}
		if d == p || d+2 > len(b) || d-p > 9 {
			return errFormat
		}
		size, _ := atoi(b[p:d])
		next := d + 2 + int(size)
		if next > len(b) {
			return errFormat
		}
		if b[d] != '*' {
			s.headerSize += size
		}
		p = next
	}
	return nil
}

func isYN(c byte) bool { return c == 'Y' || c == 'N' }

// recipientAddress returns the address of a recipient line, without the
// optional fields Exim appends (chapter "Format of spool files"): with
// flag bit 1, " errors_to LEN,PNO" at the end; with bit 2,
// " orcpt LEN,DSN" before that; all closed by "#FLAGS". Exim 4.96
// writes both (#3). Found by running its -bp on such lines: when it
// strips the errors_to field it also drops the character before it, so
// a line with bit 1 alone ("#1", from older releases) lists its address
// one character short, and with bit 2 the DSN number loses its last
// digit (which does not change the address). A line whose tail does not
// decode is all address.
func recipientAddress(line []byte) []byte {
	hash := bytes.LastIndexByte(line, '#')
	if hash < 0 {
		return line
	}
	flags, ok := atoi(line[hash+1:])
	if !ok || flags&3 == 0 {
		return line
	}
	rest := line[:hash]
	if flags&1 != 0 {
		if rest, ok = cutLengthField(rest); !ok {
			return line
		}
		if len(rest) > 0 {
			rest = rest[:len(rest)-1]
		}
	}
	if flags&2 != 0 {
		if rest, ok = cutLengthField(rest); !ok {
			return line
		}
	}
	return rest
}

// parseInt parses a decimal number as strconv.Atoi does (optional sign;
// a value that would overflow is refused).
func parseInt(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '+' || b[0] == '-') {
		neg, b = b[0] == '-', b[1:]
	}
	n, ok := atoi(b)
	if neg {
		n = -n
	}
	return n, ok
}

// cutLengthField removes " TEXT LEN,NUM" from the end of s: TEXT is the
// LEN bytes before the last space, and the byte before TEXT (the
// separating space) goes too. Like Exim, it does not check that this
// byte is a space.
func cutLengthField(s []byte) ([]byte, bool) {
	sp := bytes.LastIndexByte(s, ' ')
	if sp < 0 {
		return nil, false
	}
	l, _, found := bytes.Cut(s[sp+1:], []byte(","))
	n, ok := parseInt(l)
	if !found || !ok || n < 0 || n+1 > int64(sp) {
		return nil, false
	}
	return s[:int64(sp)-n-1], true
}
