package expand

import "github.com/dlclark/regexp2"

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
	runes := byteRunes(subject)
	m, err := re.FindRunesMatch(runes)
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
		out = append(out, runeBytes(runes[last:m.Index])...)
		if err := repl.eval(st, &out); err != nil {
			return "", err
		}
		last = m.Index + m.Length
		if m, err = re.FindNextMatch(m); err != nil {
			return "", errorf("error while matching \"%s\": %v", pattern, err)
		}
	}
	out = append(out, runeBytes(runes[last:])...)
	return string(out), nil
}

// byteRunes maps each byte of s to the rune of the same value, so that a
// pattern matches bytes as PCRE does in 8-bit mode.
func byteRunes(s string) []rune {
	r := make([]rune, len(s))
	for i := 0; i < len(s); i++ {
		r[i] = rune(s[i])
	}
	return r
}

// runeBytes reverses byteRunes.
func runeBytes(r []rune) []byte {
	b := make([]byte, len(r))
	for i, c := range r {
		b[i] = byte(c)
	}
	return b
}

// matchGroups returns $0..$n of a match made on byteRunes text.
func matchGroups(m *regexp2.Match) []string {
	groups := m.Groups()
	out := make([]string, len(groups))
	for i, g := range groups {
		if len(g.Captures) > 0 {
			out[i] = string(runeBytes(g.Runes()))
		}
	}
	return out
}
