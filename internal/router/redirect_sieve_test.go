package router

import "testing"

func TestSieveEncodings(t *testing.T) {
	q := []struct{ in, want string }{
		{"Gone", "Gone"},
		{"Auto: hello there", "=?utf-8?Q?Auto=3A_hello_there?="},
		{"a-b/c*d", "a-b/c*d"},
		{"é", "=?utf-8?Q?=C3=A9?="},
	}
	for _, c := range q {
		if got := qEncode(c.in); got != c.want {
			t.Errorf("qEncode(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	qp := []struct{ in, want string }{
		{"Away = out", "Away =3D out"},
		{"line \r\nnext", "line=20\nnext"},
		{"caf\xc3\xa9", "caf=C3=A9"},
		{string(make([]byte, 30)), "=00=00=00=00=00=00=00=00=00=00=00=00=00=00=00=00=00=00=00=00=00=00=00=00=00=\n=00=00=00=00=00"},
	}
	for _, c := range qp {
		if got := qpEncode(c.in); got != c.want {
			t.Errorf("qpEncode(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
