package receive

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/exigo-mta/exigo/internal/message"
)

// Format says how a message's input is framed.
type Format int

const (
	// FormatLocal is a message on standard input (-bm, -t): lines end in
	// LF, CRLF or a bare CR; with ReadOptions.DotEnds a line holding only
	// "." ends the message (no -i/-oi).
	FormatLocal Format = iota
	// FormatSMTP is the text after DATA (or in -bS batches): lines as in
	// FormatLocal, a "." line ends the message, and a leading dot is
	// removed from other lines (RFC 5321 §4.5.2).
	FormatSMTP
	// FormatTest is a -bem file: headers are read as in FormatLocal, the
	// body is kept byte for byte (Exim reads it from the file as it is),
	// split at LF only; with DotEnds a ".\n" line ends it.
	FormatTest
)

// MaxHeaderLine caps one logical header line (with its continuations).
const MaxHeaderLine = 1 << 20

// ReadOptions control Read.
type ReadOptions struct {
	Format Format
	// DotEnds makes a lone "." line end a local message (no -i/-oi).
	DotEnds bool
	// SizeLimit is message_size_limit in bytes; 0 is no limit.
	SizeLimit int64
	// MemoryThreshold and TempDir control body spooling (see NewBody).
	MemoryThreshold int64
	TempDir         string
}

// Message is a message as read, before fix-ups.
type Message struct {
	// Headers is the header block with spool type flags.
	Headers message.Headers
	// Body is the body with LF line endings (raw for FormatTest).
	Body *Body
	// HeaderSize is the stored size of the headers as received.
	HeaderSize int64
	// BlankLine says a blank line separated headers and body.
	BlankLine bool
	// LineCount is $message_linecount, BodyLineCount $body_linecount,
	// BodyZeroCount $body_zerocount, MaxLineLength
	// $max_received_linelength.
	LineCount, BodyLineCount, BodyZeroCount, MaxLineLength int
	// Terminated says the message ended with a "." line (not at EOF).
	Terminated bool

	skipped int64
}

// Size is $message_size: the message as stored (headers as received, the
// blank line, the body), before fix-ups.
func (m *Message) Size() int64 {
	n := m.HeaderSize + m.Body.Size() + m.skipped
	if m.BlankLine {
		n++
	}
	return n
}

// SizeError is returned when a message exceeds message_size_limit.
type SizeError struct {
	// Read is how much had been read when reading stopped; Max is the
	// limit.
	Read, Max int64
}

// Error is the text of Exim's reject log line ("message too big:
// read=N max=M").
func (e *SizeError) Error() string {
	return fmt.Sprintf("message too big: read=%d max=%d", e.Read, e.Max)
}

// Local is the text Exim prints for a local message (-oep): "message too
// big (max=M)".
func (e *SizeError) Local() string {
	return fmt.Sprintf("message too big (max=%d)", e.Max)
}

// line endings
const (
	endEOF = iota
	endLF
	endCRLF
	endCR
)

type lineReader struct {
	r    *bufio.Reader
	buf  []byte
	read int64
}

// next returns the next line without its ending, and the ending.
func (lr *lineReader) next(crIsEnd bool) ([]byte, int, error) {
	lr.buf = lr.buf[:0]
	for {
		c, err := lr.r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return lr.buf, endEOF, nil
			}
			return nil, 0, fmt.Errorf("reading message: %w", err)
		}
		lr.read++
		switch {
		case c == '\n':
			return lr.buf, endLF, nil
		case c == '\r' && crIsEnd:
			d, err := lr.r.ReadByte()
			if err == nil {
				if d == '\n' {
					lr.read++
					return lr.buf, endCRLF, nil
				}
				lr.r.UnreadByte()
			}
			return lr.buf, endCR, nil
		}
		lr.buf = append(lr.buf, c)
		if len(lr.buf) > MaxHeaderLine && crIsEnd {
			// A single line this long is still body; keep going in
			// chunks to bound memory (the caller stores as it goes).
			return lr.buf, -1, nil
		}
	}
}

