package expand

import (
	"github.com/dlclark/regexp2"

	"github.com/exigo-mta/exigo/internal/pcre"
)

// parseSg reads ${sg{subject}{regex}{replacement}}.
// Spec: chapter "String expansions", section "Expansion items", ${sg...}.
func parseSg(p *parser, name string) (node, error) {
	args, err := p.itemArgs(name, 3, 3)
	if err != nil {
		return nil, err
	}
	return &genericItem{name: name, args: args, fn: evalSg}, nil
}

// evalSg replaces every match of the regex in the subject, Perl's s///g.
// The (already expanded) replacement is expanded again for each match,
// with $0..$9 set to the match and its groups; they are restored
// afterwards. Matching works on bytes (Exim compiles in 8-bit mode).
func evalSg(st *state, nodes []node) (string, error) {
	a, err := st.strArgs(nodes)
	if err != nil {
		return "", err
	}
	subject, pattern, replacement := a[0], a[1], a[2]
	re, err := compileRegex(pattern)
	if err != nil {
		return "", err
	}
	st.depth++
	defer func() { st.depth-- }()
	if st.depth > maxDepth {
		return "", errorf("expansion nested too deeply")
	}
	runes := pcre.ByteRunes(subject)
	m, err := re.Engine().FindRunesMatch(runes)
	if err != nil {
		return "", errorf("error while matching \"%s\": %v", pattern, err)
	}
	if m == nil {
		return subject, nil
	}
	var repl node
	saved := st.numeric
	defer func() { st.numeric = saved }()
	var out []byte
	last := 0
	for m != nil {
		if repl == nil {
			p := &parser{src: replacement, depth: st.depth}
			if repl, err = p.parseTop(); err != nil {
				return "", err
			}
		}
		st.numeric = matchGroups(m)
		out = append(out, pcre.RuneBytes(runes[last:m.Index])...)
		if err := repl.eval(st, &out); err != nil {
			return "", err
		}
		last = m.Index + m.Length
		if m, err = re.Engine().FindNextMatch(m); err != nil {
			return "", errorf("error while matching \"%s\": %v", pattern, err)
		}
	}
	out = append(out, pcre.RuneBytes(runes[last:])...)
	return string(out), nil
}

// matchGroups returns $0..$n of a match made on pcre.ByteRunes text.
func matchGroups(m *regexp2.Match) []string {
	groups := m.Groups()
	out := make([]string, len(groups))
	for i, g := range groups {
		if len(g.Captures) > 0 {
			out[i] = string(pcre.RuneBytes(g.Runes()))
		}
	}
	return out
}
