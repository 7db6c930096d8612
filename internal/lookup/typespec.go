package lookup

import (
	"fmt"
	"strings"
)

// maxNest caps lookups nested through (n)wildlsearch keys of the form
// "TYPE;file", which a file can make recursive.
const maxNest = 8

// typeSpec is a lookup type as written in the configuration, taken apart:
// [partial[N](affix)|partial[N]-]NAME[*|*@][,opt=value...]. Spec 9.1, 9.6,
// 9.7.
type typeSpec struct {
	raw     string
	name    string
	info    typeInfo
	partial int    // minimum non-wild components; -1 when not partial
	affix   string // partial-matching prefix, default "*."
	star    bool   // "*": look up "*" last
	starAt  bool   // "*@": look up "*@domain" then "*"
	opts    map[string]string
	optList []string // options in order, as "name=value"
}

func (s *typeSpec) opt(name string) (string, bool) {
	v, ok := s.opts[name]
	return v, ok
}

// parseType parses a lookup type. Errors carry Exim's texts: `unknown
// lookup type "x"` and `format error in lookup type "x"`.
func parseType(typ string) (*typeSpec, error) {
	st := &typeSpec{raw: typ, partial: -1, affix: "*.", opts: map[string]string{}}
	rest := typ
	if i := strings.IndexByte(rest, ','); i >= 0 {
		for _, o := range strings.Split(rest[i+1:], ",") {
			o = strings.TrimSpace(o)
			if o == "" {
				continue
			}
			name, val, _ := strings.Cut(o, "=")
			st.opts[name] = val
			st.optList = append(st.optList, o)
		}
		rest = rest[:i]
	}
	if strings.HasPrefix(rest, "partial") {
		p := rest[len("partial"):]
		n := 0
		digits := 0
		for digits < len(p) && p[digits] >= '0' && p[digits] <= '9' {
			if n < 1000 {
				n = n*10 + int(p[digits]-'0')
			}
			digits++
		}
		if digits == 0 {
			n = 2
		}
		p = p[digits:]
		switch {
		case strings.HasPrefix(p, "-"):
			p = p[1:]
		case strings.HasPrefix(p, "("):
			end := strings.IndexByte(p, ')')
			if end < 0 {
				return nil, fmt.Errorf("format error in lookup type %q", typ)
			}
			st.affix = p[1:end]
			p = p[end+1:]
		default:
			return nil, fmt.Errorf("format error in lookup type %q", typ)
		}
		st.partial = n
		rest = p
	}
	switch {
	case strings.HasSuffix(rest, "*@"):
		st.starAt = true
		rest = rest[:len(rest)-2]
	case strings.HasSuffix(rest, "*"):
		st.star = true
		rest = rest[:len(rest)-1]
	}
	info, ok := typeTable[rest]
	if !ok {
		return nil, fmt.Errorf("unknown lookup type %q", rest)
	}
	st.name, st.info = rest, info
	return st, nil
}

// partialKeys returns the keys that partial matching tries after the
// subject key itself (spec 9.7): the affix followed by the key, then by the
// key with leading components removed one by one while at least
// st.partial components remain; for partial0 a final key made from the
// affix alone.
func partialKeys(st *typeSpec, key string) []string {
	var out []string
	comps := strings.Split(key, ".")
	for i := 0; i < len(comps); i++ {
		if len(comps)-i < st.partial {
			break
		}
		k := st.affix + strings.Join(comps[i:], ".")
		if k == key {
			continue // empty affix: the unmodified key was already tried
		}
		out = append(out, k)
	}
	if st.partial == 0 {
		switch {
		case st.affix == "":
		case len(st.affix) == 1:
			out = append(out, st.affix)
		case strings.HasSuffix(st.affix, "."):
			out = append(out, strings.TrimSuffix(st.affix, "."))
		default:
			out = append(out, st.affix)
		}
	}
	return out
}
