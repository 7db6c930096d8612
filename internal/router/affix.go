package router

// Local part prefixes and suffixes: options local_part_prefix,
// local_part_suffix and their _optional forms (spec "Generic options for
// routers").

import (
	"strings"

	"github.com/exigo-mta/exigo/internal/lists"
)

// matchPrefix finds the first item of list that is a prefix of lp. An item
// starting with "*" matches the longest possible run of characters ending
// in the rest of the item. It returns the prefix and its wildcard part.
func matchPrefix(list, lp string, caseful bool) (prefix, wild string, ok bool) {
	cmp := lp
	if !caseful {
		cmp = strings.ToLower(lp)
	}
	sep, rest := lists.Separator(list, ':')
	for _, item := range lists.Split(rest, sep) {
		if !caseful {
			item = strings.ToLower(item)
		}
		if strings.HasPrefix(item, "*") {
			tail := item[1:]
			i := strings.LastIndex(cmp, tail)
			if i < 0 || i+len(tail) >= len(cmp) {
				continue // absent, or nothing would remain
			}
			return lp[:i+len(tail)], lp[:i], true
		}
		if len(item) < len(cmp) && strings.HasPrefix(cmp, item) {
			return lp[:len(item)], "", true
		}
	}
	return "", "", false
}

// matchSuffix is matchPrefix for suffixes: an item ending in "*" matches
// the longest possible run starting with the rest of the item.
func matchSuffix(list, lp string, caseful bool) (suffix, wild string, ok bool) {
	cmp := lp
	if !caseful {
		cmp = strings.ToLower(lp)
	}
	sep, rest := lists.Separator(list, ':')
	for _, item := range lists.Split(rest, sep) {
		if !caseful {
			item = strings.ToLower(item)
		}
		if strings.HasSuffix(item, "*") {
			head := item[:len(item)-1]
			i := strings.Index(cmp, head)
			if i <= 0 {
				continue
			}
			return lp[i:], lp[i+len(head):], true
		}
		if len(item) < len(cmp) && strings.HasSuffix(cmp, item) {
			return lp[len(lp)-len(item):], "", true
		}
	}
	return "", "", false
}

// affixes removes the router's prefix and suffix from the local part. ok
// is false when a mandatory affix is missing (the router is skipped).
func (c *call) affixes() (ok bool, res Result, done bool) {
	o, a := c.r.opts, c.addr
	caseful := o.Bool("caseful_local_part")
	lp := a.LocalPart
	a.Prefix, a.PrefixV, a.Suffix, a.SuffixV = "", "", "", ""
	if o.IsSet("local_part_prefix") {
		p, w, found := matchPrefix(o.String("local_part_prefix"), lp, caseful)
		if !found && !o.Bool("local_part_prefix_optional") {
			c.debugf("%s router skipped: prefix mismatch", c.r.Name)
			return false, Result{}, false
		}
		if found {
			a.Prefix, a.PrefixV = p, w
			lp = lp[len(p):]
			c.debugf("stripped prefix %s", p)
		}
	}
	if o.IsSet("local_part_suffix") {
		s, w, found := matchSuffix(o.String("local_part_suffix"), lp, caseful)
		if !found && !o.Bool("local_part_suffix_optional") {
			c.debugf("%s router skipped: suffix mismatch", c.r.Name)
			return false, Result{}, false
		}
		if found {
			a.Suffix, a.SuffixV = s, w
			lp = lp[:len(lp)-len(s)]
			c.debugf("stripped suffix %s", s)
		}
	}
	if !caseful {
		lp = strings.ToLower(lp)
	}
	c.lp = lp
	c.v.m["local_part"] = lp
	c.v.m["local_part_prefix"], c.v.m["local_part_prefix_v"] = a.Prefix, a.PrefixV
	c.v.m["local_part_suffix"], c.v.m["local_part_suffix_v"] = a.Suffix, a.SuffixV
	return true, Result{}, false
}
