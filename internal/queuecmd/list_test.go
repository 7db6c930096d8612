package queuecmd

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestEntryPacking checks that a packed entry gives back its id,
// directory and journal flag, and that packed entries sort as the ids'
// (second, fraction) keys do, ties keeping their order.
func TestEntryPacking(t *testing.T) {
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	rnd := rand.New(rand.NewPCG(1, 2))
	part := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = digits[rnd.IntN(len(digits))]
		}
		return string(b)
	}
	var ids []string
	var es []dirEntry
	for i := 0; i < 2000; i++ {
		id := "1x" + part(4) + "-" + part(6) + "-" + part(2)
		if i%3 == 0 && i > 0 { // same second as the previous one
			id = ids[i-1][:7] + part(6) + "-" + part(2)
		}
		if i%5 == 0 && i > 0 { // same second and fraction
			id = ids[i-1][:7] + part(6) + ids[i-1][13:]
		}
		d := rnd.IntN(63)
		e := newEntry([]byte(id), d)
		if i%7 == 0 {
			e.setJournal()
		}
		if got := string(e.appendID(nil)); got != id || e.dir() != d || e.journal() != (i%7 == 0) {
			t.Fatalf("%s dir %d: got %s dir %d journal %v", id, d, got, e.dir(), e.journal())
		}
		ids = append(ids, id)
		es = append(es, e)
	}
	key := func(id string) string { return id[0:6] + id[14:16] }
	slices.SortStableFunc(ids, func(a, b string) int { return strings.Compare(key(a), key(b)) })
	sortEntries(es, make([]dirEntry, len(es)))
	for i := range ids {
		if got := string(es[i].appendID(nil)); got != ids[i] {
			t.Fatalf("position %d: %s, want %s", i, got, ids[i])
		}
	}
}

