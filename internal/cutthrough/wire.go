// The SMTP wire format of a cutthrough connection: replies (RFC 5321
// section 4.2) and the dot-stuffed data (section 4.5.2).

package cutthrough

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Limits on a destination's reply: lines longer are cut, and a reply
// of more lines ends there.
const (
	maxReplyLine  = 4096
	maxReplyLines = 100
)

// errBadReply is a reply that does not start with three digits.
var errBadReply = errors.New("malformed SMTP reply")

// readReply reads one reply, its continuation lines too.
func readReply(br *bufio.Reader) (Reply, error) {
	var r Reply
	for len(r.Lines) < maxReplyLines {
		var line []byte
		for {
			chunk, err := br.ReadSlice('\n')
			if len(line) < maxReplyLine {
				line = append(line, chunk[:min(len(chunk), maxReplyLine-len(line))]...)
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				continue
			}
			if err != nil {
				return Reply{}, err
			}
			break
		}
		text := strings.TrimRight(string(line), "\r\n")
		if len(text) < 3 {
			return Reply{}, errBadReply
		}
		code, err := strconv.Atoi(text[:3])
		if err != nil || code < 100 || code > 599 || (r.Code != 0 && code != r.Code) {
			return Reply{}, fmt.Errorf("%w: %q", errBadReply, text)
		}
		r.Code = code
		more := len(text) > 3 && text[3] == '-'
		rest := ""
		if len(text) > 4 {
			rest = text[4:]
		}
		r.Lines = append(r.Lines, rest)
		if !more {
			return r, nil
		}
	}
	return r, nil
}

// ParseReply reads one reply from text (for tests and fuzzing).
func ParseReply(text string) (Reply, error) {
	return readReply(bufio.NewReader(strings.NewReader(text)))
}

// writeDotStuffed writes msg as DATA content: every line ending in
// CRLF (a bare LF becomes CRLF), a leading dot doubled, then the final
// ".".
func writeDotStuffed(w *bufio.Writer, msg []byte) error {
	for len(msg) > 0 {
		i := bytes.IndexByte(msg, '\n')
		var line []byte
		if i < 0 {
			line, msg = msg, nil
		} else {
			line, msg = msg[:i], msg[i+1:]
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) > 0 && line[0] == '.' {
			w.WriteByte('.')
		}
		w.Write(line)
		if _, err := w.WriteString("\r\n"); err != nil {
			return err
		}
	}
	_, err := w.WriteString(".\r\n")
	return err
}
