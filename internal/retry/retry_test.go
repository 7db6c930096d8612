package retry

import (
	"strings"
	"testing"
	"time"

	"github.com/exigo-mta/exigo/internal/config"
	"github.com/exigo-mta/exigo/internal/hintsdb"
)

// errorNames is the row and column set of the matrix below.
var errorNames = strings.Fields("timeout timeout_A timeout_MX timeout_connect timeout_connect_A timeout_connect_MX refused refused_A refused_MX lost_connection tls_required auth_failed data_4xx data_45x data_452 mail_4xx mail_42x mail_421 rcpt_4xx rcpt_45x rcpt_452 lookup quota quota_3d quota_5d")

// eximMatrix is, for each rule error, the -brt error arguments it matched
// in Exim 4.96 (one config "* RULE F,1h,1m" per row, "exim -brt foo.com
// ARG" per column).
var eximMatrix = map[string]string{
	"timeout":            "timeout timeout_A timeout_MX timeout_connect timeout_connect_A timeout_connect_MX",
	"timeout_A":          "timeout_A timeout_connect_A",
	"timeout_MX":         "timeout_MX timeout_connect_MX",
	"timeout_connect":    "timeout_connect timeout_connect_A timeout_connect_MX",
	"timeout_connect_A":  "timeout_connect_A",
	"timeout_connect_MX": "timeout_connect_MX",
	"refused":            "refused refused_A refused_MX",
	"refused_A":          "refused_A",
	"refused_MX":         "refused_MX",
	"lost_connection":    "lost_connection",
	"tls_required":       "tls_required",
	"auth_failed":        "auth_failed",
	"data_4xx":           "data_4xx data_45x data_452",
	"data_45x":           "data_45x data_452",
	"data_452":           "data_452",
	"mail_4xx":           "mail_4xx mail_42x mail_421",
	"mail_42x":           "mail_4xx mail_42x mail_421",
	"mail_421":           "mail_4xx mail_421",
	"rcpt_4xx":           "rcpt_4xx rcpt_45x rcpt_452",
	"rcpt_45x":           "rcpt_45x rcpt_452",
	"rcpt_452":           "rcpt_452",
	"lookup":             "lookup",
	"quota":              "quota quota_3d quota_5d",
	"quota_3d":           "quota_3d quota_5d",
	"quota_5d":           "quota_5d",
}

func TestErrorMatrix(t *testing.T) {
	for _, r := range errorNames {
		rule, err := ParseErrorType(r)
		if err != nil {
			t.Fatal(err)
		}
		want := " " + eximMatrix[r] + " "
		for _, a := range errorNames {
			f, _ := ParseErrorType(a)
			if got, w := rule.Matches(f), strings.Contains(want, " "+a+" "); got != w {
				t.Errorf("rule %s, error %s: match %v, Exim %v", r, a, got, w)
			}
		}
		if rule.Matches(ErrorType{Kind: None}) {
			t.Errorf("rule %s matched no error", r)
		}
	}
}

func TestParseErrorType(t *testing.T) {
	for _, c := range []struct{ in, want, err string }{
		{"Timeout", "timeout", ""},
		{"TIMEOUT_A", "timeout_A", ""},
		{"timeout_", "timeout", ""},
		{"timeout_connect_", "timeout_connect", ""},
		{"refused_a", "refused_A", ""},
		{"quota_36h", "quota_1d12h", ""},
		{"quota_0s", "quota", ""},
		{"bogus", "", `unknown or malformed retry error "bogus"`},
		{"rcpt_4", "", "rcpt_4 must be followed by xx, dx, or dd, where x is literal and d is any digit"},
		{"RCPT_4XX", "", "RCPT_4 must be followed by xx, dx, or dd, where x is literal and d is any digit"},
		{"rcpt_5xx", "", `unknown or malformed retry error "rcpt_5xx"`},
		{"mail_", "", `unknown or malformed retry error "mail_"`},
		{"refused_A_MX", "", `A or MX expected after "refused"`},
		{"timeout_MXX", "", `"A", "MX", or "connect" expected after "timeout"`},
		{"quota_", "", "bad time value"},
		{"quotax", "", `unknown or malformed retry error "quotax"`},
		{"auth_failed_x", "", `unknown or malformed retry error "auth_failed_x"`},
	} {
		e, err := ParseErrorType(c.in)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("%s: error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || e.String() != c.want {
			t.Errorf("%s: %v %v, want %s", c.in, e, err, c.want)
		}
	}
}

