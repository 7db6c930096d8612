// Writing a message as a transport sends it: Exim's added header lines,
// the header changes of routers and transports, line escaping and line
// endings (spec chapter "Generic options for transports" and section
// "Message header modification" of chapter "Message processing").

package transport

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/exigo-mta/exigo/internal/expand"
	"github.com/exigo-mta/exigo/internal/message"
	"github.com/exigo-mta/exigo/internal/rewrite"
)

// writeOpts says how to write a message.
type writeOpts struct {
	// prefix and suffix are written verbatim before and after.
	prefix, suffix string
	// check and escape: a line starting with check has that replaced by
	// escape (check_string, escape_string); both must be set.
	check, escape string
	// crlf ends lines with CRLF (use_crlf, SMTP).
	crlf bool
	// dot adds SMTP's dot-stuffing (and the caller writes ".\r\n").
	dot bool
	// endNL ends an unterminated last line (batched SMTP).
	endNL bool
	// bodyOnly and headersOnly drop the headers or the body.
	bodyOnly, headersOnly bool
	// returnPath, envelopeTo, deliveryDate are the values of the added
	// Return-path:, Envelope-to: and Delivery-date: lines ("" none).
	returnPath, envelopeTo, deliveryDate string
	// add is header text to append; remove are header names to drop
	// (a trailing "*" matches a prefix).
	add    []string
	remove []string
	// sigs are DKIM-Signature fields written above all other header
	// lines (smtp transport dkim_* options).
	sigs string
	// rewritten maps the index of each message header line that the
	// headers_rewrite option changes to its new text.
	rewritten map[int]string
}

// writeHeaderOpts fills the generic parts of wo for d: the added header
// lines and the header changes.
func (g *generic) writeHeaderOpts(e *env, d *Delivery, wo *writeOpts) error {
	wo.bodyOnly = g.opts.Bool("body_only")
	wo.headersOnly = g.opts.Bool("headers_only")
	now := d.now()
	if g.opts.Bool("return_path_add") {
		rp, _ := e.get("return_path")
		wo.returnPath = "Return-path: <" + rp + ">\n"
	}
	if g.opts.Bool("envelope_to_add") {
		var seen = map[string]bool{}
		var list []string
		for _, a := range d.Addresses {
			o := a.Original
			if o == "" {
				o = a.Address
			}
			if !seen[o] {
				seen[o] = true
				list = append(list, o)
			}
		}
		wo.envelopeTo = "Envelope-to: " + strings.Join(list, ",\n\t") + "\n"
	}
	if g.opts.Bool("delivery_date_add") {
		wo.deliveryDate = "Delivery-date: " + fullDate(now) + "\n"
	}
	for _, a := range d.Addresses[:min(1, len(d.Addresses))] {
		wo.add = append(wo.add, a.HeadersAdd...)
		wo.remove = append(wo.remove, a.HeadersRemove...)
	}
	if raw := g.opts.String("headers_add"); raw != "" {
		items, err := expandList(e, raw, '\n')
		if err != nil {
			return fmt.Errorf("failed to expand headers_add: %w", err)
		}
		wo.add = append(wo.add, items...)
	}
	if raw := g.opts.String("headers_remove"); raw != "" {
		items, err := expandList(e, raw, ':')
		if err != nil {
			return fmt.Errorf("failed to expand headers_remove: %w", err)
		}
		wo.remove = append(wo.remove, items...)
	}
	if raw := g.opts.String("headers_rewrite"); raw != "" {
		opts := rewrite.Options{Expand: e.rewriteExpand, QualifyRecipient: qualifyRecipient(e), Log: d.log}
		if d.LogRewrites {
			opts.Rewritten = d.log
		}
		rs, err := rewrite.NewList(raw, opts)
		if err != nil {
			return fmt.Errorf("headers_rewrite in %s transport: %w", g.name, err)
		}
		wo.rewritten = rewriteHeaders(rs, d)
	}
	return nil
}

