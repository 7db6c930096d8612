package expand

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"unicode/utf8"

	"golang.org/x/net/idna"

	"github.com/exigo-mta/exigo/internal/strerror"
)

// miscOperators are expand, stat and the internationalisation operators.
// Spec: "Expansion operators".
var miscOperators = map[string]opFunc{
	"stat":                       opStat,
	"utf8_domain_to_alabel":      func(_ *state, s string, _ []int) (string, error) { return domainToALabel(s) },
	"utf8_domain_from_alabel":    func(_ *state, s string, _ []int) (string, error) { return domainFromALabel(s) },
	"utf8_localpart_to_alabel":   func(_ *state, s string, _ []int) (string, error) { return localPartToALabel(s) },
	"utf8_localpart_from_alabel": func(_ *state, s string, _ []int) (string, error) { return localPartFromALabel(s) },
}

// opExpand is ${expand:...}: the argument is expanded a second time.
func opExpand(st *state, s string, _ []int) (string, error) {
	st.depth++
	defer func() { st.depth-- }()
	if st.depth > maxDepth {
		return "", errorf("expansion nested too deeply")
	}
	p := &parser{src: s}
	n, err := p.parseTop()
	if err == nil {
		var r string
		r, err = st.str(n)
		if err == nil {
			return r, nil
		}
	}
	var e *Error
	if errors.As(err, &e) && (e.Forced || e.Defer) {
		return "", err
	}
	return "", errorf("internal expansion of \"%s\" failed: %s", s, err)
}

// opStat is ${stat:path}: stat(2) results as name=value pairs.
func opStat(_ *state, path string, _ []int) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", errorf("stat(%s) failed: %s", path, strerror.Text(err))
	}
	sys, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "", errorf("stat(%s) failed: no stat data", path)
	}
	mode := uint32(sys.Mode) &^ syscall.S_IFREG
	if sys.Mode&syscall.S_IFMT != syscall.S_IFREG {
		mode = uint32(sys.Mode)
	}
	return fmt.Sprintf("mode=%04o smode=%s inode=%d device=%d links=%d uid=%d gid=%d size=%d atime=%d mtime=%d ctime=%d",
		mode, symbolicMode(uint32(sys.Mode)), sys.Ino, sys.Dev, sys.Nlink, sys.Uid, sys.Gid, sys.Size,
		sys.Atim.Sec, sys.Mtim.Sec, sys.Ctim.Sec), nil
}

// symbolicMode is the mode as ls shows it ("drwxr-xr-x").
func symbolicMode(m uint32) string {
	b := []byte("----------")
	switch m & syscall.S_IFMT {
	case syscall.S_IFDIR:
		b[0] = 'd'
	case syscall.S_IFIFO:
		b[0] = 'p'
	case syscall.S_IFCHR:
		b[0] = 'c'
	case syscall.S_IFBLK:
		b[0] = 'b'
	case syscall.S_IFLNK:
		b[0] = 'l'
	case syscall.S_IFSOCK:
		b[0] = 's'
	}
	const rwx = "rwxrwxrwx"
	for i := 0; i < 9; i++ {
		if m&(1<<(8-i)) != 0 {
			b[i+1] = rwx[i]
		}
	}
	special := func(bit uint32, pos int, on, off byte) {
		if m&bit != 0 {
			if b[pos] == '-' {
				b[pos] = off
			} else {
				b[pos] = on
			}
		}
	}
	special(syscall.S_ISUID, 3, 's', 'S')
	special(syscall.S_ISGID, 6, 's', 'S')
	special(syscall.S_ISVTX, 9, 't', 'T')
	return string(b)
}

// punycode converts single labels; no mapping or validation beyond
// Punycode itself.
var punycode = idna.Punycode

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// domainToALabel is ${utf8_domain_to_alabel:...}: the domain lower-cased
// and its non-ASCII labels Punycode-encoded.
func domainToALabel(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", errorf("error converting utf8 (%s) to alabel: string encoding error", escapePrinting(s))
	}
	labels := strings.Split(strings.ToLower(s), ".")
	for i, l := range labels {
		if isASCII(l) {
			continue
		}
		a, err := punycode.ToASCII(l)
		if err != nil {
			return "", errorf("error converting utf8 (%s) to alabel: %v", s, err)
		}
		labels[i] = a
	}
	return strings.Join(labels, "."), nil
}

// domainFromALabel is ${utf8_domain_from_alabel:...}: labels starting
// with "xn--" (lower case) are decoded.
func domainFromALabel(s string) (string, error) {
	labels := strings.Split(s, ".")
	for i, l := range labels {
		if !strings.HasPrefix(l, "xn--") {
			continue
		}
		u, err := punycode.ToUnicode(l)
		if err != nil {
			return "", errorf("error converting alabel (%s) to utf8: Invalid input", s)
		}
		labels[i] = u
	}
	return strings.Join(labels, "."), nil
}

// localPartToALabel is ${utf8_localpart_to_alabel:...}: a non-ASCII local
// part becomes "xn--" and its Punycode.
func localPartToALabel(s string) (string, error) {
	if isASCII(s) {
		return s, nil
	}
	if !utf8.ValidString(s) {
		return "", errorf("error converting utf8 (%s) to alabel: string encoding error", escapePrinting(s))
	}
	a, err := punycode.ToASCII(s)
	if err != nil {
		return "", errorf("error converting utf8 (%s) to alabel: %v", s, err)
	}
	return a, nil
}

// localPartFromALabel is ${utf8_localpart_from_alabel:...}.
func localPartFromALabel(s string) (string, error) {
	if !strings.HasPrefix(s, "xn--") {
		return "", errorf("error converting alabel (%s) to utf8: bad alabel prefix", s)
	}
	u, err := punycode.ToUnicode(s)
	if err != nil {
		return "", errorf("error converting alabel (%s) to utf8: Invalid input", s)
	}
	return u, nil
}
