package lookup

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFile writes content to name in dir and returns the path.
func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// writeCDB writes a cdb file (D. J. Bernstein's format) holding pairs, in
// order, so tests need no external cdb tool.
func writeCDB(t testing.TB, path string, pairs [][2]string) {
	t.Helper()
	type slot struct{ h, pos uint32 }
	var body []byte
	tables := make([][]slot, 256)
	pos := uint32(2048)
	for _, p := range pairs {
		k, v := p[0], p[1]
		h := cdbHash(k)
		tables[h&255] = append(tables[h&255], slot{h, pos})
		var hdr [8]byte
		binary.LittleEndian.PutUint32(hdr[:4], uint32(len(k)))
		binary.LittleEndian.PutUint32(hdr[4:], uint32(len(v)))
		body = append(body, hdr[:]...)
		body = append(body, k...)
		body = append(body, v...)
		pos += uint32(8 + len(k) + len(v))
	}
	header := make([]byte, 2048)
	for i, tab := range tables {
		n := uint32(len(tab) * 2)
		binary.LittleEndian.PutUint32(header[i*8:], pos)
		binary.LittleEndian.PutUint32(header[i*8+4:], n)
		slots := make([]slot, n)
		for _, s := range tab {
			j := (s.h >> 8) % n
			for slots[j].pos != 0 {
				j = (j + 1) % n
			}
			slots[j] = s
		}
		for _, s := range slots {
			var b [8]byte
			binary.LittleEndian.PutUint32(b[:4], s.h)
			binary.LittleEndian.PutUint32(b[4:], s.pos)
			body = append(body, b[:]...)
			pos += 8
		}
	}
	if err := os.WriteFile(path, append(header, body...), 0o644); err != nil {
		t.Fatal(err)
	}
}

// testExpander is a minimal stand-in for the expansion engine: it removes
// \N...\N markers (keeping what is inside literally) and fails on "${",
// handles backslash escapes, which is enough for wildlsearch keys in tests.
func testExpander(s string) (string, error) {
	var b strings.Builder
	for s != "" {
		if strings.HasPrefix(s, `\N`) {
			end := strings.Index(s[2:], `\N`)
			if end < 0 {
				b.WriteString(s[2:])
				break
			}
			b.WriteString(s[2 : 2+end])
			s = s[4+end:]
			continue
		}
		if strings.HasPrefix(s, "${") {
			return "", errors.New(`"` + s + `" is not a known operator (or a } is missing in a variable reference)`)
		}
		if s[0] == '\\' && len(s) > 1 {
			c, n := unescape(s[1:])
			b.WriteByte(c)
			s = s[1+n:]
			continue
		}
		b.WriteByte(s[0])
		s = s[1:]
	}
	return b.String(), nil
}

// render shows a lookup result the way the oracle expressions do:
// F<value> when found, N when not, "Failed: text" on error.
func render(v string, found bool, err error) string {
	switch {
	case err != nil:
		return "Failed: " + err.Error()
	case found:
		return "F<" + v + ">"
	}
	return "N"
}

// eximQuote escapes s for use inside an Exim expansion string.
func eximQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `$`, `\$`, `{`, `\{`, `}`, `\}`)
	return r.Replace(s)
}
