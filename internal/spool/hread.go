package spool

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/exigo-mta/exigo/internal/message"
)

// MaxHeaderFile caps the size of a -H file that Parse accepts.
const MaxHeaderFile = 64 << 20

// ErrFormat is wrapped by every error about a malformed -H file.
var ErrFormat = errors.New("spool format error")

// ReadHeader reads and parses a whole -H file from r.
func ReadHeader(r io.Reader) (*Header, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxHeaderFile+1))
	if err != nil {
		return nil, fmt.Errorf("reading spool header: %w", err)
	}
	if len(data) > MaxHeaderFile {
		return nil, fmt.Errorf("%w: header file larger than %d bytes", ErrFormat, MaxHeaderFile)
	}
	return Parse(data)
}

// parser walks the file a line at a time.
type parser struct {
	data []byte
	pos  int
	line int
}

func (p *parser) errf(format string, args ...any) error {
	return fmt.Errorf("%w: line %d: %s", ErrFormat, p.line, fmt.Sprintf(format, args...))
}

// next returns the next line without its newline; ok is false at the end
// of the data or when the last line has no newline.
func (p *parser) next() (string, bool) {
	if p.pos >= len(p.data) {
		return "", false
	}
	i := bytes.IndexByte(p.data[p.pos:], '\n')
	if i < 0 {
		return "", false
	}
	s := string(p.data[p.pos : p.pos+i])
	p.pos += i + 1
	p.line++
	return s, true
}

// Parse parses the bytes of a -H file (spec chapter 57, section 1). It
// accepts everything Exim 4.96 writes; option lines it does not know are
// kept in Header.Extra.
func Parse(data []byte) (*Header, error) {
	p := &parser{data: data}
	h := &Header{BodyLinecount: -1, BodyZerocount: -1, MaxReceivedLinelength: -1,
		Tainted: map[string]bool{}, NoUsec: true}

	line, ok := p.next()
	if !ok || !strings.HasSuffix(line, "-H") || !ValidID(strings.TrimSuffix(line, "-H")) {
		return nil, p.errf("first line is not a message id followed by -H")
	}
	h.ID = ID(strings.TrimSuffix(line, "-H"))

	if line, ok = p.next(); !ok {
		return nil, p.errf("missing user line")
	}
	f := strings.Fields(line)
	if len(f) != 3 {
		return nil, p.errf("user line %q is not \"login uid gid\"", line)
	}
	var err1, err2 error
	h.User = f[0]
	h.UID, err1 = strconv.Atoi(f[1])
	h.GID, err2 = strconv.Atoi(f[2])
	if err1 != nil || err2 != nil || line != f[0]+" "+f[1]+" "+f[2] {
		return nil, p.errf("user line %q is not \"login uid gid\"", line)
	}

	if line, ok = p.next(); !ok || len(line) < 2 || line[0] != '<' || line[len(line)-1] != '>' {
		return nil, p.errf("sender line is not <address>")
	}
	h.Sender = line[1 : len(line)-1]

	if line, ok = p.next(); !ok {
		return nil, p.errf("missing time line")
	}
	sec, warn, found := strings.Cut(line, " ")
	t, err1 := strconv.ParseInt(sec, 10, 64)
	w, err2 := strconv.Atoi(warn)
	if !found || err1 != nil || err2 != nil || strconv.FormatInt(t, 10) != sec || strconv.Itoa(w) != warn {
		return nil, p.errf("time line %q is not \"seconds warnings\"", line)
	}
	h.Received = time.Unix(t, 0)
	h.WarningCount = w

	// Option lines, until the non-recipients tree.
	for {
		start, startLine := p.pos, p.line
		if line, ok = p.next(); !ok {
			return nil, p.errf("file ends among the option lines")
		}
		if !strings.HasPrefix(line, "-") {
			p.pos, p.line = start, startLine
			break
		}
		if err := p.option(h, line); err != nil {
			return nil, err
		}
	}

	if err := p.tree(h); err != nil {
		return nil, err
	}

	if line, ok = p.next(); !ok {
		return nil, p.errf("missing recipient count")
	}
	n, err := strconv.Atoi(line)
	if err != nil || n < 0 || strconv.Itoa(n) != line {
		return nil, p.errf("bad recipient count %q", line)
	}
	if n > len(data) {
		return nil, p.errf("recipient count %d larger than the file", n)
	}
	h.Recipients = make([]Recipient, 0, n)
	for i := 0; i < n; i++ {
		if line, ok = p.next(); !ok {
			return nil, p.errf("file ends among the recipients")
		}
		h.Recipients = append(h.Recipients, parseRecipient(line))
	}
	if line, ok = p.next(); !ok || line != "" {
		return nil, p.errf("no blank line after the recipients")
	}
	if err := p.headers(h); err != nil {
		return nil, err
	}
	return h, nil
}

