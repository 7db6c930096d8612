package smtp

import (
	"bufio"
	"errors"
	"io"
)

// ErrIncompleteData is returned by DotReader when the input ends before
// the terminating "CRLF . CRLF".
var ErrIncompleteData = errors.New("SMTP incomplete message (lost connection)")

// dotState is the state of the DATA reader.
type dotState int

// The states of the DATA reader (emersion/go-smtp and chasquid name theirs
// the same way). "Line start" means just after a CRLF (or at the start of
// the data).
const (
	stLineStart dotState = iota // at the start of a line
	stDot                       // a "." at the start of a line
	stDotCR                     // "." then CR at the start of a line
	stData                      // inside a line
	stCR                        // a CR inside a line (or after a line-start CR)
)

// DotReader reads the data of a DATA command (RFC 5321 section 4.5.2):
// it removes the leading dot of dot-stuffed lines, turns every CRLF into
// a LF (the form in which exigo, like Exim, keeps a message), and stops at
// the line that holds a single dot.
//
// It is strict about line endings, and so immune to "SMTP smuggling"
// (CVE-2023-51766 and friends): only CRLF counts as a line end for the
// dot rules. "LF . LF", "LF . CRLF" and "CRLF . LF" do not end the data
// and are kept as data; a bare LF or bare CR is passed through unchanged.
// Exim 4.96 accepts a bare LF as a line end; Exim 4.97.1 stopped
// recognising the end of data after a bare LF, which is what exigo does
// everywhere (see docs/smtp.md).
type DotReader struct {
	r     *bufio.Reader
	state dotState
	done  bool
	pend  []byte // bytes decided but not yet returned
	buf   [2]byte
}

// NewDotReader returns a DotReader reading from r.
func NewDotReader(r *bufio.Reader) *DotReader {
	return &DotReader{r: r}
}

// Read implements io.Reader. It returns io.EOF after the final dot line,
// and ErrIncompleteData when r ends first.
func (d *DotReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(d.pend) > 0 {
			c := copy(p[n:], d.pend)
			n += c
			d.pend = d.pend[c:]
			continue
		}
		if d.done {
			if n > 0 {
				return n, nil
			}
			return 0, io.EOF
		}
		c, err := d.r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = ErrIncompleteData
			}
			return n, err
		}
		d.step(c)
	}
	return n, nil
}

// step advances the state machine by one input byte, queueing output.
func (d *DotReader) step(c byte) {
	out := d.buf[:0]
	switch d.state {
	case stLineStart:
		switch c {
		case '.':
			d.state = stDot
		case '\r':
			d.state = stCR
		default:
			d.state = stData
			out = append(out, c)
		}
	case stDot:
		switch c {
		case '\r':
			d.state = stDotCR
		default:
			// A dot-stuffed line (or "." and a bare LF): the first dot
			// is dropped, the rest is data.
			d.state = stData
			out = append(out, c)
		}
	case stDotCR:
		if c == '\n' {
			d.done = true
			break
		}
		// ".", CR, then something else: the CR is data.
		out = append(out, '\r')
		if c == '\r' {
			d.state = stCR
		} else {
			d.state = stData
			out = append(out, c)
		}
	case stData:
		if c == '\r' {
			d.state = stCR
		} else {
			out = append(out, c)
		}
	case stCR:
		switch c {
		case '\n':
			d.state = stLineStart
			out = append(out, '\n')
		case '\r':
			// A bare CR followed by another CR: keep the first.
			out = append(out, '\r')
		default:
			d.state = stData
			out = append(out, '\r', c)
		}
	}
	d.pend = out
}
