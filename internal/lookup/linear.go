package lookup

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"os"
	"regexp"
	"regexp/syntax"
	"strings"
	"sync"

	"github.com/exigo-mta/exigo/internal/strerror"
)

// linearHandle serves lsearch, wildlsearch, nwildlsearch and iplsearch:
// files searched line by line from the start for each lookup (spec 9.3).
type linearHandle struct {
	typ  string
	file string
	f    *os.File

	mu  sync.Mutex
	res map[string]*regexp.Regexp // compiled wildlsearch regexes
}

func openLinear(typ, file string) (handle, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, openFailed(file, "for linear search", err)
	}
	// Exim says "lsearch" here for all four types.
	if fi, err := f.Stat(); err == nil && !fi.Mode().IsRegular() {
		f.Close()
		return nil, &OpenError{Msg: file + " is not a regular file (lsearch lookup)"}
	}
	return &linearHandle{typ: typ, file: file, f: f, res: map[string]*regexp.Regexp{}}, nil
}

func (h *linearHandle) close() { h.f.Close() }

// record is one entry of an lsearch-format file.
type record struct {
	key  string // de-quoted key
	data string // data, continuation lines joined with one space
	full string // the de-quoted key followed by the rest of the line (ret=full)
}

// # lsearch file format (spec 9.3, as Exim 4.96 behaves)
//
//   - A line that starts with a non-white character starts a record. Its key
//     runs to a colon, white space or the end of the line; a key starting
//     with a double quote runs to the matching quote (or the end of the
//     line), with backslash escapes as in Exim strings (spec 6.17).
//   - After the key: optional white space, an optional colon, optional
//     white space, then the data up to the end of the line with trailing
//     white space removed.
//   - A following line that starts with white space and holds something else
//     continues the data: a single space, then the line trimmed.
//   - An empty line, a line of white space only, or a line starting with "#"
//     ends the record (Exim's behaviour; the spec says such lines are
//     skipped) and is otherwise ignored. Continuation lines with no record
//     to continue are ignored.

// maxLine bounds one physical line, so a file without newlines cannot make
// a lookup hold it all in memory at once.
const maxLine = 1 << 20