// option parses one "-name value" line (with a second hyphen when
// tainted).
func (p *parser) option(h *Header, line string) error {
	body := line[1:]
	tainted := false
	if strings.HasPrefix(body, "-") {
		tainted = true
		body = body[1:]
	}
	name, value, hasValue := strings.Cut(body, " ")
	switch name {
	case "received_time_usec":
		if len(value) != 7 || value[0] != '.' {
			return p.errf("bad -received_time_usec %q", value)
		}
		us, err := strconv.Atoi(value[1:])
		if err != nil || us < 0 {
			return p.errf("bad -received_time_usec %q", value)
		}
		h.Received = time.Unix(h.Received.Unix(), int64(us)*1000)
		h.NoUsec = false
		return nil
	case "received_time_complete":
		s, us, ok := strings.Cut(value, ".")
		sec, err1 := strconv.ParseInt(s, 10, 64)
		usec, err2 := strconv.Atoi(us)
		if !ok || err1 != nil || err2 != nil || len(us) != 6 || usec < 0 || strconv.FormatInt(sec, 10) != s {
			return p.errf("bad -received_time_complete %q", value)
		}
		h.ReceivedComplete = time.Unix(sec, int64(usec)*1000)
		return nil
	case "aclc", "aclm":
		return p.acl(h, name[3], value, tainted)
	case "acl":
		return p.oldACL(h, value, tainted)
	}
	kind, known := kindOf(name)
	if !known || (kind == optFlag) == hasValue || (hasValue && value == "") {
		h.Extra = append(h.Extra, line)
		return nil
	}
	if tainted {
		h.Tainted[name] = true
	}
	switch ptr := h.field(name).(type) {
	case *string:
		*ptr = value
	case *bool:
		*ptr = true
	case *int:
		v, err := strconv.Atoi(value)
		if err != nil || v < 0 || strconv.Itoa(v) != value || (kind == optIntPos && v == 0) {
			return p.errf("bad number in -%s %q", name, value)
		}
		*ptr = v
	case *time.Time:
		v, err := strconv.ParseInt(value, 10, 64)
		if err != nil || v <= 0 || strconv.FormatInt(v, 10) != value {
			return p.errf("bad time in -%s %q", name, value)
		}
		*ptr = time.Unix(v, 0)
	}
	return nil
}

// acl reads "-aclc NAME LEN" and the LEN bytes plus newline that follow.
func (p *parser) acl(h *Header, kind byte, value string, tainted bool) error {
	name, lens, ok := strings.Cut(value, " ")
	n, err := strconv.Atoi(lens)
	if !ok || name == "" || err != nil || n < 0 || strconv.Itoa(n) != lens {
		return p.errf("bad ACL variable line %q", value)
	}
	v, err := p.take(n)
	if err != nil {
		return err
	}
	h.ACLVars = append(h.ACLVars, ACLVar{Kind: kind, Name: name, Value: v, Tainted: tainted})
	return nil
}

// oldACL reads the pre-4.61 "-acl N LEN" form: 0–9 are acl_c0–9 and 10–19
// acl_m0–9 (spec chapter 57, -acl). It is converted to the new form.
func (p *parser) oldACL(h *Header, value string, tainted bool) error {
	num, lens, ok := strings.Cut(value, " ")
	i, err1 := strconv.Atoi(num)
	n, err2 := strconv.Atoi(lens)
	if !ok || err1 != nil || err2 != nil || i < 0 || i > 19 || n < 0 {
		return p.errf("bad -acl line %q", value)
	}
	v, err := p.take(n)
	if err != nil {
		return err
	}
	kind := byte('c')
	if i >= 10 {
		kind, i = 'm', i-10
	}
	h.ACLVars = append(h.ACLVars, ACLVar{Kind: kind, Name: strconv.Itoa(i), Value: v, Tainted: tainted})
	return nil
}

