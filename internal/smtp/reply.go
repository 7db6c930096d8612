package smtp

import (
	"strconv"
	"strings"
)

// FormatReply formats an SMTP reply: code and text, one line per "\n"
// separated line of text, "code-" before every line but the last and
// "code " before the last, each ending in CRLF (RFC 5321 section 4.2.1).
// An empty text gives "code " alone... as Exim writes it: the code and a
// space.
func FormatReply(code int, text string) string {
	var b strings.Builder
	AppendReply(&b, code, text)
	return b.String()
}

// AppendReply writes the reply FormatReply would return to b.
func AppendReply(b *strings.Builder, code int, text string) {
	c := strconv.Itoa(code)
	text = strings.TrimSuffix(text, "\n")
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		b.WriteString(c)
		if i == len(lines)-1 {
			b.WriteByte(' ')
		} else {
			b.WriteByte('-')
		}
		b.WriteString(strings.TrimSuffix(l, "\r"))
		b.WriteString("\r\n")
	}
}

// ReplyLines splits a reply text into the lines a multi-line reply sends.
func ReplyLines(text string) []string {
	return strings.Split(strings.TrimSuffix(text, "\n"), "\n")
}