// Read reads one message from r in the given format. The returned
// message's body must be closed by the caller. A message over the size
// limit gives a *SizeError (with the partial message discarded).
//
// Spec: chapter "Message processing", section "Line endings": LF alone is
// a line ending; CR is a line ending, and an LF right after it is
// ignored; "CR . CR" does not end a message; a bare CR inside a header
// line ends the line and a space is added after it so the header goes on;
// when the first header line ends in CRLF, a later bare LF in the headers
// is treated the same way.
func Read(r io.Reader, opt ReadOptions) (*Message, error) {
	lr := &lineReader{r: bufio.NewReaderSize(r, 64*1024)}
	m := &Message{Body: NewBody(opt.TempDir, opt.MemoryThreshold)}
	dotEnds := opt.DotEnds || opt.Format == FormatSMTP
	var (
		cur       []byte // current header being built
		first     = true
		firstCRLF bool
		contNext  bool // previous header line ended bare: next line continues it
		prevCR    bool // previous line ended in a bare CR
		lineLen   int  // stored characters since the last input LF
		stored    int64
	)
	fail := func() error {
		m.Body.Close()
		return &SizeError{Read: lr.read, Max: opt.SizeLimit}
	}
	flush := func() error {
		if cur == nil {
			return nil
		}
		text := string(cur)
		name, _ := headerName(text)
		m.Headers = append(m.Headers, message.Header{Name: name, Text: text, Type: typeFlag(name)})
		m.HeaderSize += int64(len(cur))
		cur = nil
		return nil
	}
	var firstBody []byte
	haveFirstBody := false
	for {
		line, end, err := lr.next(true)
		if err != nil {
			m.Body.Close()
			return nil, err
		}
		if end == -1 {
			// Overlong header line: treat as body from here.
			firstBody = append([]byte(nil), line...)
			haveFirstBody = true
			flush()
			break
		}
		if end == endEOF && len(line) == 0 {
			if cur != nil || contNext {
				// EOF inside the header block counts as a line.
				m.LineCount++
			}
			flush()
			m.finishCounts(lineLen)
			return m, nil
		}
		if dotEnds && len(line) == 1 && line[0] == '.' && end != endCR && !prevCR {
			flush()
			m.Terminated = true
			m.finishCounts(lineLen)
			return m, nil
		}
		if opt.Format == FormatSMTP && len(line) > 0 && line[0] == '.' {
			line = line[1:]
		}
		bare := end == endCR || (end == endLF && firstCRLF)
		if first {
			firstCRLF = end == endCRLF
			first = false
		}
		if end == endLF || end == endCRLF {
			m.LineCount++
		}
		switch {
		case contNext:
			cur = append(cur, ' ')
			cur = append(cur, line...)
			cur = append(cur, '\n')
			lineLen++
		case len(line) == 0:
			flush()
			m.BlankLine = true
			if end == endLF || end == endCRLF {
				lineLen = 0
			}
			prevCR = end == endCR
			return m.readBody(lr, opt, dotEnds, prevCR, lineLen, stored)
		case (line[0] == ' ' || line[0] == '\t') && cur != nil:
			cur = append(cur, line...)
			cur = append(cur, '\n')
		default:
			if _, ok := headerName(string(line) + "\n"); !ok {
				flush()
				firstBody = append([]byte(nil), line...)
				haveFirstBody = true
				if end != endEOF {
					firstBody = append(firstBody, '\n')
				}
				if end == endLF || end == endCRLF {
					m.LineCount-- // counted again as a body line
				}
				prevCR = end == endCR
				break
			}
			flush()
			cur = append(cur[:0:0], line...)
			cur = append(cur, '\n')
		}
		if haveFirstBody {
			break
		}
		stored += int64(len(line)) + 1
		if opt.SizeLimit > 0 && stored > opt.SizeLimit {
			return nil, fail()
		}
		lineLen += len(line)
		if end == endLF || end == endCRLF || end == endEOF {
			m.noteLen(lineLen)
			lineLen = 0
		} else {
			lineLen++ // the stored newline
		}
		contNext = bare && end != endEOF
		prevCR = end == endCR
		if end == endEOF {
			flush()
			m.LineCount++
			m.finishCounts(lineLen)
			return m, nil
		}
	}
	// The header block ended at a line that is not a header: it starts
	// the body.
	if opt.Format == FormatTest {
		// Exim's -bem reads the body from the file after this line: the
		// line counts in $message_size but is not in the body.
		m.skipped = int64(len(firstBody))
	} else {
		m.writeBodyLine(firstBody[:len(firstBody)-boolInt(bytes.HasSuffix(firstBody, []byte("\n")))], bytes.HasSuffix(firstBody, []byte("\n")))
	}
	m.noteLen(len(firstBody) - boolInt(bytes.HasSuffix(firstBody, []byte("\n"))))
	return m.readBody(lr, opt, dotEnds, prevCR, 0, stored)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (m *Message) noteLen(n int) {
	if n > m.MaxLineLength {
		m.MaxLineLength = n
	}
}

func (m *Message) finishCounts(lineLen int) {
	m.noteLen(lineLen)
}

func (m *Message) writeBodyLine(line []byte, nl bool) {
	m.Body.Write(line)
	if nl {
		m.Body.Write([]byte{'\n'})
	}
	m.BodyLineCount++
	m.LineCount++
	m.BodyZeroCount += bytes.Count(line, []byte{0})
}

// readBody reads the body after the header block.
func (m *Message) readBody(lr *lineReader, opt ReadOptions, dotEnds, prevCR bool, lineLen int, stored int64) (*Message, error) {
	limit := opt.SizeLimit
	check := func() error {
		if limit > 0 && m.HeaderSize+1+m.Body.Size() > limit {
			m.Body.Close()
			return &SizeError{Read: lr.read, Max: limit}
		}
		return nil
	}
	if opt.Format == FormatTest {
		return m.readRawBody(lr, opt, dotEnds, check)
	}
	for {
		line, end, err := lr.next(true)
		if err != nil {
			m.Body.Close()
			return nil, err
		}
		if end == -1 {
			m.Body.Write(line)
			m.BodyZeroCount += bytes.Count(line, []byte{0})
			lineLen += len(line)
			if err := check(); err != nil {
				return nil, err
			}
			continue
		}
		if end == endEOF && len(line) == 0 {
			break
		}
		if len(line) == 1 && line[0] == '.' && dotEnds && end != endCR && !prevCR {
			m.Terminated = true
			break
		}
		if opt.Format == FormatSMTP && len(line) > 0 && line[0] == '.' {
			line = line[1:]
		}
		m.writeBodyLine(line, true)
		lineLen += len(line)
		if end != endCR {
			m.noteLen(lineLen)
			lineLen = 0
		} else {
			m.noteLen(lineLen)
			lineLen = 0
		}
		prevCR = end == endCR
		if err := check(); err != nil {
			return nil, err
		}
		if end == endEOF {
			break
		}
	}
	return m, nil
}

// readRawBody reads a -bem body: bytes kept as they are, lines split at
// LF, ".\n" ending the message when dotEnds.
func (m *Message) readRawBody(lr *lineReader, opt ReadOptions, dotEnds bool, check func() error) (*Message, error) {
	for {
		line, end, err := lr.next(false)
		if err != nil {
			m.Body.Close()
			return nil, err
		}
		if end == endEOF && len(line) == 0 {
			break
		}
		if dotEnds && end == endLF && len(line) == 1 && line[0] == '.' {
			m.Terminated = true
			break
		}
		m.Body.Write(line)
		m.BodyZeroCount += bytes.Count(line, []byte{0})
		if end == endLF {
			m.Body.Write([]byte{'\n'})
			m.BodyLineCount++
			m.LineCount++
		}
		if err := check(); err != nil {
			return nil, err
		}
		if end == endEOF {
			break
		}
	}
	return m, nil
}

// headerName returns the name of a header line: printing characters other
// than space and colon, then optional white space and a colon.
func headerName(line string) (string, bool) {
	i := 0
	for i < len(line) && line[i] > ' ' && line[i] < 0x7f && line[i] != ':' {
		i++
	}
	if i == 0 {
		return "", false
	}
	j := i
	for j < len(line) && (line[j] == ' ' || line[j] == '\t') {
		j++
	}
	if j >= len(line) || line[j] != ':' {
		return "", false
	}
	return line[:i], true
}

// typeFlag is the spool type flag of a header, Resent- forms included
// (Resent-To: is T, Resent-Message-Id: is I ...), as Exim writes them.
func typeFlag(name string) byte {
	if len(name) > 7 && strings.EqualFold(name[:7], "resent-") {
		switch strings.ToLower(name[7:]) {
		case "to", "cc", "bcc", "from", "sender", "message-id":
			return message.TypeFlag(name[7:])
		}
		return ' '
	}
	return message.TypeFlag(name)
}
