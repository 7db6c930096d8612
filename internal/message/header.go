// Package message holds a message's header lines as Exim keeps them: the
// raw text of each header (with its folding), the spool flag that marks its
// type or deletion, and the four ways expansion variables present a header
// ($rh_ raw, $bh_ basic, $h_ decoded and translated, $lh_ as a list).
//
// Exim specification: chapter "String expansions", header variables;
// chapter "Format of spool files" for the type flags.
package message

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Header is one header line as received, possibly folded over several
// physical lines.
type Header struct {
	// Name is the header name as written (case kept).
	Name string
	// Text is the whole header, "Name: value\n", with internal folding and
	// the final newline.
	Text string
	// Type is the spool flag: ' ' for an ordinary header, '*' for a deleted
	// one, or Exim's letters (B Bcc, C Cc, F From, I Message-ID,
	// P Received, R Reply-To, S Sender, T To).
	Type byte
}

// Value returns the raw text after the colon, with the final newline.
func (h *Header) Value() string {
	i := strings.IndexByte(h.Text, ':')
	if i < 0 {
		return ""
	}
	return h.Text[i+1:]
}

// Headers is a message's header block in order.
type Headers []Header

// MaxHeaderBlock caps the size of a header block read by ReadHeaders.
const MaxHeaderBlock = 1 << 20

// ErrHeaderTooBig is returned when a header block exceeds MaxHeaderBlock.
var ErrHeaderTooBig = errors.New("header block too large")

// ReadHeaders reads a header block up to (and consuming) the blank line
// that ends it, or to the end of input. Lines may end in LF or CRLF; the
// stored text uses LF. A line that does not look like a header (no colon
// in the name part) ends the header block and is left for the body, as
// Exim does for a message without a blank line.
func ReadHeaders(r *bufio.Reader) (Headers, string, error) {
	var hs Headers
	total := 0
	for {
		line, err := r.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, "", fmt.Errorf("reading headers: %w", err)
		}
		total += len(line)
		if total > MaxHeaderBlock {
			return nil, "", ErrHeaderTooBig
		}
		if line == "" {
			return hs, "", nil
		}
		norm := strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r") + "\n"
		if norm == "\n" {
			return hs, "", nil
		}
		if (norm[0] == ' ' || norm[0] == '\t') && len(hs) > 0 {
			hs[len(hs)-1].Text += norm
			continue
		}
		name, ok := headerName(norm)
		if !ok {
			// Not a header: the rest is body.
			return hs, line, nil
		}
		hs = append(hs, Header{Name: name, Text: norm, Type: TypeFlag(name)})
		if errors.Is(err, io.EOF) {
			return hs, "", nil
		}
	}
}

// headerName returns the name of a header line: printing characters other
// than space and colon, followed (after optional white space) by a colon.
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

// TypeFlag returns Exim's spool type flag for a header name.
func TypeFlag(name string) byte {
	switch strings.ToLower(name) {
	case "bcc":
		return 'B'
	case "cc":
		return 'C'
	case "from":
		return 'F'
	case "message-id":
		return 'I'
	case "received":
		return 'P'
	case "reply-to":
		return 'R'
	case "sender":
		return 'S'
	case "to":
		return 'T'
	}
	return ' '
}

// isAddressHeader reports whether instances of the header are joined with
// ",\n" in $h_ (they hold address lists).
func isAddressHeader(name string) bool {
	switch strings.ToLower(name) {
	case "from", "to", "cc", "bcc", "reply-to", "sender", "errors-to",
		"resent-from", "resent-to", "resent-cc", "resent-bcc", "resent-reply-to", "resent-sender":
		return true
	}
	return false
}

// find returns the live (not deleted) instances of the named header.
func (hs Headers) find(name string) []*Header {
	var out []*Header
	for i := range hs {
		h := &hs[i]
		if h.Type != '*' && strings.EqualFold(h.Name, name) {
			out = append(out, h)
		}
	}
	return out
}

// Raw returns $rh_name: every instance's text after the colon, including
// white space and newlines, concatenated.
func (hs Headers) Raw(name string) (string, bool) {
	found := hs.find(name)
	var b strings.Builder
	for _, h := range found {
		b.WriteString(h.Value())
	}
	return b.String(), len(found) > 0
}

// List returns $lh_name: one list element per instance, raw but without
// the final newline, colons doubled, joined with ":".
func (hs Headers) List(name string) (string, bool) {
	found := hs.find(name)
	parts := make([]string, len(found))
	for i, h := range found {
		v := strings.TrimSuffix(h.Value(), "\n")
		parts[i] = strings.ReplaceAll(v, ":", "::")
	}
	return strings.Join(parts, ":"), len(found) > 0
}

// Basic returns $bh_name: each instance trimmed of surrounding white space
// with RFC 2047 words decoded but no character set translation, joined
// as Exim joins them (",\n" for address headers, "\n" otherwise).
func (hs Headers) Basic(name string) (string, bool) {
	return hs.join(name, func(v string) string { return decodeWords(v, "") })
}

// Decoded returns $h_name: like Basic, but the decoded words are translated
// into charset (headers_charset; "UTF-8" in Debian's build).
func (hs Headers) Decoded(name, charset string) (string, bool) {
	return hs.join(name, func(v string) string { return decodeWords(v, charset) })
}

func (hs Headers) join(name string, conv func(string) string) (string, bool) {
	found := hs.find(name)
	sep := "\n"
	if isAddressHeader(name) {
		sep = ",\n"
	}
	var b strings.Builder
	for i, h := range found {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(conv(strings.Trim(h.Value(), " \t\r\n")))
	}
	return b.String(), len(found) > 0
}

// String returns the header block as $message_headers_raw shows it.
func (hs Headers) String() string {
	var b strings.Builder
	for _, h := range hs {
		if h.Type != '*' {
			b.WriteString(h.Text)
		}
	}
	return b.String()
}

// DecodedBlock returns the header block as $message_headers shows it: each
// header's value with RFC 2047 words decoded into charset, the layout kept,
// headers separated by newlines and no final newline.
func (hs Headers) DecodedBlock(charset string) string {
	var b strings.Builder
	for _, h := range hs {
		if h.Type == '*' {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(h.Name)
		b.WriteByte(':')
		b.WriteString(decodeWords(strings.TrimRight(h.Value(), " \t\r\n"), charset))
	}
	return b.String()
}
