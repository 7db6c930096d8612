package lookup

import (
	"strings"
	"testing"
)

// FuzzScanRecords feeds arbitrary files to the lsearch parser: it must not
// panic, every record's key must come from the file, and data has no
// leading or trailing white space except a continuation's leading space.
func FuzzScanRecords(f *testing.F) {
	for _, c := range fixtureFiles {
		f.Add(c)
	}
	f.Add("\"unterminated\\")
	f.Add("k\\x4\n  \n\t x\n#\n\"a\\0777\":b")
	f.Fuzz(func(t *testing.T, s string) {
		n := 0
		err := scanRecords(strings.NewReader(s), func(rec *record) bool {
			n++
			if strings.ContainsAny(rec.data, "\n") {
				t.Fatalf("data with a newline: %q", rec.data)
			}
			if rec.data != strings.TrimRight(rec.data, asciiSpace) {
				t.Fatalf("data with trailing space: %q", rec.data)
			}
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		if n > strings.Count(s, "\n")+1 {
			t.Fatalf("%d records from %d lines", n, strings.Count(s, "\n")+1)
		}
	})
}

// FuzzParseDnsdb feeds arbitrary queries to the dnsdb query parser: it
// must not panic, and either fails with a DeferError or gives a known type
// and one-byte separators.
func FuzzParseDnsdb(f *testing.F) {
	for _, c := range dnsdbCases {
		f.Add(c.query)
	}
	f.Fuzz(func(t *testing.T, q string) {
		d, err := parseDnsdb(q)
		if err != nil {
			if !isDefer(err) {
				t.Fatalf("non-defer error %v", err)
			}
			return
		}
		if !dnsdbTypes[d.typ] || len(d.sep) != 1 || len(d.fieldSep) > 1 {
			t.Fatalf("bad parse %+v", d)
		}
	})
}

// FuzzParseType feeds arbitrary lookup type strings to parseType and
// partialKeys.
func FuzzParseType(f *testing.F) {
	for _, c := range lookupCases {
		f.Add(c.typ, c.key)
	}
	f.Fuzz(func(t *testing.T, typ, key string) {
		st, err := parseType(typ)
		if err != nil {
			return
		}
		if len(key) < 300 {
			partialKeys(st, key)
		}
	})
}
