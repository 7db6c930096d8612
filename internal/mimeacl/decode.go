package mimeacl

import "bytes"

// Anomaly levels and texts of $mime_anomaly_level and $mime_anomaly_text
// (Exim specification chapter "Content scanning at ACL time", section
// "The MIME ACL"; texts observed with Exim 4.96).
const (
	AnomalyBrokenQP     = 1
	AnomalyBrokenBase64 = 2
	textBrokenQP        = "Broken Quoted-Printable encoding detected"
	textBrokenBase64    = "Broken BASE64 encoding detected"
)

// base64Value maps the base64 alphabet to its values; other bytes are
// 0xff.
var base64Value = func() [256]byte {
	var t [256]byte
	for i := range t {
		t[i] = 0xff
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

// Decoder is the state Exim's MIME decoder keeps between decodings: its
// line buffer, which is reused without being cleared. A group of four
// that starts with "=" leaves a byte of the buffer unwritten, and that
// byte (from an earlier line, part or message) is what comes out; exigo
// reproduces that (observed with Exim 4.96). The zero Decoder is ready
// for use; a session keeps one for all its messages.
type Decoder struct{ buf []byte }

// at returns a pointer to byte i of the buffer, growing it.
func (d *Decoder) at(i int) *byte {
	for i >= len(d.buf) {
		d.buf = append(d.buf, make([]byte, 256)...)
	}
	return &d.buf[i]
}

// Base64 decodes base64 as Exim's MIME decoder does (observed with
// Exim 4.96): line ends are skipped; any other byte outside the
// alphabet is skipped and reported as an anomaly; "=" takes a place in
// its group of four without adding bits; a group cut short still gives
// the byte it started (so "a" gives "h" and "aGVsbG8" "hello\x00").
// Each input line is decoded into the start of the buffer, the byte
// being built carried to the next line.
func (d *Decoder) Base64(src []byte) (out []byte, broken bool) {
	out = make([]byte, 0, len(src)*3/4+1)
	pos := 0
	for len(src) > 0 {
		line := src
		if i := bytes.IndexByte(src, '\n'); i >= 0 {
			line, src = src[:i+1], src[i+1:]
		} else {
			src = nil
		}
		j := 0
		for _, c := range line {
			if c == '\n' || c == '\r' {
				continue
			}
			if c == '=' {
				pos = (pos + 1) % 4
				continue
			}
			v := base64Value[c]
			if v == 0xff {
				broken = true
				continue
			}
			switch pos {
			case 0:
				*d.at(j) = v << 2
			case 1:
				*d.at(j) |= v >> 4
				j++
				*d.at(j) = v << 4
			case 2:
				*d.at(j) |= v >> 2
				j++
				*d.at(j) = v << 6
			case 3:
				*d.at(j) |= v
				j++
			}
			pos = (pos + 1) % 4
		}
		out = append(out, d.buf[:j]...)
		*d.at(0) = *d.at(j)
	}
	if pos != 0 {
		out = append(out, *d.at(0))
	}
	return out, broken
}

// decodeBase64 decodes with a fresh buffer.
func decodeBase64(src []byte) ([]byte, bool) {
	var d Decoder
	return d.Base64(src)
}

// decodeQP decodes quoted-printable as Exim's MIME decoder does
// (observed with Exim 4.96): "=XX" is a byte, "=" followed by only
// blanks to the end of the line joins the line to the next, "=" before
// a carriage return drops both, and any other "=" stays as it is and is
// reported as an anomaly.
func decodeQP(src []byte) (out []byte, broken bool) {
	out = make([]byte, 0, len(src))
	for len(src) > 0 {
		line := src
		nl := false
		if i := bytes.IndexByte(src, '\n'); i >= 0 {
			line, src, nl = src[:i], src[i+1:], true
		} else {
			src = nil
		}
		soft := false
		for i := 0; i < len(line); i++ {
			c := line[i]
			if c != '=' {
				out = append(out, c)
				continue
			}
			rest := line[i+1:]
			if len(bytes.TrimLeft(rest, " \t")) == 0 {
				soft = true
				break
			}
			if rest[0] == '\r' {
				i++
				continue
			}
			if len(rest) >= 2 {
				if h, ok := unhex(rest[0], rest[1]); ok {
					out = append(out, h)
					i += 2
					continue
				}
			}
			broken = true
			out = append(out, '=')
		}
		if nl && !soft {
			out = append(out, '\n')
		}
	}
	return out, broken
}

// Decode returns the part's content decoded by its transfer encoding
// (base64 and quoted-printable; anything else as it is) with dec's
// buffer (nil: a fresh one), with the anomaly level and text ("" and 0
// when none).
func (p *Part) Decode(dec *Decoder) (data []byte, level int, text string) {
	switch p.TransferEncoding {
	case "base64":
		if dec == nil {
			dec = &Decoder{}
		}
		d, broken := dec.Base64(p.Content)
		if broken {
			return d, AnomalyBrokenBase64, textBrokenBase64
		}
		return d, 0, ""
	case "quoted-printable":
		d, broken := decodeQP(p.Content)
		if broken {
			return d, AnomalyBrokenQP, textBrokenQP
		}
		return d, 0, ""
	}
	return p.Content, 0, ""
}
