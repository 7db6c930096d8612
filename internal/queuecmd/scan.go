package queuecmd

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
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

// summary is what a listing shows of one message.
type summary struct {
	user       string
	sender     string
	received   int64
	frozen     bool
	untrusted  bool
	delivered  []string // the non-recipients tree, in file order
	recipients []string
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

// scanHeader extracts a summary from the bytes of a -H file, checking
// only what it reads.
func scanHeader(b []byte) (*summary, error) {
	r := &lineReader{b: b}
	s := &summary{}
	l, ok := r.next() // ID-H
	if !ok || !bytes.HasSuffix(l, []byte("-H")) {
		return nil, errFormat
	}
	if l, ok = r.next(); !ok {
		return nil, errFormat
	}
	user, _, _ := bytes.Cut(l, []byte(" "))
	s.user = string(user)
	if l, ok = r.next(); !ok || len(l) < 2 || l[0] != '<' || l[len(l)-1] != '>' {
		return nil, errFormat
	}
	s.sender = string(l[1 : len(l)-1])
	if l, ok = r.next(); !ok {
		return nil, errFormat
	}
	sec, _, _ := bytes.Cut(l, []byte(" "))
	t, err := strconv.ParseInt(string(sec), 10, 64)
	if err != nil {
		return nil, errFormat
	}
	s.received = t
	for {
		start := r.pos
		if l, ok = r.next(); !ok {
			return nil, errFormat
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
			n, err := strconv.Atoi(string(name[sp+1:]))
			if err != nil || n < 0 || n >= len(b)-r.pos {
				return nil, errFormat
			}
			r.pos += n + 1
		}
	}
	// The non-recipients tree: "XX", or pre-order "YN addr" lines.
	need := 1
	for need > 0 {
		if l, ok = r.next(); !ok {
			return nil, errFormat
		}
		if need == 1 && len(s.delivered) == 0 && string(l) == "XX" {
			break
		}
		if len(l) < 3 || l[2] != ' ' || !isYN(l[0]) || !isYN(l[1]) {
			return nil, errFormat
		}
		s.delivered = append(s.delivered, string(l[3:]))
		need--
		if l[0] == 'Y' {
			need++
		}
		if l[1] == 'Y' {
			need++
		}
	}
	if l, ok = r.next(); !ok {
		return nil, errFormat
	}
	n, err := strconv.Atoi(string(l))
	if err != nil || n < 0 || n > len(b) {
		return nil, errFormat
	}
	s.recipients = make([]string, 0, n)
	for i := 0; i < n; i++ {
		if l, ok = r.next(); !ok {
			return nil, errFormat
		}
		s.recipients = append(s.recipients, recipientAddress(string(l)))
	}
	if l, ok = r.next(); !ok || len(l) != 0 {
		return nil, errFormat
	}
	// Headers: "NNNf text", text being NNN bytes.
	for p := r.pos; p < len(b); {
		d := p
		for d < len(b) && b[d] >= '0' && b[d] <= '9' {
			d++
		}
		if d == p || d+2 > len(b) || d-p > 9 {
			return nil, errFormat
		}
		size, _ := strconv.Atoi(string(b[p:d]))
		next := d + 2 + size
		if next > len(b) {
			return nil, errFormat
		}
		if b[d] != '*' {
			s.headerSize += int64(size)
		}
		p = next
	}
	return s, nil
}

func isYN(c byte) bool { return c == 'Y' || c == 'N' }

// recipientAddress returns the address of a recipient line, without the
// optional fields Exim appends: " errors_to LEN,PNO" and, with flag bit
// 2, " orcpt LEN,DSN" before it, all closed by "#FLAGS" (chapter "Format
// of spool files"). A line whose tail does not decode is all address.
func recipientAddress(line string) string {
	hash := strings.LastIndexByte(line, '#')
	if hash < 0 {
		return line
	}
	flags, err := strconv.Atoi(line[hash+1:])
	if err != nil || flags <= 0 || flags&1 == 0 {
		return line
	}
	rest, ok := cutLengthField(line[:hash])
	if !ok {
		return line
	}
	if flags&2 != 0 {
		if rest, ok = cutLengthField(rest); !ok {
			return line
		}
	}
	if rest == "" {
		return line
	}
	return rest
}

// cutLengthField removes " TEXT LEN,NUM" from the end of s.
func cutLengthField(s string) (string, bool) {
	sp := strings.LastIndexByte(s, ' ')
	if sp < 0 {
		return "", false
	}
	l, _, found := strings.Cut(s[sp+1:], ",")
	n, err := strconv.Atoi(l)
	if !found || err != nil || n < 0 {
		return "", false
	}
	s = s[:sp]
	if n+1 > len(s) || s[len(s)-n-1] != ' ' {
		return "", false
	}
	return s[:len(s)-n-1], true
}
