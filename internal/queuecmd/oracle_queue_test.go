package queuecmd_test

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/spool"
	"github.com/exigo-mta/exigo/internal/spool/spooltest"
)

// makeGeneratedSpool writes a queue of a few hundred varied messages
// (package spooltest) in a split spool, adds messages in input/ itself
// (as a spool has after split_spool_directory is turned on), and the
// oddities a real spool collects: -J journals of interrupted
// deliveries, a message without its -D file, a -H file that does not
// parse, an empty one, and names that are not messages.
func makeGeneratedSpool(t *testing.T) (conf string, ids []string) {
	t.Helper()
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	if err := spooltest.WriteQueue(spooltest.Options{Dir: dir, N: 300, Seed: 11, Split: true}); err != nil {
		t.Fatal(err)
	}
	flat := t.TempDir()
	if err := spooltest.WriteQueue(spooltest.Options{Dir: flat, N: 40, Seed: 12}); err != nil {
		t.Fatal(err)
	}
	input := filepath.Join(dir, "spool", "input")
	names, _ := filepath.Glob(filepath.Join(flat, "spool", "input", "*-[HD]"))
	for _, n := range names {
		if err := os.Rename(n, filepath.Join(input, filepath.Base(n))); err != nil {
			t.Fatal(err)
		}
	}
	hs, _ := filepath.Glob(filepath.Join(input, "*", "*-H"))
	if len(hs) < 300 {
		t.Fatalf("only %d messages written", len(hs))
	}
	for _, h := range hs {
		ids = append(ids, strings.TrimSuffix(filepath.Base(h), "-H"))
	}
	at := func(i int, suffix string) string {
		return strings.TrimSuffix(hs[i], "-H") + suffix
	}
	// Journals: a recipient of the message, a generated address, a
	// repeated line and an unterminated last line.
	hdr, _ := os.ReadFile(hs[0])
	var rcpt string
	for _, l := range strings.Split(string(hdr), "\n") {
		if strings.HasPrefix(l, "rcpt0-") {
			rcpt, _, _ = strings.Cut(l, " ")
		}
	}
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	write(at(0, "-J"), rcpt+"\nzz@generated.example\nzz@generated.example\naa@generated.example")
	write(at(1, "-J"), "")
	write(at(2, "-J"), "only@generated.example\n")
	os.Remove(at(3, "-D"))
	// A -H file far larger than the reader's first buffer: 3000
	// recipients, 40 of them delivered.
	big, _ := os.ReadFile(hs[6])
	h, err := spool.Parse(big)
	if err != nil {
		t.Fatal(err)
	}
	var done []string
	for i := 0; i < 3000; i++ {
		r := spool.NewRecipient("many" + strconv.Itoa(i) + "@big.example")
		h.Recipients = append(h.Recipients, r)
		if i%75 == 0 {
			done = append(done, r.Address)
		}
	}
	h.NonRecipients = spool.BuildTree(append(done, "gen@big.example"))
	if big, err = h.Encode(); err != nil {
		t.Fatal(err)
	}
	write(hs[6], string(big))
	write(at(4, "-H"), "garbage\n")
	write(at(5, "-H"), "")
	write(filepath.Join(input, "notes"), "x")
	os.MkdirAll(filepath.Join(input, "A"), 0o750)
	write(filepath.Join(input, "A", "1xWrpf-0004bL-1-H"), "short id\n")
	os.Mkdir(filepath.Join(input, "zz"), 0o750)
	return filepath.Join(dir, "conf"), ids
}

// TestGeneratedQueueAgainstExim compares every listing mode with Exim's
// on the generated spool: byte for byte, except -bpr and its variants,
// whose order Exim randomizes (it adds each message at the head or the
// tail of its list at random, differently from run to run), so their
// messages are compared as sets.
func TestGeneratedQueueAgainstExim(t *testing.T) {
	needExim(t)
	conf, ids := makeGeneratedSpool(t)
	all, _ := runExim(t, conf, "-bpa")
	for _, want := range []string{"*** frozen ***", "\n        D ", "\n       +D zz@generated.example\n",
		"\n       +D generated@", "\n       +D gen@big.example\n", "        D many75@big.example\n", "*** spool format error", " (someone)", "d ", "h ", "m ", "     1x"} {
		if !strings.Contains(all, want) {
			t.Errorf("the spool lacks a case: Exim's -bpa has no %q", want)
		}
	}
	cases := [][]string{
		{"-bp"}, {"-bpa"}, {"-bpu"}, {"-bpc"}, {"-bpr"}, {"-bpra"}, {"-bpru"},
		{"-bp", ids[0], ids[2], ids[3]}, {"-bpa", ids[0]}, {"-bpu", ids[0], ids[4], ids[5]},
		{"-bpa", ids[6]}, {"-bpu", ids[6]},
	}
	for _, c := range cases {
		t.Run(strings.Join(c, " "), func(t *testing.T) {
			want, wrc := runExim(t, conf, c...)
			got, grc := runExigo(append([]string{"exim", "-C", conf}, c...)...)
			if strings.HasPrefix(c[0], "-bpr") {
				want, got = messageSet(want), messageSet(got)
			}
			if want != got || wrc != grc {
				t.Errorf("exim rc=%d, exigo rc=%d; first difference:\n%s", wrc, grc, firstDiff(want, got))
			}
		})
	}
}

// messageSet returns a listing's messages (blank-line separated
// blocks) sorted, one a line.
func messageSet(s string) string {
	blocks := strings.Split(s, "\n\n")
	for i, b := range blocks {
		blocks[i] = strings.ReplaceAll(b, "\n", "|")
	}
	sort.Strings(blocks)
	return strings.Join(blocks, "\n")
}

// firstDiff shows the first differing line of two texts.
func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return "line " + strconv.Itoa(i+1) + ":\nexim:  " + x + "\nexigo: " + y
		}
	}
	return "(none)"
}
