package mimeacl

import (
	"bytes"
	"strings"
)

// Limits on what input controls: how deeply multiparts may nest (deeper
// ones are walked as if they were leaves) and how many attached
// messages are walked for one message.
const (
	maxNesting  = 1000
	maxAttached = 1000
)

// Part is one MIME part as the MIME ACL sees it, with the values of the
// $mime_* variables.
type Part struct {
	// Count is $mime_part_count: 0 for the message itself, counting up
	// within the message (and again from 0 within an attached one).
	Count int
	// ContentType ... Filename are $mime_content_type, $mime_charset,
	// $mime_boundary, $mime_content_description,
	// $mime_content_disposition, $mime_content_id,
	// $mime_content_transfer_encoding and $mime_filename.
	ContentType, Charset, Boundary                 string
	Description, Disposition, ID, TransferEncoding string
	Filename                                       string
	// Multipart, CoverLetter and RFC822 are $mime_is_multipart,
	// $mime_is_coverletter and $mime_is_rfc822.
	Multipart, CoverLetter, RFC822 bool
	// Content is the part's raw content: from the line after its header
	// section up to the next boundary line of the multipart holding it
	// (the whole body for the message itself).
	Content []byte
}

// frame is an open multipart: its boundary, whether it is part of the
// cover letter, whether its parts all are (alternative, related), and
// how many parts it has had.
type frame struct {
	boundary       string
	cover, allSame bool
	children       int
}

// Walk calls fn for every MIME part of the message whose header section
// is header (lines "Name: value\n", possibly folded) and whose body is
// body, in Exim's order: the parts of the message, then those of each
// attached message/rfc822 part (after decoding it), and so on. fn
// returning false stops the walk. Walk returns the part count of the
// message itself, which $mime_part_count keeps after the MIME ACL.
// Attached messages are decoded with dec (nil: a fresh Decoder).
func Walk(dec *Decoder, header, body []byte, fn func(*Part) bool) (count int) {
	if dec == nil {
		dec = &Decoder{}
	}
	var pending [][]byte
	count, ok := walkOne(dec, header, body, false, fn, &pending)
	for n := 0; ok && len(pending) > 0 && n < maxAttached; n++ {
		msg := pending[0]
		pending = pending[1:]
		h, b := SplitMessage(msg)
		_, ok = walkOne(dec, h, b, true, fn, &pending)
	}
	return count
}

// SplitMessage splits a message into its header section (with the line
// ends of its lines) and its body, at the first empty line.
func SplitMessage(msg []byte) (header, body []byte) {
	if len(msg) > 0 && msg[0] == '\n' {
		return nil, msg[1:]
	}
	if i := bytes.Index(msg, []byte("\n\n")); i >= 0 {
		return msg[:i+1], msg[i+2:]
	}
	return msg, nil
}

// walkOne walks one message; attached messages found are appended to
// pending.
func walkOne(dec *Decoder, header, body []byte, rfc822 bool, fn func(*Part) bool, pending *[][]byte) (int, bool) {
	var stack []frame
	count := 0
	p := newPart(header, 0, rfc822, true, body)
	if !visit(dec, p, fn, pending, &stack) {
		return count, false
	}
	pos := 0
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		start, end, ok := findBoundary(body, pos, top.boundary)
		if !ok {
			break
		}
		line := body[start:end]
		pos = end
		if bytes.HasPrefix(line[2+len(top.boundary):], []byte("--")) {
			stack = stack[:len(stack)-1]
			continue
		}
		// The part's header section runs to the first empty line.
		hstart := pos
		for pos < len(body) {
			e := lineEnd(body, pos)
			if e == pos || (e == pos+1 && body[pos] == '\n') {
				pos = e
				break
			}
			pos = e
		}
		hdr := body[hstart:pos]
		if n := len(hdr); n > 0 && hdr[n-1] == '\n' && (n == 1 || hdr[n-2] == '\n') {
			hdr = hdr[:n-1]
		}
		cstart := pos
		cend := len(body)
		if s, _, ok := findBoundary(body, pos, top.boundary); ok {
			cend = s
		}
		cover := top.cover && (top.allSame || top.children == 0)
		top.children++
		count++
		p := newPart(hdr, count, rfc822, cover, body[cstart:cend])
		if !visit(dec, p, fn, pending, &stack) {
			return count, false
		}
	}
	return count, true
}

// visit calls fn for a part, then opens it when it is a multipart and
// queues it when it is an attached message.
func visit(dec *Decoder, p *Part, fn func(*Part) bool, pending *[][]byte, stack *[]frame) bool {
	if !fn(p) {
		return false
	}
	if p.Multipart && p.Boundary != "" && len(*stack) < maxNesting {
		same := p.ContentType == "multipart/alternative" || p.ContentType == "multipart/related"
		*stack = append(*stack, frame{boundary: p.Boundary, cover: p.CoverLetter, allSame: same})
	}
	if p.ContentType == "message/rfc822" && len(*pending) < maxAttached {
		d, _, _ := p.Decode(dec)
		*pending = append(*pending, d)
	}
	return true
}

// newPart reads a part's header section.
func newPart(header []byte, count int, rfc822, cover bool, content []byte) *Part {
	var f headerFields
	for _, line := range unfold(header) {
		f.apply(line)
	}
	return &Part{
		Count: count, ContentType: f.contentType, Charset: f.charset, Boundary: f.boundary,
		Description: f.description, Disposition: f.disposition, ID: f.id,
		TransferEncoding: f.cte, Filename: f.filename,
		Multipart: strings.HasPrefix(f.contentType, "multipart/"), CoverLetter: cover,
		RFC822: rfc822, Content: content,
	}
}

// unfold returns the header lines of a header section, continuation
// lines joined to the line they continue (the line break dropped).
func unfold(header []byte) []string {
	var out []string
	for _, l := range strings.Split(string(header), "\n") {
		if l == "" {
			continue
		}
		if (l[0] == ' ' || l[0] == '\t') && len(out) > 0 {
			out[len(out)-1] += l
			continue
		}
		out = append(out, l)
	}
	return out
}

// HasContentType reports whether a header section has a Content-Type:
// line: only then does Exim run the MIME ACL.
func HasContentType(header []byte) bool {
	for _, l := range unfold(header) {
		name, _, ok := strings.Cut(l, ":")
		if ok && strings.EqualFold(strings.TrimRight(name, " \t"), "content-type") {
			return true
		}
	}
	return false
}

// lineEnd returns the index after the line starting at pos (after its
// "\n", or the end of b).
func lineEnd(b []byte, pos int) int {
	if i := bytes.IndexByte(b[pos:], '\n'); i >= 0 {
		return pos + i + 1
	}
	return len(b)
}

// findBoundary finds the next line at or after pos that starts with
// "--" and the boundary, returning its start and the index after it.
func findBoundary(b []byte, pos int, boundary string) (start, end int, ok bool) {
	for pos < len(b) {
		e := lineEnd(b, pos)
		line := b[pos:e]
		if len(line) >= 2+len(boundary) && line[0] == '-' && line[1] == '-' && string(line[2:2+len(boundary)]) == boundary {
			return pos, e, true
		}
		pos = e
	}
	return 0, 0, false
}
