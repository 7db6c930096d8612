package cli

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/exigo-mta/exigo/internal/oracletest"
)

// brtConfigs are retry sections for the -brt differential test; the
// spec's examples (chapter "Retry configuration") come first.
var brtConfigs = []string{
	`alice@wonderland.fict.example quota_5d  F,7d,3h
wonderland.fict.example       quota_5d
wonderland.fict.example       *         F,1h,15m; G,2d,1h,2;
lookingglass.fict.example     *         F,24h,30m;
*                 refused_A   F,2h,20m;
*   rcpt_4xx   senders=:   F,1h,30m
a.domain  rcpt_452  senders="xb.dom : yc.dom"  G,8h,10m,1.5
*                 *           F,2h,15m; G,16h,1h,1.5; F,5d,8h
`,
	`p.q.r.example    *      F,24h,30m;
a.b.c.example    *      F,4d,45m;
`,
	`*.comp.mus.example * F,2h,15m; F,4d,30m;
*@haydn.comp.mus.example quota_3d  F,1h,15m
\N^\*@foo\.com$\N * F,5d,1h
\N^[^@]+@xyz\d+\.abc\.example$\N  *  G,1h,10m,2
!bar.com timeout_connect H,5d,1h,3.14159; F,10d,100s; F,7w,61m
*ice@ex.org refused_MX F,1000000s,3601s
x.org timeout_A G,5d,1d,1.999
x.org timeout_connect_MX G,5d,1d,1
x.org mail_42x F,1h,1m
x.org data_45x F,2h,2m
x.org rcpt_4xx F,3h,3m
x.org lost_connection F,4h,4m
x.org tls_required f,5h,5m
x.org auth_failed F,6h,6m
x.org lookup F,7h,7m
x.org quota_36h F,8h,8m
`,
}

var brtCases = []struct {
	conf int
	args []string
}{
	{0, []string{"alice@wonderland.fict.example"}},
	{0, []string{"wonderland.fict.example"}},
	{0, []string{"x.lookingglass.fict.example"}},
	{0, []string{"lookingglass.fict.example"}},
	{0, []string{"foo.com", "refused_A"}},
	{0, []string{"foo.com", "refused"}},
	{0, []string{"foo.com", "refused_MX"}},
	{0, []string{"a.domain", "rcpt_452"}},
	{0, []string{"-f", "", "-brt", "a.domain", "rcpt_452"}},
	{0, []string{"-f", "foo@xb.dom", "-brt", "a.domain", "rcpt_452"}},
	{0, []string{"-f", "foo@xb.dom", "-brt", "x@a.domain", "rcpt_4xx"}},
	{0, []string{"-f", "foo@yc.dom", "-brt", "a.domain", "rcpt_45x"}},
	{0, []string{"alice@wonderland.fict.example", "quota_5d"}},
	{0, []string{"alice@wonderland.fict.example", "quota_6d"}},
	{0, []string{"alice@wonderland.fict.example", "quota_4d"}},
	{0, []string{"alice@wonderland.fict.example", "quota"}},
	{0, []string{"Alice@Wonderland.fict.example", "quota_5d"}},
	{0, []string{"bob@wonderland.fict.example", "quota_5d"}},
	{0, []string{"foo.com", "bogus"}},
	{0, []string{"foo.com", "rcpt_4"}},
	{0, []string{"foo.com", "rcpt_5xx"}},
	{0, []string{"foo.com", "RCPT_4XX"}},
	{0, []string{"foo.com", "refused_A_MX"}},
	{0, []string{"foo.com", "timeout_MXX"}},
	{0, []string{"foo.com", "quota_x"}},
	{0, []string{"foo.com", "lookingglass.fict.example", "refused_A"}},
	{0, []string{"foo.com", "x.y", "z.w"}},
	{0, []string{"foo.com", "a", "b", "c"}},
	{0, []string{"alice"}},
	{0, []string{}},
	{1, []string{"x.y.z.example", "a.b.c.example"}},
	{1, []string{"p.q.r.example", "a.b.c.example"}},
	{1, []string{"a.b.c.example"}},
	{1, []string{"other.example"}},
	{2, []string{"bach.comp.mus.example"}},
	{2, []string{"haydn.comp.mus.example", "quota_3d"}},
	{2, []string{"u@haydn.comp.mus.example", "quota_4d"}},
	{2, []string{"haydn.comp.mus.example", "quota_2d"}},
	{2, []string{"foo.com"}},
	{2, []string{"a@foo.com"}},
	{2, []string{"u@xyz12.abc.example"}},
	{2, []string{"xyz12.abc.example"}},
	{2, []string{"zzz.org", "timeout_connect_A"}},
	{2, []string{"bar.com", "timeout_connect_A"}},
	{2, []string{"zzz.org", "timeout_A"}},
	{2, []string{"alice@ex.org", "refused_MX"}},
	{2, []string{"ex.org", "refused_MX"}},
	{2, []string{"x.org", "timeout_connect_A"}},
	{2, []string{"x.org", "timeout_connect_MX"}},
	{2, []string{"x.org", "mail_4xx"}},
	{2, []string{"x.org", "mail_421"}},
	{2, []string{"x.org", "mail_431"}},
	{2, []string{"x.org", "data_4xx"}},
	{2, []string{"x.org", "data_452"}},
	{2, []string{"x.org", "rcpt_499"}},
	{2, []string{"x.org", "lost_connection"}},
	{2, []string{"x.org", "TLS_REQUIRED"}},
	{2, []string{"x.org", "auth_failed"}},
	{2, []string{"x.org", "lookup"}},
	{2, []string{"x.org", "quota_2d"}},
	{2, []string{"x.org", "quota_1d"}},
}

var logDate = regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d `)

// TestRetryTestOracle compares -brt with Exim 4.96's on the spec's
// examples and on every error type.
func TestRetryTestOracle(t *testing.T) {
	exim := oracletest.Exim(t)
	var confs []string
	for _, c := range brtConfigs {
		confs = append(confs, oracletest.WriteConfig(t, "begin retry\n"+c))
	}
	for _, c := range brtCases {
		args := append([]string{"-C", confs[c.conf]}, c.args...)
		if len(c.args) == 0 || c.args[0] != "-f" {
			args = append([]string{"-C", confs[c.conf], "-brt"}, c.args...)
		}
		name := strings.Join(c.args, " ")
		t.Run(name, func(t *testing.T) {
			want := oracletest.Run(t, exim, "", args...)
			var out, errb bytes.Buffer
			code := Main(append([]string{"exim"}, args...), strings.NewReader(""), &out, &errb)
			if got := out.String(); got != want.Stdout {
				t.Errorf("stdout:\n got %q\nwant %q", got, want.Stdout)
			}
			if g, w := logDate.ReplaceAllString(errb.String(), ""), logDate.ReplaceAllString(want.Stderr, ""); g != w {
				t.Errorf("stderr:\n got %q\nwant %q", g, w)
			}
			if code != want.Code {
				t.Errorf("exit code %d, want %d", code, want.Code)
			}
		})
	}
}
