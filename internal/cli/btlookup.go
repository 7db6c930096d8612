package cli

// A small lookup implementation for the test modes until the lookup
// package lands: lsearch (with "*" and "*@" defaults); every other type is
// reported as not yet supported. Exim specification chapter "File and
// database lookups", section "Single-key lookup types".

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

type modeLookups struct{}

var singleKey = map[string]bool{"lsearch": true, "wildlsearch": true, "nwildlsearch": true, "iplsearch": true, "cdb": true, "dbm": true, "dbmnz": true, "dbmjz": true, "dsearch": true, "passwd": true}
var queryStyle = map[string]bool{"dnsdb": true, "sqlite": true, "ldap": true, "ldapdn": true, "ldapm": true, "mysql": true, "pgsql": true, "nis": true, "nis0": true}

// QueryStyle implements lists.Lookuper.
func (modeLookups) QueryStyle(typ string) (bool, error) {
	switch {
	case singleKey[typ]:
		return false, nil
	case queryStyle[typ]:
		return true, nil
	}
	return false, fmt.Errorf("unknown lookup type \"%s\"", typ)
}

// Find implements lists.Lookuper and expand.Lookuper for lsearch.
func (modeLookups) Find(typ, file, key string, x func(string) (string, error)) (string, bool, error) {
	base, _, _ := strings.Cut(typ, ",")
	star, starAt := false, false
	switch {
	case strings.HasSuffix(base, "*@"):
		base, starAt = strings.TrimSuffix(base, "*@"), true
	case strings.HasSuffix(base, "*"):
		base, star = strings.TrimSuffix(base, "*"), true
	}
	if base != "lsearch" {
		return "", false, fmt.Errorf("lookup type %s is not yet supported by exigo", base)
	}
	v, ok, err := lsearch(file, key)
	if err != nil || ok {
		return v, ok, err
	}
	if starAt {
		if i := strings.LastIndexByte(key, '@'); i >= 0 {
			if v, ok, err = lsearch(file, "*"+key[i:]); err != nil || ok {
				return v, ok, err
			}
		}
		star = true
	}
	if star {
		return lsearch(file, "*")
	}
	return "", false, nil
}

// Query implements the query-style half; none is supported yet.
func (modeLookups) Query(typ, query string, x func(string) (string, error)) (string, bool, error) {
	return "", false, fmt.Errorf("lookup type %s is not yet supported by exigo", typ)
}

// lsearch scans file for key (caselessly), joining continuation lines.
func lsearch(file, key string) (string, bool, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	found, data := false, ""
	for sc.Scan() {
		line := sc.Text()
		if found {
			if line != "" && (line[0] == ' ' || line[0] == '\t') {
				t := strings.TrimSpace(line)
				if t != "" {
					data += " " + t
				}
				continue
			}
			return data, true, nil
		}
		if line == "" || line[0] == '#' || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		var k, rest string
		if line[0] == '"' {
			j := 1
			var b strings.Builder
			for ; j < len(line) && line[j] != '"'; j++ {
				if line[j] == '\\' && j+1 < len(line) {
					j++
				}
				b.WriteByte(line[j])
			}
			k = b.String()
			if j < len(line) {
				j++
			}
			rest = line[j:]
		} else {
			j := strings.IndexAny(line, ": \t")
			if j < 0 {
				j = len(line)
			}
			k, rest = line[:j], line[j:]
		}
		if !strings.EqualFold(k, key) {
			continue
		}
		rest = strings.TrimLeft(rest, " \t")
		rest = strings.TrimPrefix(rest, ":")
		found, data = true, strings.TrimSpace(rest)
	}
	if err := sc.Err(); err != nil {
		return "", false, err
	}
	return data, found, nil
}
