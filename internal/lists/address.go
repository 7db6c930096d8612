package lists

import (
	"fmt"
	"strings"
)

// MatchLocalPart matches a local part against a local part list
// (local_parts= router option and ACL condition, Data is $local_part_data;
// match_local_part expansion condition, Data is $value). Unless caseful,
// matching starts caseless; a "+caseful" item makes later items compare
// with the original case. Items are as in domain lists without the ones
// that refer to the local host; lookups use the local part as key.
// Specification chapter "Domain, host, address, and local part lists",
// section "Local part lists".
func MatchLocalPart(env *Env, list, localPart string, caseful bool) (Match, error) {
	m := &matcher{env: env, caseless: !caseful}
	r, err := m.walk(LocalPartList, list, localPart, localPart, m.localPartFunc(localPart), 0)
	return finish(list, r, err)
}

func (m *matcher) localPartFunc(lp string) itemFunc {
	return func(pat string) (itemRes, error) {
		s := lp
		if m.caseless {
			s = strings.ToLower(lp)
		}
		return m.stringItem(pat, s, m.caseless, LocalPartList)
	}
}

// MatchAddress matches an email address against an address list (senders=
// and recipients= ACL conditions and router options, Data is $sender_data
// or $recipient_data; match_address expansion condition, Data is $value).
// The domain is always lower-cased; the local part is lower-cased and
// compared caselessly until a "+caseful" item, or from the start when
// caseful is true. The empty address (a bounce's sender) is matched only
// by an empty item, a regular expression or a query-style lookup.
//
// Items: "", "^regex" (whole address), "@@type;file" (domain looked up,
// the data a local part list), "type;file" or "type;query" (whole address),
// "lpattern@dpattern" (local part literal or "*suffix", domain any domain
// list item including "+name"), and a bare literal or "*" domain pattern.
// Specification chapter "Domain, host, address, and local part lists",
// sections "Address lists" and "Case of letters in address lists".
func MatchAddress(env *Env, list, address string, caseful bool) (Match, error) {
	m := &matcher{env: env, caseless: !caseful}
	lp, dom := address, ""
	if i := strings.LastIndexByte(address, '@'); i >= 0 {
		lp, dom = address[:i], strings.ToLower(address[i+1:])
	}
	key := strings.ToLower(address)
	if caseful {
		key = lp + "@" + dom
	}
	r, err := m.walk(AddressList, list, address, key, func(pat string) (itemRes, error) {
		return m.addressItem(pat, address, lp, dom)
	}, 0)
	return finish(list, r, err)
}

// addressItem matches one address list item. lp is the local part in its
// original case, dom the lower-cased domain.
func (m *matcher) addressItem(pat, address, lp, dom string) (itemRes, error) {
	hasAt := strings.LastIndexByte(address, '@') >= 0
	whole := address
	if hasAt {
		l := lp
		if m.caseless {
			l = strings.ToLower(lp)
		}
		whole = l + "@" + dom
	} else if m.caseless {
		whole = strings.ToLower(address)
	}
	switch {
	case pat == "":
		return itemRes{ok: address == ""}, nil
	case strings.HasPrefix(pat, "^"):
		re, err := m.env.Regexps.compile(pat, m.caseless)
		if err != nil {
			return itemRes{}, err
		}
		sm := re.FindStringSubmatch(whole)
		if sm == nil {
			return itemRes{}, nil
		}
		return itemRes{ok: true, vars: sm}, nil
	case strings.HasPrefix(pat, "@@"):
		if address == "" || !hasAt {
			return itemRes{}, nil
		}
		return m.atAtItem(pat[2:], lp, dom)
	}
	if isAddressLookup(pat) {
		li, err := m.parseLookupItem(pat, false)
		if err != nil {
			return itemRes{}, err
		}
		data, found, err := m.do(li, withoutPartial(li.spec), whole)
		if err != nil || !found {
			return itemRes{}, err
		}
		return itemRes{ok: true, data: data}, nil
	}
	if address == "" {
		return itemRes{}, nil
	}
	lpPat, domPat, patHasAt := strings.Cut(pat, "@")
	if !patHasAt {
		lpPat, domPat = "", pat
	}
	if !hasAt {
		m.debugf("no @ found in the subject of an address list match: subject=\"%s\" pattern=\"%s\"", address, pat)
		return itemRes{}, nil
	}
	if patHasAt {
		m.debugf(" address match test: subject=%s pattern=%s", address, pat)
		l := lp
		if m.caseless {
			l = strings.ToLower(lp)
		}
		if !m.localPartPatternMatches(lpPat, l) {
			return itemRes{}, nil
		}
	}
	var (
		r   itemRes
		err error
	)
	if strings.HasPrefix(domPat, "+") {
		var mt Match
		var cached bool
		mt, cached, err = m.named(DomainList, domPat[1:], dom, dom, m.domainFunc(dom, true, true), 1)
		if err == nil {
			why := "end of list"
			if mt.Matched {
				why = "matched \"" + domPat + "\""
				if cached {
					why += " - cached"
				}
			}
			m.debugf(" %s in \"%s\"? %s (%s)", dom, domPat, yesNo(mt.Matched), why)
		}
		r = itemRes{ok: mt.Matched, data: mt.Data, vars: mt.Vars}
	} else {
		r, err = m.domainItem(domPat, dom, m.caseless, true)
		if err == nil && patHasAt {
			// Exim matches the domain part as a one-item domain list.
			why := "end of list"
			if r.ok {
				why = fmt.Sprintf("matched \"%s\"", domPat)
			}
			m.debugf(" %s in \"%s\"? %s (%s)", dom, domPat, yesNo(r.ok), why)
		}
	}
	if err != nil || !r.ok {
		return itemRes{}, err
	}
	r.data = lpPat + "@" + r.data
	return r, nil
}