func TestSpoolName(t *testing.T) {
	cases := map[string]byte{
		"1xWrpf-0004bL-14-H": 'H', "1xWrpf-0004bL-14-J": 'J', "1xWrpf-0004bL-14-D": 0,
		"1xWrpf-0004bL-14-T": 0, "1xWrpf-0004bL-1_-H": 0, "1xWrpf_0004bL-14-H": 0,
		"1xWrpf-0004bL-14H": 0, "1xWrpf-0004bL-14-HH": 0, "": 0, "-H": 0,
	}
	for name, want := range cases {
		if got := spoolName([]byte(name)); got != want {
			t.Errorf("spoolName(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestScanDirs checks the directory reader on names of every length
// (the getdents records pad them differently) in input/ and in split
// sub-directories, with a buffer reused between directories.
func TestScanDirs(t *testing.T) {
	dir := t.TempDir()
	input := filepath.Join(dir, "input")
	want := map[string]bool{}
	for _, sub := range []string{"", "a", "B", "7"} {
		d := filepath.Join(input, sub)
		if err := os.MkdirAll(d, 0o750); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 60; i++ {
			id := fmt.Sprintf("1xWrp%s-%06d-%02d", map[string]string{"": "f", "a": "a", "B": "B", "7": "7"}[sub], i, i%100)
			os.WriteFile(filepath.Join(d, id+"-H"), nil, 0o640)
			os.WriteFile(filepath.Join(d, id+"-D"), nil, 0o640)
			if i%50 == 0 {
				os.WriteFile(filepath.Join(d, id+"-J"), nil, 0o640)
			}
			want[id] = true
			// Names of every length up to 40, so that stale bytes of
			// earlier records sit in the padding.
			os.WriteFile(filepath.Join(d, strings.Repeat("x", 1+i%40)), nil, 0o640)
		}
	}
	os.Mkdir(filepath.Join(input, "zz"), 0o750)
	os.WriteFile(filepath.Join(input, "Q"), nil, 0o640) // a file named like a sub-directory
	dirs, entries, n, err := scanDirs(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	defer dirs.close()
	if n != len(want) || len(entries) != len(want) || len(dirs.fds) != 4 {
		t.Fatalf("count %d, %d entries, %d dirs; want %d, %d, 4", n, len(entries), len(dirs.fds), len(want), len(want))
	}
	for _, e := range entries {
		id := string(e.appendID(nil))
		if !want[id] {
			t.Fatalf("unexpected or repeated %s", id)
		}
		delete(want, id)
		if j := strings.HasSuffix(id, "0-00") || strings.HasSuffix(id, "0-50"); e.journal() != j {
			t.Errorf("%s: journal %v", id, e.journal())
		}
		if got := filepath.Base(dirs.paths[e.dir()]); got != map[byte]string{'f': "input", 'a': "a", 'B': "B", '7': "7"}[id[5]] {
			t.Errorf("%s found in %s", id, got)
		}
	}
	if c, err := Count(dir); c != 240 || err != nil {
		t.Errorf("Count = %d, %v", c, err)
	}
	// A spool not made yet holds no message (as Exim 4.96 says).
	if c, err := Count(filepath.Join(dir, "none")); c != 0 || err != nil {
		t.Errorf("Count of a missing spool = %d, %v", c, err)
	}
}

// TestRecipientAddress holds the lines tried on Exim 4.96's -bp: it
// strips the errors_to field one byte too far, so that a "#1" line
// loses the last byte of its address, and it does not check the
// separating spaces.
func TestRecipientAddress(t *testing.T) {
	cases := map[string]string{
		"plain@x.example":       "plain@x.example",
		"a 0,0#1":               "",
		"ab 0,0#1":              "",
		"abc 0,0#1":             "a",
		"abc@x 1,0#1":           "ab",
		"abc@x.example e 1,0#5": "abc@x.exampl",
		"abc@x.example errors@example.com 18,0#1":         "abc@x.exampl",
		"abc@x.example rfc822;q 8,12#2":                   "abc@x.example",
		"abc@x.example q 1,12 e 1,0#3":                    "abc@x.example",
		"abc@x.example q 1,12  0,0#3":                     "abc@x.example",
		"abc@x.example rfc822;abc@x.example 20,8  0,-1#3": "abc@x.example",
		"abc@x.example   0,12  0,-1#3":                    "abc@x.example ",
		"a#b@x 1,2  0,1#3":                                "a#b",
		"a b c 1,2 d 1,2#3":                               "a b",
		"abc@x.example e 1,0#-1":                          "abc@x.example e 1,0#-1",
		"abc@x.example e 1,0#+1":                          "abc@x.example e 1,0#+1",
		"abc@x.example e 1,0#01":                          "abc@x.exampl",
		"abc@x.example e 1,0#1x":                          "abc@x.example e 1,0#1x",
		"x 5,0#1":                                         "x 5,0#1",
		"abc@x.example e x,0#1":                           "abc@x.example e x,0#1",
	}
	for line, want := range cases {
		if got := string(recipientAddress([]byte(line))); got != want {
			t.Errorf("recipientAddress(%q) = %q, want %q", line, got, want)
		}
	}
}

// TestJournal holds what Exim 4.96's -bp makes of -J lines: each loses
// its last byte, a line longer than 16383 bytes is read in pieces.
func TestJournal(t *testing.T) {
	long := strings.Repeat("a", 20000)
	cases := []struct {
		in   string
		want []string
	}{
		{"a@b\nc@d\n", []string{"a@b", "c@d"}},
		{"a@b\n\n  c@d\nlast", []string{"a@b", "", "  c@d", "las"}},
		{"x\r\n", []string{"x\r"}},
		{"", nil},
		{long + "\n", []string{long[:16382], long[:3617]}},
		{"ab\x00cd\n", []string{"a"}},
	}
	for _, c := range cases {
		var got []string
		for _, l := range appendJournal(nil, []byte(c.in)) {
			got = append(got, string(l))
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("appendJournal(%.20q) = %.40q, want %.40q", c.in, got, c.want)
		}
	}
}

// TestListBounded lists a queue larger than the blocks that may be in
// flight and checks the order.
func TestListBounded(t *testing.T) {
	dir := t.TempDir()
	input := filepath.Join(dir, "input")
	os.MkdirAll(input, 0o750)
	now := time.Unix(1795770087, 0)
	const block, ahead = 4, 3
	n := (ahead+5)*block + 3
	for i := 0; i < n; i++ {
		const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		id := fmt.Sprintf("1xWrpf-%06d-%c%c", n-i, digits[i/62], digits[i%62])
		h := fmt.Sprintf("%s-H\nroot 0 0\n<s@x>\n%d 0\nXX\n1\nr%d@x\n\n010  Subject: \n", id, now.Unix()-int64(i), i)
		os.WriteFile(filepath.Join(input, id+"-H"), []byte(h), 0o640)
	}
	var out bytes.Buffer
	dirs, entries, _, err := scanDirs(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	defer dirs.close()
	sortEntries(entries, make([]dirEntry, len(entries)))
	if err := listEntries(&out, dirs, entries, now, ListOptions{Workers: 3}, block, ahead, nil); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out.String(), "\n")
	if len(lines) != 3*n+1 {
		t.Fatalf("%d lines", len(lines))
	}
	for i := 0; i < n; i++ {
		if want := fmt.Sprintf("r%d@x", i); strings.TrimSpace(lines[3*i+1]) != want {
			t.Fatalf("line %d: %q, want %q", 3*i+1, lines[3*i+1], want)
		}
	}
}

// FuzzJournal feeds arbitrary -J files to the journal reader.
func FuzzJournal(f *testing.F) {
	f.Add([]byte("a@b\n\nc"))
	f.Fuzz(func(t *testing.T, b []byte) {
		total := 0
		for _, l := range appendJournal(nil, b) {
			total += len(l) + 1
		}
		if total > len(b) {
			t.Fatalf("journal lines longer than the file")
		}
	})
}