// take returns the next n bytes, which must be followed by a newline.
func (p *parser) take(n int) (string, error) {
	if n > len(p.data)-p.pos-1 || p.data[p.pos+n] != '\n' {
		return "", p.errf("ACL variable value of %d bytes not followed by a newline", n)
	}
	v := string(p.data[p.pos : p.pos+n])
	p.line += strings.Count(v, "\n") + 1
	p.pos += n + 1
	return v, nil
}

// tree reads the non-recipients tree.
func (p *parser) tree(h *Header) error {
	need := 1
	for need > 0 {
		line, ok := p.next()
		if !ok {
			return p.errf("file ends in the non-recipients tree")
		}
		if line == "XX" && len(h.NonRecipients) == 0 {
			return nil
		}
		if len(line) < 3 || line[2] != ' ' || !isYN(line[0]) || !isYN(line[1]) {
			return p.errf("bad non-recipients tree line %q", line)
		}
		n := TreeNode{Address: line[3:], Left: line[0] == 'Y', Right: line[1] == 'Y'}
		h.NonRecipients = append(h.NonRecipients, n)
		need--
		if n.Left {
			need++
		}
		if n.Right {
			need++
		}
	}
	return nil
}

func isYN(c byte) bool { return c == 'Y' || c == 'N' }

// parseRecipient decodes one recipient line, reading the optional fields
// from the end as their lengths allow. A line whose tail does not decode
// is a plain address.
func parseRecipient(line string) Recipient {
	r := Recipient{Address: line, PNo: -1}
	hash := strings.LastIndexByte(line, '#')
	if hash < 0 {
		return r
	}
	flags, err := strconv.Atoi(line[hash+1:])
	if err != nil || flags <= 0 || flags > 0xffff || strconv.Itoa(flags) != line[hash+1:] || flags&1 == 0 {
		return r
	}
	rest := line[:hash]
	// " errors_to len,pno"
	errorsTo, pno, rest, ok := lengthField(rest)
	if !ok {
		return r
	}
	got := Recipient{ErrorsTo: errorsTo, PNo: pno, Flags: flags}
	if flags&2 != 0 {
		var orcpt string
		var dsn int
		orcpt, dsn, rest, ok = lengthField(rest)
		if !ok || dsn < 0 {
			return r
		}
		got.ORcpt, got.DSNFlags = orcpt, dsn
	}
	if rest == "" {
		return r
	}
	got.Address = rest
	return got
}

// lengthField takes "... TEXT LEN,NUM" off the end of s: it returns TEXT,
// NUM and what precedes " TEXT".
func lengthField(s string) (text string, num int, rest string, ok bool) {
	sp := strings.LastIndexByte(s, ' ')
	if sp < 0 {
		return "", 0, "", false
	}
	l, n, found := strings.Cut(s[sp+1:], ",")
	length, err1 := strconv.Atoi(l)
	num, err2 := strconv.Atoi(n)
	if !found || err1 != nil || err2 != nil || length < 0 || strconv.Itoa(length) != l || strconv.Itoa(num) != n {
		return "", 0, "", false
	}
	s = s[:sp]
	if length+1 > len(s) || s[len(s)-length-1] != ' ' {
		return "", 0, "", false
	}
	return s[len(s)-length:], num, s[:len(s)-length-1], true
}

// headers reads the "NNNf text" header entries to the end of the file.
func (p *parser) headers(h *Header) error {
	for p.pos < len(p.data) {
		d := p.pos
		for d < len(p.data) && d-p.pos < 9 && p.data[d] >= '0' && p.data[d] <= '9' {
			d++
		}
		if d == p.pos || d+2 > len(p.data) || p.data[d+1] != ' ' {
			return p.errf("bad header length prefix")
		}
		n, _ := strconv.Atoi(string(p.data[p.pos:d]))
		flag := p.data[d]
		start := d + 2
		if flag < ' ' || n < 1 || n > len(p.data)-start || p.data[start+n-1] != '\n' {
			return p.errf("header of %d bytes does not fit the file", n)
		}
		text := string(p.data[start : start+n])
		if fmt.Sprintf("%03d", n) != string(p.data[p.pos:d]) {
			return p.errf("header length %q not in Exim's form", p.data[p.pos:d])
		}
		name, _, _ := strings.Cut(text, ":")
		h.Headers = append(h.Headers, message.Header{Name: strings.TrimRight(name, " \t\n"), Text: text, Type: flag})
		p.line += strings.Count(text, "\n")
		p.pos = start + n
	}
	return nil
}