// isAddressLookup reports whether an address list item starts with a
// lookup type ("lsearch;", "lsearch*@;", "cdb,ret=key;"): text before the
// first semicolon with no "@" other than a "*@" default suffix.
func isAddressLookup(pat string) bool {
	i := strings.IndexByte(pat, ';')
	if i <= 0 {
		return false
	}
	spec, _, _ := strings.Cut(pat[:i], ",")
	return !strings.Contains(strings.TrimSuffix(spec, "*@"), "@")
}

// localPartPatternMatches compares the local part of an "x@y" pattern: a
// leading "*" matches any prefix.
func (m *matcher) localPartPatternMatches(pat, lp string) bool {
	if strings.HasPrefix(pat, "*") {
		suffix := pat[1:]
		if len(lp) < len(suffix) {
			return false
		}
		tail := lp[len(lp)-len(suffix):]
		return tail == suffix || m.caseless && strings.EqualFold(tail, suffix)
	}
	return pat == lp || m.caseless && strings.EqualFold(pat, lp)
}

// atAtItem matches "@@type;file": the domain is looked up and the data is a
// local part list; a last item ">key" continues with the list found under
// key (at most 50 links; query-style lookups do not chain). Specification
// section "Address lists".
func (m *matcher) atAtItem(pat, lp, dom string) (itemRes, error) {
	if !isLookupItem(pat) {
		return itemRes{}, nil
	}
	li, err := m.parseLookupItem(pat, false)
	if err != nil {
		return itemRes{}, err
	}
	var items []string
	key := dom
	for n := 0; ; n++ {
		if n >= maxDepth {
			return itemRes{}, &DeferError{Msg: fmt.Sprintf("too many links in @@ chain for \"%s\"", dom)}
		}
		data, found, err := m.do(li, li.spec, key)
		if err != nil {
			return itemRes{}, err
		}
		if !found {
			if n == 0 {
				return itemRes{}, nil
			}
			break
		}
		part := Split(data, ':')
		if li.query || len(part) == 0 || !strings.HasPrefix(part[len(part)-1], ">") {
			items = append(items, part...)
			break
		}
		key = part[len(part)-1][1:]
		items = append(items, part[:len(part)-1]...)
	}
	var sb strings.Builder
	for i, it := range items {
		if i > 0 {
			sb.WriteString(" : ")
		}
		sb.WriteString(Quote(it, ':'))
	}
	saveCase := m.caseless
	r, err := m.walk(LocalPartList, sb.String(), lp, lp, m.localPartFunc(lp), 1)
	m.caseless = saveCase
	if err != nil || !r.Matched {
		return itemRes{}, err
	}
	return itemRes{ok: true, data: r.Data, vars: r.Vars}, nil
}

// MatchString reports whether s is one of the items of a plain string list,
// as the inlist (caseless false) and inlisti (caseless true) expansion
// conditions do; Data ($value) is the matching item. Items are compared
// literally: "!", "+name", "/file" and patterns have no special meaning.
// Specification chapter "String expansions", condition inlist.
func MatchString(env *Env, list, s string, caseless bool) (Match, error) {
	sep, body := Separator(list, ':')
	for {
		it, rest, ok := Next(body, sep)
		if !ok {
			return Match{}, nil
		}
		body = rest
		if it == s || caseless && strings.EqualFold(it, s) {
			return Match{Matched: true, Data: it, Item: it}, nil
		}
	}
}
