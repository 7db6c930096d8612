package spool

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestTestdataRoundTrip re-encodes -H files that Exim 4.96 wrote
// (testdata/*-H, kept from real runs, including a TLS session) byte for
// byte, without needing Exim.
func TestTestdataRoundTrip(t *testing.T) {
	files, _ := filepath.Glob("testdata/*-H")
	if len(files) == 0 {
		t.Fatal("no testdata")
	}
	for _, p := range files {
		data, _ := os.ReadFile(p)
		h, err := Parse(data)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		out, err := h.Encode()
		if err != nil || !bytes.Equal(out, data) {
			t.Errorf("%s: round trip differs (%v):\n%s", p, err, out)
		}
	}
}

func TestRecipientLines(t *testing.T) {
	for _, c := range []struct {
		line string
		want Recipient
	}{
		{"a@y.example", Recipient{Address: "a@y.example", PNo: -1}},
		{"a@y.example rfc822;A@Y.example 18,20  0,-1#3", Recipient{Address: "a@y.example", ORcpt: "rfc822;A@Y.example", DSNFlags: 20, PNo: -1, Flags: 3}},
		{"b@y.example  0,2  0,-1#3", Recipient{Address: "b@y.example", DSNFlags: 2, PNo: -1, Flags: 3}},
		{"child@y err@z 5,0#1", Recipient{Address: "child@y", ErrorsTo: "err@z", PNo: 0, Flags: 1}},
		{"\"a b\"@y", Recipient{Address: "\"a b\"@y", PNo: -1}},
		{"x 9,0#1", Recipient{Address: "x 9,0#1", PNo: -1}}, // length does not fit: plain
	} {
		got := parseRecipient(c.line)
		if got != c.want {
			t.Errorf("%q: got %+v", c.line, got)
		}
		if b := got.append(nil); string(b) != c.line {
			t.Errorf("%q written back as %q", c.line, b)
		}
	}
}

func TestTree(t *testing.T) {
	addrs := []string{"d@x", "a@x", "c@x", "b@x", "e@x", "a@x"}
	tree := BuildTree(addrs)
	if err := checkTree(tree); err != nil {
		t.Fatal(err)
	}
	if got := Addresses(tree); !reflect.DeepEqual(got, []string{"a@x", "b@x", "c@x", "d@x", "e@x"}) {
		t.Errorf("in-order %v", got)
	}
	// The spec's three-node example.
	ex := []TreeNode{{"darcy@austen.fict.example", true, true}, {"alice@wonderland.fict.example", false, false}, {"editor@thesaurus.ref.example", false, false}}
	if got := Addresses(ex); !reflect.DeepEqual(got, []string{"alice@wonderland.fict.example", "darcy@austen.fict.example", "editor@thesaurus.ref.example"}) {
		t.Errorf("spec example %v", got)
	}
	if checkTree(ex[:2]) == nil || checkTree(append(ex, ex[1])) == nil {
		t.Error("incomplete or overlong tree accepted")
	}
	// A degenerate deep tree is walked without recursion.
	deep := make([]TreeNode, 100000)
	for i := range deep {
		deep[i] = TreeNode{Address: "x", Right: i < len(deep)-1}
	}
	if len(Addresses(deep)) != len(deep) {
		t.Error("deep tree")
	}
}

func TestParseRejects(t *testing.T) {
	base := "1xWrJp-0000uU-2E-H\nroot 0 0\n<s@x>\n1795768113 0\n-body_linecount 1\nXX\n1\na@b\n\n011  Subject: x\n"
	if _, err := Parse([]byte(base)); err != nil {
		t.Fatalf("base: %v", err)
	}
	for _, bad := range []string{
		"",
		"1xWrJp-0000uU-2E-D\n",
		"1xWrJp-0000uU-2E-H\nroot 0\n",
		"1xWrJp-0000uU-2E-H\nroot 0 0\ns@x\n",
		"1xWrJp-0000uU-2E-H\nroot 0 0\n<s@x>\n17x 0\n",
		"1xWrJp-0000uU-2E-H\nroot 0 0\n<s@x>\n1 0\n-aclc _x 99\nshort\nXX\n0\n\n",
		"1xWrJp-0000uU-2E-H\nroot 0 0\n<s@x>\n1 0\nYY a\nXX\n0\n\n",
		"1xWrJp-0000uU-2E-H\nroot 0 0\n<s@x>\n1 0\nXX\n2\na@b\n\n",
		"1xWrJp-0000uU-2E-H\nroot 0 0\n<s@x>\n1 0\nXX\n0\n\n099  Subject: x\n",
		"1xWrJp-0000uU-2E-H\nroot 0 0\n<s@x>\n1 0\n-body_linecount x\nXX\n0\n\n",
	} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}
