package lists

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

// lookupItem is a parsed "type;data" list item.
type lookupItem struct {
	netMask int    // -2: no net prefix; -1: "net-"; n: "netN-"
	spec    string // search type as written, without the net prefix
	name    string // bare search type name
	partial bool   // spec has a partial prefix
	query   bool   // query-style lookup
	arg     string // file name or query
}

// isLookupItem reports whether pat has the shape of a lookup item: a
// semicolon before which there is no white space run into an "@" (for
// address lists the caller checks "@" itself).
func isLookupItem(pat string) bool {
	return strings.IndexByte(pat, ';') > 0
}

// parseLookupItem parses "[netN-][partialN-|partialN(prefix)]type[*|*@][,opts];data"
// (specification chapter "File and database lookups", sections "Default
// values in single-key lookups" and "Partial matching in single-key
// lookups"; chapter "Domain, host, address, and local part lists",
// section "Host list patterns for single-key lookups by host address").
// hostNet allows the net prefix (host lists only).
func (m *matcher) parseLookupItem(pat string, hostNet bool) (lookupItem, error) {
	i := strings.IndexByte(pat, ';')
	li := lookupItem{netMask: -2, spec: strings.TrimSpace(pat[:i]), arg: strings.TrimLeft(pat[i+1:], " \t\n\r")}
	s := li.spec
	if hostNet && strings.HasPrefix(s, "net") {
		j := 3
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j < len(s) && s[j] == '-' {
			li.netMask = -1
			if j > 3 {
				n := 0
				for _, c := range s[3:j] {
					if n < 1000 {
						n = n*10 + int(c-'0')
					}
				}
				li.netMask = n
			}
			s = s[j+1:]
			li.spec = s
		}
	}
	if strings.HasPrefix(s, "partial") {
		j := 7
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		switch {
		case j < len(s) && s[j] == '-':
			li.partial = true
			s = s[j+1:]
		case j < len(s) && s[j] == '(':
			k := strings.IndexByte(s[j:], ')')
			if k < 0 {
				return li, &ConfigError{Msg: fmt.Sprintf("unknown lookup type \"%s\"", li.spec)}
			}
			li.partial = true
			s = s[j+k+1:]
		}
	}
	if c := strings.IndexByte(s, ','); c >= 0 {
		s = s[:c]
	}
	s = strings.TrimSuffix(s, "*@")
	s = strings.TrimSuffix(s, "*")
	li.name = s
	if m.env.Lookups == nil {
		return li, &ConfigError{Msg: fmt.Sprintf("unknown lookup type \"%s\"", s)}
	}
	q, err := m.env.Lookups.QueryStyle(s)
	if err != nil {
		return li, &ConfigError{Msg: err.Error()}
	}
	li.query = q
	if q && (li.partial || strings.Contains(strings.SplitN(li.spec, ",", 2)[0], "*")) {
		return li, &ConfigError{Msg: fmt.Sprintf("\"partial\" or \"*\" is not permitted for query-style lookup type \"%s\"", s)}
	}
	return li, nil
}

// withoutPartial returns spec with any partial prefix removed (address
// lists ignore partial matching: specification section "Address lists").
func withoutPartial(spec string) string {
	if !strings.HasPrefix(spec, "partial") {
		return spec
	}
	j := 7
	for j < len(spec) && spec[j] >= '0' && spec[j] <= '9' {
		j++
	}
	if j < len(spec) && spec[j] == '-' {
		return spec[j+1:]
	}
	if j < len(spec) && spec[j] == '(' {
		if k := strings.IndexByte(spec[j:], ')'); k >= 0 {
			return spec[j+k+1:]
		}
	}
	return spec
}

// do runs the lookup with key (single-key) or its query.
func (m *matcher) do(li lookupItem, spec, key string) (string, bool, error) {
	var (
		data  string
		found bool
		err   error
	)
	if li.query {
		data, found, err = m.env.Lookups.Query(spec, li.arg, m.env.Expand)
	} else {
		if key == "" {
			// Empty keys are not supported for single-key lookups.
			return "", false, nil
		}
		data, found, err = m.env.Lookups.Find(spec, li.arg, key, m.env.Expand)
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return "", false, &ConfigError{Msg: err.Error()}
		}
		return "", false, &DeferError{Msg: err.Error()}
	}
	return data, found, nil
}
