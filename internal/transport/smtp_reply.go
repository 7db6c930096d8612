// Reading SMTP replies on the client side (RFC 5321 section 4.2).

package transport

import (
	"bufio"
	"errors"
	"fmt"
	"strings"
)

// Reply is one SMTP reply: its code and its lines without the code and
// separator.
type Reply struct {
	Code  int
	Lines []string
}

// Limits on replies a server may send.
const (
	maxReplyLines    = 100
	maxReplyLineSize = 4096
)

// errBadReply marks a reply that is not SMTP.
var errBadReply = errors.New("malformed SMTP reply")

// Text is the reply as Exim shows it in log lines and bounces: each line
// with its code, joined by newlines ("250-a\n250 b").
func (r *Reply) Text() string {
	var b strings.Builder
	for i, l := range r.Lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		sep := "-"
		if i == len(r.Lines)-1 {
			sep = " "
		}
		if len(r.Lines) == 1 {
			sep = " "
		}
		fmt.Fprintf(&b, "%03d%s%s", r.Code, sep, l)
	}
	if len(r.Lines) == 0 {
		fmt.Fprintf(&b, "%03d", r.Code)
	}
	// Exim shows a one-line reply as "250 text".
	return strings.TrimRight(b.String(), " ")
}

// Message is the reply's text lines joined by newlines, without codes.
func (r *Reply) Message() string { return strings.Join(r.Lines, "\n") }

// Class is the first digit of the code.
func (r *Reply) Class() int { return r.Code / 100 }

// readReply reads one (possibly multi-line) reply. Lines end in CRLF or
// LF. Every line must start with the same three digits, followed by "-"
// (more lines follow), " " or the end of the line (last line).
func readReply(r *bufio.Reader) (*Reply, error) {
	rep := &Reply{}
	for n := 0; ; n++ {
		if n >= maxReplyLines {
			return nil, fmt.Errorf("%w: too many lines", errBadReply)
		}
		line, err := readLine(r)
		if err != nil {
			return nil, err
		}
		code, more, text, err := parseReplyLine(line)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			rep.Code = code
		} else if code != rep.Code {
			return nil, fmt.Errorf("%w: code changed within a reply", errBadReply)
		}
		rep.Lines = append(rep.Lines, text)
		if !more {
			return rep, nil
		}
	}
}

// readLine reads one line without its ending, refusing overlong lines.
func readLine(r *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, err := r.ReadSlice('\n')
		b = append(b, chunk...)
		if len(b) > maxReplyLineSize {
			return "", fmt.Errorf("%w: line too long", errBadReply)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return "", err
		}
		s := strings.TrimSuffix(string(b), "\n")
		return strings.TrimSuffix(s, "\r"), nil
	}
}

// parseReplyLine splits "250-text", "250 text" or "250".
func parseReplyLine(line string) (code int, more bool, text string, err error) {
	if len(line) < 3 {
		return 0, false, "", fmt.Errorf("%w: %q", errBadReply, line)
	}
	for i := 0; i < 3; i++ {
		if line[i] < '0' || line[i] > '9' {
			return 0, false, "", fmt.Errorf("%w: %q", errBadReply, line)
		}
	}
	if line[0] < '2' || line[0] > '5' {
		return 0, false, "", fmt.Errorf("%w: %q", errBadReply, line)
	}
	code = int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0')
	if len(line) == 3 {
		return code, false, "", nil
	}
	switch line[3] {
	case '-':
		return code, true, line[4:], nil
	case ' ':
		return code, false, line[4:], nil
	}
	return 0, false, "", fmt.Errorf("%w: %q", errBadReply, line)
}

// ehloCaps is what an EHLO reply advertises.
type ehloCaps struct {
	size       bool
	eightBit   bool
	pipelining bool
	chunking   bool
	startTLS   bool
	dsn        bool
	prdr       bool
	smtputf8   bool
	auth       []string
}

// parseEHLO reads the keywords of an EHLO reply (the first line is the
// greeting).
func parseEHLO(r *Reply) ehloCaps {
	var c ehloCaps
	for i, l := range r.Lines {
		if i == 0 {
			continue
		}
		f := strings.Fields(strings.ToUpper(l))
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "SIZE":
			c.size = true
		case "8BITMIME":
			c.eightBit = true
		case "PIPELINING":
			c.pipelining = true
		case "CHUNKING":
			c.chunking = true
		case "STARTTLS":
			c.startTLS = true
		case "DSN":
			c.dsn = true
		case "PRDR":
			c.prdr = true
		case "SMTPUTF8":
			c.smtputf8 = true
		case "AUTH":
			c.auth = append(c.auth, f[1:]...)
		}
	}
	return c
}
