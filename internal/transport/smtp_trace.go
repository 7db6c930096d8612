// What -v shows of an SMTP client session (Exim specification chapter
// "The Exim command line", option -v: "the SMTP dialogue is shown"),
// in the form Exim 4.96 shows it.

package transport

import (
	"io"
	"strconv"
	"strings"
	"sync"
)

// traceMu keeps the lines of sessions running side by side whole.
var traceMu sync.Mutex

// sessionTrace writes one session's dialogue as it happens: each line
// sent ("  SMTP>> ", or "  SMTP|> " for a command held back to be
// pipelined with the next, "  SMTP+> " for one followed by more data
// in the same write), each reply ("  SMTP<< ", its later lines
// indented under the first), the end of the connection, and last the
// session's command log ("cmdlog: '220:EHLO:250-:MAIL|:...'": the
// commands, "|" marking those pipelined, and the reply codes, "-"
// marking a reply of several lines). A nil trace shows nothing.
//
// An LMTP session (lmtp: true) shows as Exim's lmtp transport shows it:
// "  LMTP>> " (each command with its CR) and "  LMTP<< " (every line
// of a reply marked), the data
// as "writing message and terminating" followed by "  SMTP>> .", and no
// end of connection or command log.
type sessionTrace struct {
	w      io.Writer
	lmtp   bool
	cmdlog []string
}

func newTrace(w io.Writer) *sessionTrace {
	if w == nil {
		return nil
	}
	return &sessionTrace{w: w}
}

// newLMTPTrace is newTrace for an LMTP session.
func newLMTPTrace(w io.Writer) *sessionTrace {
	t := newTrace(w)
	if t != nil {
		t.lmtp = true
	}
	return t
}

// prefix is what starts a line sent or read with mark.
func (t *sessionTrace) prefix(mark string) string {
	if t.lmtp {
		return "  LMTP" + mark + " "
	}
	return "  SMTP" + mark + " "
}

// writingMessage shows that the message is being written.
func (t *sessionTrace) writingMessage() {
	if t != nil && t.lmtp {
		t.show("  LMTP>> writing message and terminating \".\"\n")
		return
	}
	t.show("  SMTP>> (writing message)\n")
}

// dataEnd shows the dot that ends the data (as SMTP in an LMTP session
// too, as Exim shows it).
func (t *sessionTrace) dataEnd() {
	if t != nil && t.lmtp {
		t.show("  SMTP>> .\n")
		return
	}
	t.sent(">>", ".")
}

// show writes text (whole lines) in one piece.
func (t *sessionTrace) show(text string) {
	if t == nil {
		return
	}
	traceMu.Lock()
	defer traceMu.Unlock()
	io.WriteString(t.w, text)
}

// connecting shows an attempt to connect to h, and its outcome.
func (t *sessionTrace) connecting(h Host, port int, err error) {
	if t == nil {
		return
	}
	outcome := " connected"
	if err != nil {
		outcome = " failed: " + netResult(err, "").Message
	}
	t.show("Connecting to " + h.Name + " [" + h.Addr + "]:" + strconv.Itoa(port) + " ... " + outcome + "\n")
}

// sent shows a line sent with the mark ">>", "|>" or "+>"; the command
// log gets its verb, with "|" for a pipelined one. An AUTH command's
// data shows as a star a character.
func (t *sessionTrace) sent(mark, line string) {
	if t == nil {
		return
	}
	verb, _, _ := strings.Cut(line, " ")
	verb = strings.ToUpper(verb)
	if verb == "AUTH" {
		if f := strings.Fields(line); len(f) > 2 {
			line = f[0] + " " + f[1] + " " + strings.Repeat("*", len(f[2]))
		}
	}
	t.note(verb, mark == "|>")
	if t.lmtp {
		// Exim shows an LMTP command with its CR.
		line += "\r"
	}
	t.show(t.prefix(mark) + line + "\n")
}

// secret shows a line of an authentication exchange as a star a
// character; the command log has at most eight of them.
func (t *sessionTrace) secret(line string) {
	if t == nil {
		return
	}
	t.note(strings.Repeat("*", min(len(line), 8)), false)
	t.show(t.prefix(">>") + strings.Repeat("*", len(line)) + "\n")
}

// note adds an entry to the command log.
func (t *sessionTrace) note(entry string, pipelined bool) {
	if pipelined {
		entry += "|"
	}
	t.cmdlog = append(t.cmdlog, entry)
}

// reply shows a reply read.
func (t *sessionTrace) reply(r *Reply) {
	if t == nil {
		return
	}
	code := strconv.Itoa(r.Code)
	if len(r.Lines) > 1 {
		t.note(code+"-", false)
	} else {
		t.note(code, false)
	}
	var b strings.Builder
	for i, l := range r.Lines {
		sep := "-"
		if i == len(r.Lines)-1 {
			sep = " "
		}
		if i == 0 || t.lmtp {
			b.WriteString(t.prefix("<<"))
		} else {
			b.WriteString("         ")
		}
		b.WriteString(strings.TrimRight(code+sep+l, " ") + "\n")
	}
	if len(r.Lines) == 0 {
		b.WriteString(t.prefix("<<") + code + "\n")
	}
	t.show(b.String())
}

// closed shows the end of the connection and the command log.
func (t *sessionTrace) closed() {
	if t == nil || t.lmtp {
		return
	}
	t.show("  SMTP(close)>>\ncmdlog: '" + strings.Join(t.cmdlog, ":") + "'\n")
	t.cmdlog = nil
}
