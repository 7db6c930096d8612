package dkim

import (
	"fmt"
	"strings"
)

// Tag is one "name=value" element of a DKIM tag list (RFC 6376 section
// 3.2), as found in a DKIM-Signature field and in a key record.
type Tag struct {
	Name  string
	Value string // with surrounding white space removed
	// Start and End are the byte offsets of the value (after removing
	// surrounding white space) in the parsed text.
	Start, End int
}

// maxTags caps the number of tags a list may hold.
const maxTags = 64

// ParseTags parses a tag list. Tag names are case-sensitive; a repeated
// name, a name that is not ALPHA *(ALPHA / DIGIT / "_"), or an element
// without "=" is an error. Empty elements (";;" or a final ";") are
// allowed.
func ParseTags(s string) ([]Tag, error) {
	var tags []Tag
	seen := map[string]bool{}
	pos := 0
	for pos <= len(s) {
		end := strings.IndexByte(s[pos:], ';')
		if end < 0 {
			end = len(s)
		} else {
			end += pos
		}
		elem := s[pos:end]
		if strings.TrimSpace(stripFWS(elem)) != "" {
			eq := strings.IndexByte(elem, '=')
			if eq < 0 {
				return nil, fmt.Errorf("tag without '=': %q", strings.TrimSpace(elem))
			}
			name := strings.Trim(elem[:eq], " \t\r\n")
			if !validTagName(name) {
				return nil, fmt.Errorf("bad tag name %q", name)
			}
			if seen[name] {
				return nil, fmt.Errorf("duplicate tag %q", name)
			}
			seen[name] = true
			if len(tags) >= maxTags {
				return nil, fmt.Errorf("too many tags")
			}
			vs, ve := pos+eq+1, end
			for vs < ve && isFWS(s[vs]) {
				vs++
			}
			for ve > vs && isFWS(s[ve-1]) {
				ve--
			}
			tags = append(tags, Tag{Name: name, Value: s[vs:ve], Start: vs, End: ve})
		}
		pos = end + 1
	}
	return tags, nil
}

func isFWS(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func stripFWS(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == '\t' {
			return ' '
		}
		return r
	}, s)
}

func validTagName(n string) bool {
	if n == "" || !isAlpha(n[0]) {
		return false
	}
	for i := 1; i < len(n); i++ {
		c := n[i]
		if !isAlpha(c) && !(c >= '0' && c <= '9') && c != '_' {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// tagMap returns the tags by name.
func tagMap(tags []Tag) map[string]Tag {
	m := make(map[string]Tag, len(tags))
	for _, t := range tags {
		m[t.Name] = t
	}
	return m
}

// noFWS removes all folding white space from a value (base64 values such as
// b= and bh= and the h= list may be folded anywhere).
func noFWS(s string) string {
	if !strings.ContainsAny(s, " \t\r\n") {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s)
}
