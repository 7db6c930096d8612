package loadavg

import (
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
		bad  bool
	}{
		{in: "0.00 0.01 0.05 1/120 4711\n", want: 0},
		{in: "1.33 0.98 0.70 2/120 4711\n", want: 1330},
		{in: "2.01 1.00 1.00 1/1 1\n", want: 2009}, // as Exim shows it
		{in: "0.29 1 1 1/1 1", want: 290},
		{in: "12.50\n", want: 12500},
		{in: "", bad: true},
		{in: "x 1 1", bad: true},
		{in: "-1.0 1 1", bad: true},
		{in: "NaN 1 1", bad: true},
		{in: "1e300 1 1", bad: true},
	} {
		got, err := Parse(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("Parse(%q) = %d, %v; want %d, bad=%v", tc.in, got, err, tc.want, tc.bad)
		}
	}
}

func TestFormat(t *testing.T) {
	for n, want := range map[int]string{0: "0.00", 1330: "1.33", 2009: "2.01", 12500: "12.50", 9999000: "9999.00"} {
		if got := Format(n); got != want {
			t.Errorf("Format(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestAbove(t *testing.T) {
	fixed := func(n int) Reader { return func() (int, error) { return n, nil } }
	for _, tc := range []struct {
		read  Reader
		limit int
		want  bool
	}{
		{fixed(1000), 999, true},
		{fixed(1000), 1000, false}, // "higher than"
		{fixed(0), 0, false},
		{func() (int, error) { return 0, errors.New("no /proc") }, -1, false},
	} {
		if got, _ := Above(tc.read, tc.limit); got != tc.want {
			t.Errorf("Above(limit %d) = %v, want %v", tc.limit, got, tc.want)
		}
	}
}

func TestRead(t *testing.T) {
	if _, err := Read(); err != nil {
		t.Skipf("no load average here: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"0.00 0.01 0.05 1/120 4711\n", "2.01", "", " 1.5", "1e5 x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Parse(s)
		if err == nil && (n < 0 || n > 1e9) {
			t.Fatalf("Parse(%q) = %d", s, n)
		}
	})
}