// rewriteHeaders applies the headers_rewrite rules to the message's
// header lines (the message's own and those ACLs added, not the
// additions of routers and transports: spec chapter "Address
// rewriting", section "When does rewriting happen?").
func rewriteHeaders(rs *rewrite.Rules, d *Delivery) map[int]string {
	if d.Header == nil {
		return nil
	}
	out := map[int]string{}
	for i, h := range d.Header.Headers {
		if nh, ok := rs.Header(h, ""); ok {
			out[i] = nh.Text
		}
	}
	return out
}

// rewriteExpand expands a headers_rewrite pattern or replacement with
// $local_part, $domain and $0.. of the address being rewritten.
func (e *env) rewriteExpand(s string, v rewrite.Vars) (string, error) {
	c := e.ctx
	if v.LocalPart != "" || v.Domain != "" {
		c.Vars = overlay{vars: expand.VarMap{"local_part": v.LocalPart, "domain": v.Domain}, next: e.ctx.Vars}
	}
	c.Numeric = v.Numeric
	return expand.String(s, &c)
}

// qualifyRecipient is $qualify_recipient, for Q rules.
func qualifyRecipient(e *env) string {
	if e.ctx.Vars != nil {
		if v, ok := e.ctx.Vars.Var("qualify_recipient"); ok && v != "" {
			return v
		}
	}
	return ""
}

// expandList splits an Exim list (default separator sep, "<x" changes
// it; a doubled separator stands for itself) and expands each item. Empty
// results and forced failures are skipped.
func expandList(e *env, raw string, sep byte) ([]string, error) {
	var out []string
	for _, item := range splitList(raw, sep) {
		v, err := e.expand(item)
		if err != nil {
			if forced(err) {
				continue
			}
			return nil, err
		}
		if v != "" {
			out = append(out, v)
		}
	}
	return out, nil
}

// splitList splits an Exim list as written in the configuration
// (specification section "Lists"): leading and trailing white space of
// each item is removed, a doubled separator is a literal one, "<c" at the
// start changes the separator.
func splitList(s string, sep byte) []string {
	t := strings.TrimLeft(s, " \t\n")
	if len(t) >= 2 && t[0] == '<' && !isSpace(t[1]) {
		sep = t[1]
		s = t[2:]
	}
	var out []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == sep {
			if i+1 < len(s) && s[i+1] == sep && sep != '\n' {
				cur.WriteByte(c)
				i++
				continue
			}
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
			continue
		}
		cur.WriteByte(c)
	}
	if rest := strings.TrimSpace(cur.String()); rest != "" || len(out) > 0 {
		out = append(out, rest)
	}
	var keep []string
	for _, o := range out {
		if o != "" {
			keep = append(keep, o)
		}
	}
	return keep
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// fullDate is Exim's RFC 2822 date ($tod_full): no leading zero in the
// day.
func fullDate(t time.Time) string {
	return t.Format("Mon, 2 Jan 2006 15:04:05 -0700")
}

// removed reports whether header h is named in the remove list.
func removed(h *message.Header, remove []string) bool {
	for _, r := range remove {
		r = strings.TrimSuffix(strings.TrimSpace(r), ":")
		if strings.HasSuffix(r, "*") {
			if len(h.Name) >= len(r)-1 && strings.EqualFold(h.Name[:len(r)-1], r[:len(r)-1]) {
				return true
			}
		} else if strings.EqualFold(h.Name, r) {
			return true
		}
	}
	return false
}

