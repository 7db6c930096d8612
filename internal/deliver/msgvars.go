package deliver

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/transport"
)

// The message as routers, filters and transports see it while it is
// delivered: its header block for $h_, $header_, $message_headers, and
// the variables read from the spool files. Spec chapter "String
// expansions", section "Expansion variables" ($message_body,
// $message_body_end, $message_body_size, $message_linecount,
// $body_linecount, $max_received_linelength, $message_size).

// headerView returns the header block for expansions.
func (m *attempt) headerView() expand.Message {
	cs := ""
	if m.d.Config != nil {
		cs = m.d.Config.Main.String("headers_charset")
	}
	return &expand.HeaderBlock{Block: m.h.Headers, Charset: cs}
}

// bodyVars computes, once per attempt, the variables that need the -D
// file: the first and last message_body_visible bytes of the body with
// newlines as spaces, the body's size, the whole message's size (header
// block plus body, as S= shows it) and the line counts.
func (m *attempt) bodyVars() expand.VarMap {
	if m.bvars != nil {
		return m.bvars
	}
	v := expand.VarMap{}
	m.bvars = v
	hdrSize, hdrLines := 0, 0
	for _, h := range m.h.Headers {
		if h.Type == '*' {
			continue
		}
		hdrSize += len(h.Text)
		hdrLines += strings.Count(h.Text, "\n")
	}
	var size int64
	var body io.ReaderAt
	if m.lock != nil && m.lock.Data() != nil {
		if r, err := transport.BodyReader(m.lock.Data()); err == nil {
			size, body = r.Size(), r
		}
	}
	visible := int64(500)
	if m.d.Config != nil {
		if n, ok := m.d.Config.Main.Int("message_body_visible"); ok && n >= 0 {
			visible = n
		}
	}
	newlines := m.d.Config != nil && m.d.Config.Main.Bool("message_body_newlines")
	read := func(off, n int64) string {
		if body == nil || n <= 0 {
			return ""
		}
		if off < 0 {
			n += off
			off = 0
		}
		if off+n > size {
			n = size - off
		}
		if n <= 0 {
			return ""
		}
		p := make([]byte, n)
		k, _ := body.ReadAt(p, off)
		p = p[:k]
		if !newlines {
			p = bytes.ReplaceAll(p, []byte{'\n'}, []byte{' '})
		}
		return string(bytes.ReplaceAll(p, []byte{0}, []byte{' '}))
	}
	v["message_body"] = read(0, visible)
	v["message_body_end"] = read(size-visible, visible)
	v["message_body_size"] = strconv.FormatInt(size, 10)
	v["message_size"] = strconv.FormatInt(int64(hdrSize)+1+size, 10)
	bl := m.h.BodyLinecount
	if bl < 0 {
		bl = 0
	}
	v["body_linecount"] = strconv.Itoa(bl)
	v["message_linecount"] = strconv.Itoa(hdrLines + bl)
	// $max_received_linelength is the -H file's value, written when the
	// message was received (0 when the file has none).
	v["max_received_linelength"] = strconv.Itoa(max(m.h.MaxReceivedLinelength, 0))
	if m.h.BodyZerocount >= 0 {
		v["body_zerocount"] = strconv.Itoa(m.h.BodyZerocount)
	} else {
		v["body_zerocount"] = "0"
	}
	return v
}

// replyAddress is $reply_address: the Reply-To: header if there is one
// and it is not empty, else From:, with leading white space removed
// and no other processing (spec chapter "String expansions", section
// "Expansion variables").
func (m *attempt) replyAddress() string {
	value := func(name string) string {
		for _, h := range m.h.Headers {
			if h.Type != '*' && strings.EqualFold(h.Name, name) {
				return strings.TrimRight(strings.TrimLeft(h.Value(), " \t\r\n"), "\n")
			}
		}
		return ""
	}
	if v := value("reply-to"); v != "" {
		return v
	}
	return value("from")
}

// submitReply stores a message that the autoreply transport made (from
// <>, as Exim's "exim -t -oem -oi -f <>" child does) and delivers it at
// once. The lines logged so far are written first, so that the new
// message's lines follow them as in Exim's log.
func (m *attempt) submitReply(_ context.Context, nm *transport.NewMessage) error {
	m.msglog()
	m.writeLogs()
	if err := m.storeTo(nm.Recipients, nm.Data); err != nil {
		return fmt.Errorf("deliver: autoreply: %w", err)
	}
	return nil
}