// scanRecords calls fn for each record of the file in r, in order, until
// fn returns false.
func scanRecords(r io.Reader, fn func(rec *record) bool) error {
	br := bufio.NewReaderSize(r, 64*1024)
	var cur *record
	for {
		line, err := readLine(br)
		if len(line) > 0 || err == nil {
			switch {
			case line == "" || line[0] == '#' || strings.TrimLeft(line, asciiSpace) == "":
				if cur != nil && !fn(cur) {
					return nil
				}
				cur = nil
			case isSpace(line[0]):
				if cur != nil {
					t := strings.Trim(line, asciiSpace)
					cur.data += " " + t
					cur.full += " " + t
				}
			default:
				if cur != nil && !fn(cur) {
					return nil
				}
				cur = parseRecordLine(line)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if cur != nil {
		fn(cur)
	}
	return nil
}

// readLine reads one line without its newline; over-long lines are cut at
// maxLine (the rest is dropped).
func readLine(br *bufio.Reader) (string, error) {
	var b []byte
	for {
		frag, err := br.ReadSlice('\n')
		if len(b)+len(frag) <= maxLine {
			b = append(b, frag...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		s := strings.TrimSuffix(string(b), "\n")
		return s, err
	}
}

// asciiSpace is C's isspace() set: Exim trims only these.
const asciiSpace = " \t\r\n\f\v"

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'
}

// parseRecordLine splits the first line of a record.
func parseRecordLine(line string) *record {
	var key string
	i := 0
	if line[0] == '"' {
		var sb strings.Builder
		i = 1
		for i < len(line) && line[i] != '"' {
			if line[i] == '\\' && i+1 < len(line) {
				c, n := unescape(line[i+1:])
				sb.WriteByte(c)
				i += 1 + n
				continue
			}
			sb.WriteByte(line[i])
			i++
		}
		if i < len(line) {
			i++ // closing quote
		}
		key = sb.String()
	} else {
		for i < len(line) && line[i] != ':' && !isSpace(line[i]) {
			i++
		}
		key = line[:i]
	}
	rest := line[i:]
	full := key + strings.TrimRight(rest, asciiSpace)
	rest = strings.TrimLeft(rest, asciiSpace)
	rest = strings.TrimPrefix(rest, ":")
	data := strings.Trim(rest, asciiSpace)
	return &record{key: key, data: data, full: full}
}

// unescape decodes one backslash escape (spec 6.17) from s, which starts
// just after the backslash; it returns the byte and how many bytes of s it
// used.
func unescape(s string) (byte, int) {
	switch c := s[0]; {
	case c == 'n':
		return '\n', 1
	case c == 'r':
		return '\r', 1
	case c == 't':
		return '\t', 1
	case c >= '0' && c <= '7':
		v, n := 0, 0
		for n < 3 && n < len(s) && s[n] >= '0' && s[n] <= '7' {
			v = v*8 + int(s[n]-'0')
			n++
		}
		return byte(v), n
	case c == 'x' && len(s) > 1 && isHex(s[1]):
		v, n := 0, 1
		for n < 3 && n < len(s) && isHex(s[n]) {
			v = v*16 + hexVal(s[n])
			n++
		}
		return byte(v), n
	default:
		return c, 1
	}
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexVal(c byte) int {
	switch {
	case c >= 'a':
		return int(c-'a') + 10
	case c >= 'A':
		return int(c-'A') + 10
	}
	return int(c - '0')
}

func (h *linearHandle) find(r *Registry, st *typeSpec, key string, x Expander, depth int) (string, bool, error) {
	var match func(rec *record) (bool, error)
	switch h.typ {
	case "lsearch":
		match = func(rec *record) (bool, error) { return asciiEqualFold(rec.key, key), nil }
	case "iplsearch":
		ip, err := netip.ParseAddr(key)
		if err != nil || ip.Zone() != "" {
			return "", false, &DeferError{Key: key, Msg: fmt.Sprintf("%q is not a valid iplsearch key (an IP address, with optional CIDR mask, is wanted): in a host list, use net-iplsearch as the search type", key)}
		}
		ip = ip.Unmap()
		match = func(rec *record) (bool, error) { return ipKeyMatch(rec.key, ip), nil }
	default: // wildlsearch, nwildlsearch
		match = func(rec *record) (bool, error) {
			k := rec.key
			if h.typ == "wildlsearch" && x != nil {
				e, err := x(k)
				if err != nil {
					return false, &DeferError{Key: key, Log: fmt.Sprintf("failed to expand %q while checking a list: %s", k, err)}
				}
				k = e
			}
			return h.wildMatch(r, k, key, x, depth)
		}
	}
	var (
		val    string
		found  bool
		err    error
		retFul = st.opts["ret"] == "full"
	)
	serr := scanRecords(io.NewSectionReader(h.f, 0, 1<<62), func(rec *record) bool {
		ok, e := match(rec)
		if e != nil {
			err = e
			return false
		}
		if ok {
			found, val = true, rec.data
			if retFul {
				val = rec.full
			}
			return false
		}
		return true
	})
	if err != nil {
		return "", false, err
	}
	if serr != nil {
		return "", false, &DeferError{Key: key, Msg: fmt.Sprintf("read error on %s: %s", h.file, strerror.Text(serr))}
	}
	return val, found, nil
}

// asciiEqualFold compares ignoring ASCII case only, as Exim does.
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// ipKeyMatch matches an iplsearch file key (address or CIDR) against ip.
func ipKeyMatch(k string, ip netip.Addr) bool {
	if strings.Contains(k, "/") {
		p, err := netip.ParsePrefix(k)
		if err != nil {
			return false
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		return p.Addr().Is4() == ip.Is4() && p.Masked().Contains(ip)
	}
	a, err := netip.ParseAddr(k)
	return err == nil && a.Unmap() == ip
}

// wildMatch matches a (n)wildlsearch file key against the subject, as
// Exim's general string matching does (spec 9.3): "^" starts a
// case-insensitive regular expression, "*" means "ends with", "TYPE;file"
// is a nested single-key lookup of the subject, anything else is compared
// literally without regard to case.
//
// Regular expressions are Go's RE2 syntax, not PCRE: look-around and
// back-references do not compile. A key that does not compile is an
// error (Exim logs it to the panic log and exits).
func (h *linearHandle) wildMatch(r *Registry, k, subject string, x Expander, depth int) (bool, error) {
	switch {
	case strings.HasPrefix(k, "^"):
		h.mu.Lock()
		re, ok := h.res[k]
		h.mu.Unlock()
		if !ok {
			var err error
			re, err = regexp.Compile("(?i)" + k)
			if err != nil {
				return false, fmt.Errorf("regular expression error: %s while compiling %s", reErrText(err), k)
			}
			h.mu.Lock()
			if len(h.res) < 10000 {
				h.res[k] = re
			}
			h.mu.Unlock()
		}
		return re.MatchString(subject), nil
	case strings.HasPrefix(k, "*"):
		suf := k[1:]
		return len(subject) >= len(suf) && asciiEqualFold(subject[len(subject)-len(suf):], suf), nil
	}
	if i := strings.IndexByte(k, ';'); i > 0 {
		if st, err := parseType(k[:i]); err == nil && st.info.kind == SingleKey && st.info.available {
			_, found, err := r.findSingle(st, strings.TrimSpace(k[i+1:]), subject, x, depth+1)
			return found, err
		}
	}
	return asciiEqualFold(k, subject), nil
}

func reErrText(err error) string {
	if e, ok := err.(*syntax.Error); ok {
		return string(e.Code)
	}
	return err.Error()
}