func TestTimes(t *testing.T) {
	for _, c := range []struct {
		in   string
		secs int64
		out  string
	}{{"1000000s", 1000000, "1w4d13h46m40s"}, {"3601s", 3601, "1h1s"}, {"10d", 864000, "1w3d"}, {"90m", 5400, "1h30m"}, {"1d2h3m4s", 93784, "1d2h3m4s"}} {
		s, ok := ParseTime(c.in)
		if !ok || s != c.secs || FormatTime(s) != c.out {
			t.Errorf("%s: %d %v %s", c.in, s, ok, FormatTime(s))
		}
	}
	for _, bad := range []string{"", "90", "1y", "1D", "h", "1h2"} {
		if _, ok := ParseTime(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

func mustRules(t *testing.T, text string) *Rules {
	t.Helper()
	var cfg []config.RetryRule
	for i, l := range strings.Split(strings.TrimSpace(text), "\n") {
		f := strings.Fields(l)
		r := config.RetryRule{Pattern: f[0], Error: f[1], Line: i + 1}
		for _, part := range strings.Split(strings.Join(f[2:], " "), ";") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			p := strings.Split(part, ",")
			st := config.RetryStep{Rule: p[0][0]}
			st.Cutoff, _ = ParseTime(p[1])
			st.Initial, _ = ParseTime(p[2])
			if len(p) > 3 {
				var a, b int64
				ip, fp, _ := strings.Cut(p[3], ".")
				for _, c := range ip {
					a = a*10 + int64(c-'0')
				}
				fp = (fp + "000")[:3]
				for _, c := range fp {
					b = b*10 + int64(c-'0')
				}
				st.Factor = a*1000 + b
			}
			r.Steps = append(r.Steps, st)
		}
		cfg = append(cfg, r)
	}
	rs, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// TestFind checks the spec's example of a host error: each rule is tried
// with the host name, then the mail domain.
func TestFind(t *testing.T) {
	rs := mustRules(t, `p.q.r.example    *      F,24h,30m;
a.b.c.example    *      F,4d,45m;
alice@wonderland.fict.example quota_5d  F,7d,3h
wonderland.fict.example       quota_5d
*.example        refused_A F,1h,1m`)
	any := ErrorType{Kind: Any}
	q6, _ := ParseErrorType("quota_6d")
	ra, _ := ParseErrorType("refused_A")
	for _, c := range []struct {
		subjects []string
		et       ErrorType
		line     int
	}{
		{[]string{"x.y.z.example", "a.b.c.example"}, any, 2},
		{[]string{"p.q.r.example", "a.b.c.example"}, any, 1},
		{[]string{"alice@wonderland.fict.example"}, q6, 3},
		{[]string{"wonderland.fict.example"}, q6, 4},
		{[]string{"bob@wonderland.fict.example"}, q6, 4},
		{[]string{"zz.example"}, ra, 5},
		{[]string{"zz.example"}, any, 0},
	} {
		r := rs.Find(c.subjects, c.et, nil)
		got := 0
		if r != nil {
			got = r.Line
		}
		if got != c.line {
			t.Errorf("%v %v: rule line %d, want %d", c.subjects, c.et, got, c.line)
		}
	}
}

func TestRuleString(t *testing.T) {
	rs := mustRules(t, `*.example * F,2h,15m; G,16h,1h,1.5; H,4d,6h,2; G,5d,1d,1.999; G,5d,1d,2
x rcpt_4xx F,1h,1m
y quota_5d`)
	for i, want := range []string{
		"*.example  *  F,2h,15m; G,16h,1h,1.5; H,4d,6h; G,5d,1d,1.999; G,5d,1d,2.0; ",
		"x  *  F,1h,1m; ",
		"y  quota_5d  ",
	} {
		if got := rs.List[i].String(); got != want {
			t.Errorf("got %q want %q", got, want)
		}
	}
}

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// TestUpdateSchedule follows the default rule "F,2h,15m; G,16h,1h,1.5;
// F,4d,6h" through a failing host tried whenever its retry time comes.
func TestUpdateSchedule(t *testing.T) {
	rs := mustRules(t, `* * F,2h,15m; G,16h,1h,1.5; F,4d,6h`)
	f := Failure{Subjects: []string{"host.example", "example.com"}, Error: ErrorType{Kind: Refused, Host: 'A'}, BasicErrno: 111, MoreErrno: 'A', Text: "Connection refused"}
	var rec *hintsdb.RetryRecord
	now := t0
	var gaps []time.Duration
	for i := 0; i < 40; i++ {
		r, _, giveUp := rs.Update(rec, f, now, Schedule{})
		if r == nil {
			t.Fatal("no record")
		}
		if r.FirstFailed != t0 {
			t.Fatalf("first failed moved: %v", r.FirstFailed)
		}
		gaps = append(gaps, r.NextTry.Sub(now))
		if giveUp {
			if !r.Expired || now.Sub(t0) < 96*time.Hour {
				t.Fatalf("gave up at %v", now.Sub(t0))
			}
			break
		}
		rec, now = r, r.NextTry
	}
	var b strings.Builder
	for _, g := range gaps {
		b.WriteString(FormatTime(int64(g/time.Second)) + " ")
	}
	// 8 x 15m to 2h; then 1h, 1.5h, 2.25h ... while under 16h; then 6h.
	want := "15m 15m 15m 15m 15m 15m 15m 15m 1h 1h30m 2h15m 3h22m30s 5h3m45s 7h35m37s 6h 6h 6h 6h 6h 6h 6h 6h 6h 6h 6h 6h 6h 6h "
	if got := b.String(); got != want {
		t.Errorf("schedule\n got %s\nwant %s", got, want)
	}
}

// TestUpdateMeasured repeats what Exim 4.96 did when a record edited with
// exim_fixdb met a new failure (rule F,2h,15m; G,16h,1h,1.5; F,4d,6h).
func TestUpdateMeasured(t *testing.T) {
	rs := mustRules(t, `* * F,2h,15m; G,16h,1h,1.5; F,4d,6h`)
	f := Failure{Subjects: []string{"127.0.0.1"}, Error: ErrorType{Kind: Refused, Host: 'A'}}
	now := time.Date(2026, 11, 27, 9, 6, 0, 0, time.UTC)
	at := func(d, h, m int) time.Time { return time.Date(2026, 11, d, h, m, 0, 0, time.UTC) }
	for _, c := range []struct {
		first, last, next time.Time
		want              time.Duration
		expired           bool
	}{
		{at(27, 6, 0), at(27, 7, 0), at(27, 7, 15), time.Hour, false},
		{at(27, 6, 0), at(27, 7, 0), at(27, 8, 30), 2*time.Hour + 15*time.Minute, false},
		{at(22, 6, 0), at(27, 7, 0), at(27, 8, 30), 6 * time.Hour, true},
	} {
		old := &hintsdb.RetryRecord{TimeStamp: now, FirstFailed: c.first, LastTry: c.last, NextTry: c.next}
		r, _, giveUp := rs.Update(old, f, now, Schedule{})
		if r.NextTry.Sub(now) != c.want || r.Expired != c.expired || giveUp != c.expired {
			t.Errorf("%v: next +%v expired %v giveUp %v; want +%v %v", c, r.NextTry.Sub(now), r.Expired, giveUp, c.want, c.expired)
		}
	}
}

func TestUpdateEdges(t *testing.T) {
	none := mustRules(t, `other.example * F,1h,1m
q.example quota`)
	f := Failure{Subjects: []string{"x.example"}, Error: ErrorType{Kind: Timeout}}
	if r, _, giveUp := none.Update(nil, f, t0, Schedule{}); r != nil || !giveUp {
		t.Errorf("no rule: %v %v", r, giveUp)
	}
	fq := Failure{Subjects: []string{"q.example"}, Error: ErrorType{Kind: Quota}}
	if r, rule, giveUp := none.Update(nil, fq, t0, Schedule{}); r != nil || !giveUp || rule == nil {
		t.Errorf("rule without parameters: %v %v", r, giveUp)
	}
	// retry_interval_max caps intervals.
	rs := mustRules(t, `* * F,10d,2d`)
	r, _, _ := rs.Update(nil, f, t0, Schedule{IntervalMax: 3 * time.Hour})
	if r.NextTry.Sub(t0) != 3*time.Hour {
		t.Errorf("interval max: %v", r.NextTry.Sub(t0))
	}
	r, _, _ = rs.Update(nil, f, t0, Schedule{})
	if r.NextTry.Sub(t0) != 24*time.Hour {
		t.Errorf("default interval max: %v", r.NextTry.Sub(t0))
	}
	// Stale data is ignored: the failure counts as the first.
	old := &hintsdb.RetryRecord{TimeStamp: t0.Add(-8 * 24 * time.Hour), FirstFailed: t0.Add(-9 * 24 * time.Hour)}
	r, _, _ = rs.Update(old, f, t0, Schedule{})
	if !r.FirstFailed.Equal(t0) {
		t.Errorf("stale record used: %v", r.FirstFailed)
	}
	// H: between the initial interval and the previous one times the factor.
	h := mustRules(t, `* * H,10d,1h,2`)
	prev := &hintsdb.RetryRecord{TimeStamp: t0, FirstFailed: t0.Add(-5 * time.Hour), LastTry: t0.Add(-3 * time.Hour), NextTry: t0}
	for _, pick := range []int64{0, 1 << 40} {
		p := pick
		r, _, _ := h.Update(prev, f, t0, Schedule{Rand: func(n int64) int64 {
			if p >= n {
				return n - 1
			}
			return p
		}})
		got := r.NextTry.Sub(t0)
		want := time.Hour
		if pick > 0 {
			want = 6 * time.Hour
		}
		if got != want {
			t.Errorf("H pick %d: %v want %v", pick, got, want)
		}
	}
	// A message-related error uses the message's arrival when earlier.
	m := mustRules(t, `* * F,1h,5m; F,1d,1h`)
	fm := Failure{Subjects: []string{"x"}, Error: ErrorType{Kind: Mail4xx, Code: "452"}, Arrival: t0.Add(-2 * time.Hour), MessageRelated: true}
	r, _, _ = m.Update(nil, fm, t0, Schedule{})
	if r.NextTry.Sub(t0) != time.Hour {
		t.Errorf("message arrival: %v", r.NextTry.Sub(t0))
	}
	// On the queue longer than the final cutoff: give up, record kept.
	fm.Arrival = t0.Add(-2 * 24 * time.Hour)
	keep := &hintsdb.RetryRecord{TimeStamp: t0, FirstFailed: t0.Add(-time.Hour), LastTry: t0.Add(-time.Minute), NextTry: t0.Add(time.Hour)}
	r, _, giveUp := m.Update(keep, fm, t0, Schedule{})
	if r != keep || !giveUp {
		t.Errorf("old message: %v %v", r, giveUp)
	}
}

func TestCheck(t *testing.T) {
	rec := &hintsdb.RetryRecord{TimeStamp: t0, FirstFailed: t0.Add(-time.Hour), LastTry: t0.Add(-10 * time.Minute), NextTry: t0.Add(5 * time.Minute)}
	exp := *rec
	exp.Expired = true
	for _, c := range []struct {
		rec  *hintsdb.RetryRecord
		o    CheckOptions
		want Decision
	}{
		{nil, CheckOptions{}, Try},
		{rec, CheckOptions{}, Wait},
		{&exp, CheckOptions{DelayAfterCutoff: true}, Fail},
		{&exp, CheckOptions{Local: true}, Try},
		{&exp, CheckOptions{Arrival: t0.Add(-time.Minute)}, Try},
		{&exp, CheckOptions{Arrival: t0.Add(-time.Hour)}, Fail},
	} {
		if got := Check(c.rec, t0, c.o); got != c.want {
			t.Errorf("%+v: %v want %v", c.o, got, c.want)
		}
	}
	if Check(rec, t0.Add(6*time.Minute), CheckOptions{}) != Try {
		t.Error("retry time reached but not tried")
	}
}