// headerBlock returns the header lines as the transport writes them,
// LF-terminated, without the blank line after them.
func headerBlock(hs message.Headers, wo *writeOpts) []byte {
	var b bytes.Buffer
	b.WriteString(wo.sigs)
	b.WriteString(wo.returnPath)
	b.WriteString(wo.envelopeTo)
	b.WriteString(wo.deliveryDate)
	for i := range hs {
		h := &hs[i]
		if h.Type == '*' || removed(h, wo.remove) {
			continue
		}
		if t, ok := wo.rewritten[i]; ok {
			b.WriteString(t)
			continue
		}
		b.WriteString(h.Text)
	}
	for _, a := range wo.add {
		b.WriteString(a)
		if !strings.HasSuffix(a, "\n") {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// writeMessage writes d's message to w as wo says, and returns the number
// of bytes written.
func writeMessage(w io.Writer, d *Delivery, wo *writeOpts) (int64, error) {
	cw := &countWriter{w: w}
	bw := writerPool.Get().(*bufio.Writer)
	bw.Reset(cw)
	defer func() {
		bw.Reset(nil)
		writerPool.Put(bw)
	}()
	if _, err := bw.WriteString(wo.prefix); err != nil {
		return cw.n, err
	}
	lw := &lineWriter{w: bw, opts: wo, bol: true}
	if !wo.bodyOnly {
		var hs message.Headers
		if d.Header != nil {
			hs = d.Header.Headers
		}
		if _, err := lw.Write(headerBlock(hs, wo)); err != nil {
			return cw.n, err
		}
		if !wo.headersOnly {
			if _, err := lw.Write([]byte{'\n'}); err != nil {
				return cw.n, err
			}
		}
	}
	if !wo.headersOnly && d.Body != nil {
		buf := copyPool.Get().(*[]byte)
		_, err := io.CopyBuffer(lw, io.NewSectionReader(d.Body, 0, d.BodySize), *buf)
		copyPool.Put(buf)
		if err != nil {
			return cw.n, fmt.Errorf("reading message body: %w", err)
		}
	}
	lw.flushHold()
	if (wo.dot || wo.endNL) && !lw.bol {
		// SMTP needs the last line ended before the final dot.
		if _, err := lw.Write([]byte{'\n'}); err != nil {
			return cw.n, err
		}
	}
	if _, err := bw.WriteString(wo.suffix); err != nil {
		return cw.n, err
	}
	if err := bw.Flush(); err != nil {
		return cw.n, err
	}
	return cw.n, nil
}

// writerPool and copyPool hold the buffers of writeMessage: a fan-out
// delivery writes one message many times at once, and fresh 64 KiB and
// 32 KiB buffers per write would be most of the garbage the process
// makes.
var (
	writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 64*1024) }}
	copyPool   = sync.Pool{New: func() any { b := make([]byte, 32*1024); return &b }}
)

// countWriter counts bytes written.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// lineWriter applies check_string/escape_string, dot-stuffing and CRLF
// line endings as data passes through. A check string is matched only at
// the start of a line; a partial match is held until it is decided, also
// across writes.
type lineWriter struct {
	w    *bufio.Writer
	opts *writeOpts
	bol  bool   // at the start of a line
	hold []byte // start of a line that may still match check
}

func (l *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	checking := l.opts.check != "" && l.opts.escape != ""
	for len(p) > 0 {
		if !l.bol && len(l.hold) == 0 {
			// Fast path: copy up to the end of the line.
			i := bytes.IndexByte(p, '\n')
			if i < 0 {
				if _, err := l.w.Write(p); err != nil {
					return 0, err
				}
				return n, nil
			}
			l.w.Write(p[:i])
			l.newline()
			p = p[i+1:]
			continue
		}
		c := p[0]
		p = p[1:]
		if checking {
			l.hold = append(l.hold, c)
			chk := l.opts.check
			if len(l.hold) < len(chk) && chk[:len(l.hold)] == string(l.hold) {
				l.bol = false
				continue
			}
			if string(l.hold) == chk {
				l.w.WriteString(l.opts.escape)
				l.hold = l.hold[:0]
				l.bol = false
				continue
			}
			if err := l.flushHold(); err != nil {
				return 0, err
			}
			continue
		}
		if l.opts.dot && c == '.' {
			l.w.WriteByte('.')
		}
		l.emit(c)
	}
	return n, nil
}

func (l *lineWriter) newline() {
	if l.opts.crlf {
		l.w.WriteByte('\r')
	}
	l.w.WriteByte('\n')
	l.bol = true
}

func (l *lineWriter) emit(c byte) {
	if c == '\n' {
		l.newline()
		return
	}
	l.w.WriteByte(c)
	l.bol = false
}

// flushHold writes out held bytes that turned out not to match.
func (l *lineWriter) flushHold() error {
	if len(l.hold) == 0 {
		return nil
	}
	h := l.hold
	l.hold = l.hold[:0]
	l.bol = false
	for _, c := range h {
		l.emit(c)
	}
	return nil
}
