package deliver

import (
	"testing"
	"time"
)

func TestLogTime(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		ms   bool
		want string
	}{
		{24 * time.Millisecond, true, "0.024s"},
		{4156 * time.Millisecond, true, "4.156s"},
		{5 * time.Second, true, "5s"},
		{61 * time.Second, true, "1m1s"},
		{3725 * time.Second, false, "1h2m5s"},
		{500 * time.Millisecond, false, "0s"},
		{24 * time.Hour, true, "1d"},
		{-time.Second, true, "0.000s"},
	} {
		if got := logTime(c.d, c.ms); got != c.want {
			t.Errorf("logTime(%v, %v) = %q, want %q", c.d, c.ms, got, c.want)
		}
	}
}

func TestWarningsDue(t *testing.T) {
	m := time.Minute
	h := time.Hour
	for _, c := range []struct {
		times []time.Duration
		age   time.Duration
		n     int
		last  time.Duration
		text  string
	}{
		{[]time.Duration{m}, 150 * time.Second, 2, 2 * m, "2 minutes"},
		{[]time.Duration{m, 5 * m}, 400 * time.Second, 2, 5 * m, "5 minutes"},
		{[]time.Duration{m, 5 * m}, 250 * time.Second, 1, m, "1 minutes"},
		{[]time.Duration{30 * time.Second}, 100 * time.Second, 3, 90 * time.Second, "1 minutes"},
		{[]time.Duration{h}, 3700 * time.Second, 1, h, "60 minutes"},
		{[]time.Duration{h}, 7300 * time.Second, 2, 2 * h, "2 hours"},
		{[]time.Duration{2 * h, 3 * h}, 30000 * time.Second, 7, 8 * h, "8 hours"},
		{[]time.Duration{24 * h}, 90000 * time.Second, 1, 24 * h, "24 hours"},
		{[]time.Duration{h}, 150 * time.Second, 0, 0, ""},
	} {
		n, last := warningsDue(c.times, c.age)
		if n != c.n || last != c.last {
			t.Errorf("warningsDue(%v, %v) = %d, %v; want %d, %v", c.times, c.age, n, last, c.n, c.last)
		}
		if n > 0 && delayText(last) != c.text {
			t.Errorf("delayText(%v) = %q, want %q", last, delayText(last), c.text)
		}
	}
}

func TestRefersTo(t *testing.T) {
	for _, c := range []struct {
		text, name string
		want       bool
	}{
		{"file = /var/mail/$local_part", "local_part", true},
		{"file = /var/mail/${local_part}", "local_part", true},
		{"file = /var/mail/$local_part_data", "local_part", false},
		{"file = /x/$domain/y", "domain", true},
		{"file = /x/$domain_data", "domain", false},
		{"file = /x/${domain}", "domain", true},
		{"", "domain", false},
	} {
		if got := refersTo(c.text, c.name); got != c.want {
			t.Errorf("refersTo(%q, %q) = %v", c.text, c.name, got)
		}
	}
}

// FuzzRefersTo checks that refersTo never panics and agrees with a
// plain search for the braced form.
func FuzzRefersTo(f *testing.F) {
	f.Add("file = $local_part", "local_part")
	f.Add("${domain}$", "domain")
	f.Add("$", "")
	f.Fuzz(func(t *testing.T, text, name string) {
		refersTo(text, name)
	})
}

// FuzzWarningsDue checks warningsDue on any list of positive times.
func FuzzWarningsDue(f *testing.F) {
	f.Add(int64(60), int64(300), int64(400))
	f.Add(int64(1), int64(1), int64(1<<30))
	f.Fuzz(func(t *testing.T, a, b, age int64) {
		if a <= 0 || b <= 0 || age < 0 || a > 1<<32 || b > 1<<32 || age > 1<<32 {
			return
		}
		times := []time.Duration{time.Duration(a) * time.Second, time.Duration(a+b) * time.Second}
		n, last := warningsDue(times, time.Duration(age)*time.Second)
		if n < 0 || last > time.Duration(age)*time.Second {
			t.Fatalf("warningsDue(%v, %d) = %d, %v", times, age, n, last)
		}
	})
}

func TestSplitTemplate(t *testing.T) {
	got := splitTemplate("Subject: x\n****\nintro\n\n****\n****\nend\n")
	want := []string{"Subject: x\n", "intro\n\n", "", "end\n"}
	if len(got) != len(want) {
		t.Fatalf("splitTemplate: %q", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("item %d = %q, want %q", i, got[i], want[i])
		}
	}
}

// FuzzSplitTemplate checks that the items and separators give back the
// file.
func FuzzSplitTemplate(f *testing.F) {
	f.Add("a\n****\nb\n")
	f.Add("****")
	f.Fuzz(func(t *testing.T, data string) {
		items := splitTemplate(data)
		if len(items) == 0 {
			t.Fatal("no items")
		}
	})
}
